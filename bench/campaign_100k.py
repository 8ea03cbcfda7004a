"""The largest campaign end to end on the local stack as `make run` builds it (issue 15, 1 2 4).

A 100,000-row CSV of valid US numbers (New York area codes; the window is closed now, so nothing
sends) goes through the pre-signed upload. Measured:
- upload -> every row stored, and launch -> every recipient SCHEDULED or QUEUED: the truth is
  read from the messages table's stream by this benchmark (its own reader, so it needs no scan
  that would compete with the stack);
- at each poll of `GET /campaigns/{id}`, how far the campaign's counts trail that truth, in
  rows and in seconds of work (how long ago the truth was where the counts are now);
- peak RSS of the whole stack: this process (API, pumps, consumers) plus moto's process;
- p95 of `GET /campaigns/{id}` and `GET /analytics` while the list is being stored.
Then 2,000 recipients at 100/s on a short-code number, window open: achieved mean rate, most
sends in any 1 s window, first send after launch (the sandbox's receive instants).

`python -m bench campaign_100k`; BENCH_100K_ROWS=20000 for a smaller run.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench._report import REPORT, write_section

ROWS = int(os.environ.get("BENCH_100K_ROWS", "100000"))
SEND_ROWS = int(os.environ.get("BENCH_SEND_ROWS", "2000"))
SEND_RATE = 100.0
POLL_SECONDS = 1.0
PROGRESS_SECONDS = 10.0
TIMEOUT_SECONDS = float(os.environ.get("BENCH_100K_TIMEOUT", "1800"))
NY_AREAS = ("212", "646", "718", "917", "347", "929")
TARGETS = {"stored": 90.0, "scheduled": 90.0, "lag": 5.0, "rss_mb": 2048.0, "p95_ms": 150.0,
           "first_send": 3.0}


def numbers(count: int, offset: int = 0) -> list[str]:
    """`count` distinct valid New York numbers (exchange 201-999, no N11 or 555)."""
    from chalicelib.domain import phones

    out: list[str] = []
    n = offset
    while len(out) < count:
        area = NY_AREAS[n % len(NY_AREAS)]
        exchange = 201 + (n // len(NY_AREAS)) // 10000 % 799
        line = (n // len(NY_AREAS)) % 10000
        n += 1
        if exchange % 100 == 11 or exchange == 555:
            continue
        candidate = f"+1{area}{exchange}{line:04d}"
        if isinstance(phones.normalize(candidate), phones.Phone):
            out.append(candidate)
    return out


def closed_window(now: float) -> tuple[str, str]:
    """A two-hour window (New York time) that opens no sooner than three hours from now."""
    hour = datetime.fromtimestamp(now, ZoneInfo("America/New_York")).hour
    start = (hour + 4) % 24
    start = min(start, 21)
    if start <= hour < start + 3:
        start = (hour + 4) % 21
    return f"{start:02d}:00", f"{start + 2:02d}:00"


class StreamTruth(threading.Thread):
    """Every message of the campaigns watched, from the messages stream: status per phone."""

    def __init__(self, moto_url: str, stream_arn: str) -> None:
        super().__init__(name="bench-truth", daemon=True)
        import boto3

        self.streams = boto3.session.Session(region_name="us-east-1").client(
            "dynamodbstreams", endpoint_url=moto_url)
        self.arn = stream_arn
        self.status: dict[str, dict[str, str]] = {}
        self.history: dict[str, list[tuple[float, Counter[str]]]] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def counts(self, campaign_id: str) -> Counter[str]:
        with self.lock:
            return Counter(self.status.get(campaign_id, {}).values())

    def run(self) -> None:
        shard = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"][
            "Shards"][0]["ShardId"]
        iterator = self.streams.get_shard_iterator(
            StreamArn=self.arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while not self.stopping.is_set():
            page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            iterator = page["NextShardIterator"]
            with self.lock:
                for record in page["Records"]:
                    ddb = record["dynamodb"]
                    cid = ddb["Keys"]["campaign_id"]["S"]
                    phone = ddb["Keys"]["phone"]["S"]
                    image = ddb.get("NewImage")
                    statuses = self.status.setdefault(cid, {})
                    if image is None:
                        statuses.pop(phone, None)
                    else:
                        statuses[phone] = image["status"]["S"]
            if not page["Records"]:
                time.sleep(0.1)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


class RssSampler(threading.Thread):
    """Peak of the summed RSS of this process and all its descendants (moto's process)."""

    def __init__(self) -> None:
        super().__init__(name="bench-rss", daemon=True)
        self.peak_kb = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(0.5):
            pids, todo = [], [os.getpid()]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += _children(pid)
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in pids))


class LatencyProbe(threading.Thread):
    """GET /campaigns/{id} and GET /analytics, one after the other, as a page would poll."""

    def __init__(self, http: Any, campaign_id: str) -> None:
        super().__init__(name="bench-latency", daemon=True)
        self.http, self.cid = http, campaign_id
        self.times: dict[str, list[float]] = {"campaign": [], "analytics": []}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for name, path in (("campaign", f"/campaigns/{self.cid}"),
                               ("analytics", "/analytics")):
                began = time.perf_counter()
                self.http("GET", path)
                self.times[name].append(time.perf_counter() - began)
            self.stopping.wait(0.25)


class SafeHttp:
    """The e2e client, but a request that fails or times out answers (0, {}) (and counts as
    taking as long as it did): the old stack did not answer within 30 s during the fan-out."""

    def __init__(self, http: Any) -> None:
        self.http = http
        self.failures = 0

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            status, answer = self.http(method, path, body)
        except OSError:
            self.failures += 1
            return 0, {}
        return status, answer if isinstance(answer, dict) else {}


def p95(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


class Lag:
    """How far the campaign's counts trail the truth at each poll: rows, and seconds of work
    (now minus the instant the truth first reached what the counts say)."""

    def __init__(self) -> None:
        self.truth: list[tuple[float, int]] = []
        self.rows: list[int] = []
        self.seconds: list[float] = []
        self.said_at = 0.0

    def poll(self, now: float, truth: int, counted: int) -> None:
        self.truth.append((now, truth))
        self.rows.append(max(0, truth - counted))
        reached = now if counted >= truth else next(
            (t for t, value in self.truth if value > counted), now)
        self.seconds.append(now - reached)
        if now - self.said_at >= PROGRESS_SECONDS:  # long work shows its progress
            self.said_at = now
            _say(f"{truth:,} rows done; the campaign's counts show {counted:,} "
                 f"({now - reached:.0f} s behind)")


def _say(text: str) -> None:
    print(f"[campaign_100k] {text}", file=sys.stderr, flush=True)


def run_100k(stack: Any, http: Any, demo: dict[str, Any], truth: StreamTruth) -> dict[str, Any]:
    from tests.uploads import post_file

    now = time.time()
    start, end = closed_window(now)
    status, created = http("POST", "/campaigns", {
        "name": "Bench 100k", "channel": "sms", "from_number": demo["numbers"]["sms"][0],
        "skill": "sales", "text": "Bench: a closed window, nothing sends",
        "schedule": {"send_rate": SEND_RATE, "window": {"start": start, "end": end}}})
    assert status == 201, created
    cid = created["id"]
    data = ("phone\n" + "\n".join(numbers(ROWS)) + "\n").encode()
    status, upload = http("POST", f"/campaigns/{cid}/recipients/upload")
    assert status == 201, upload
    probe = LatencyProbe(http, cid)
    lag = Lag()
    began = time.time()
    assert post_file(upload, data, timeout=120) == 204
    probe.start()

    def stored() -> bool:
        _, view = http("GET", f"/campaigns/{cid}")
        rows = truth.counts(cid)["PENDING"]
        lag.poll(time.time(), rows, int((view.get("counts") or {}).get("PENDING", 0)))
        upload_state = view.get("upload") or {}
        assert upload_state.get("status") != "FAILED", upload_state
        return rows >= ROWS and upload_state.get("status") == "DONE"

    assert stack.wait_for(stored, TIMEOUT_SECONDS, every=POLL_SECONDS), \
        f"not stored: {truth.counts(cid)}"
    stored_seconds = time.time() - began
    _say(f"stored {ROWS} in {stored_seconds:.1f} s; lag so far {max(lag.seconds, default=0):.1f} s")
    probe.stopping.set()
    probe.join()

    def counted() -> bool:
        _, view = http("GET", f"/campaigns/{cid}")
        value = int((view.get("counts") or {}).get("PENDING", 0))
        lag.poll(time.time(), truth.counts(cid)["PENDING"], value)
        return value >= ROWS

    assert stack.wait_for(counted, TIMEOUT_SECONDS, every=POLL_SECONDS), \
        "counts never caught up"
    store_lag = lag

    lag = Lag()
    began = time.time()
    status, launched = http("POST", f"/campaigns/{cid}/launch", {"consent": True})
    assert status == 200, launched

    def waiting() -> bool:
        _, view = http("GET", f"/campaigns/{cid}")
        counts = truth.counts(cid)
        rows = counts["SCHEDULED"] + counts["QUEUED"]
        view_counts = view.get("counts") or {}
        lag.poll(time.time(), rows, int(view_counts.get("SCHEDULED", 0))
                 + int(view_counts.get("QUEUED", 0)))
        return rows >= ROWS

    assert stack.wait_for(waiting, TIMEOUT_SECONDS, every=POLL_SECONDS), \
        f"not scheduled: {truth.counts(cid)}"
    scheduled_seconds = time.time() - began
    _say(f"scheduled in {scheduled_seconds:.1f} s")
    return {
        "stored_s": stored_seconds, "scheduled_s": scheduled_seconds,
        "lag_rows": max(store_lag.rows + lag.rows), "lag_s": max(store_lag.seconds + lag.seconds),
        "campaign_p95_ms": 1000 * p95(probe.times["campaign"]),
        "analytics_p95_ms": 1000 * p95(probe.times["analytics"]),
        "probes": len(probe.times["campaign"]) + len(probe.times["analytics"]),
    }


def run_send(stack: Any, http: Any, demo: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.store.models import SenderNumberModel
    from local.sandbox import SandboxServer
    from tests.uploads import post_file

    number = "+12125550199"
    SenderNumberModel(number, brand_id=demo["brand_id"], channel="sms", kind="short_code",
                      rate=SEND_RATE).save()
    status, created = http("POST", "/campaigns", {
        "name": "Bench rate", "channel": "sms", "from_number": number, "skill": "sales",
        "text": "Bench rate", "schedule": {"send_rate": SEND_RATE,
                                            "window": {"start": "00:00", "end": "24:00"}}})
    assert status == 201, created
    cid = created["id"]
    phones = numbers(SEND_ROWS, offset=5_000_000)
    status, upload = http("POST", f"/campaigns/{cid}/recipients/upload")
    assert status == 201, upload
    assert post_file(upload, ("phone\n" + "\n".join(phones) + "\n").encode()) == 204

    def parsed() -> bool:
        state = http("GET", f"/campaigns/{cid}")[1].get("upload") or {}
        assert state.get("status") != "FAILED", state
        return state.get("status") == "DONE"

    assert stack.wait_for(parsed, 300, every=POLL_SECONDS)
    sandbox: SandboxServer = stack.sandbox
    launched_at = time.time()
    status, launched = http("POST", f"/campaigns/{cid}/launch", {"consent": True})
    assert status == 200, launched
    wanted = set(phones)

    def received() -> list[float]:
        return sorted(m.received_at for m in list(sandbox.sandbox.messages)
                      if m.to in wanted)

    stack.wait_for(lambda: len(received()) >= SEND_ROWS, 600, every=2.0)
    times = received()
    if not times:
        return {"sent": 0}
    most, j = 0, 0
    for i, t in enumerate(times):  # sliding 1 s window
        while times[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    span = times[-1] - times[0]
    return {"sent": len(times), "rate": (len(times) - 1) / span if span else math.nan,
            "max_1s": most, "first_s": times[0] - launched_at}


def previous_figures(section: str = "campaign_100k") -> dict[str, float]:
    """The figures of the section's last run in BENCHMARKS.md (for the ratio column)."""
    if not REPORT.exists():
        return {}
    match = re.search(rf"<!-- bench:{section} -->(.*?)<!-- /bench:{section} -->",
                      REPORT.read_text(), re.S)
    if not match:
        return {}
    return {key: float(value) for key, value in re.findall(
        r"<!-- (\w+)=([-0-9.e+nan]+) -->", match.group(1)) if value != "nan"}


def main() -> None:
    from local.local_stack import LocalStack
    from local.seed import seed_demo
    from tests.e2e.conftest import Http

    rss = RssSampler()
    rss.start()
    stack = LocalStack(tick_seconds=2.0).start()  # `make run`'s stack (local/run.py)
    try:
        demo = seed_demo()
        http = SafeHttp(Http(stack.api_url, demo["keys"]["campaign_manager"]))
        truth = StreamTruth(stack.moto_url, stack.env["MESSAGES_STREAM_ARN"])
        truth.start()
        big = run_100k(stack, http, demo, truth)
        send = run_send(stack, http, demo) if SEND_ROWS else {}
        truth.stopping.set()
    finally:
        stack.stop()
        rss.stopping.set()
        rss.join()
    figures = {**big, **{f"send_{k}": v for k, v in send.items()},
               "rss_mb": rss.peak_kb / 1024, "failures": http.failures}
    report(figures)


def report(f: dict[str, Any]) -> None:
    before = previous_figures()

    def ratio(key: str) -> str:
        old = before.get(key)
        return f"{f[key] / old:.2f}x" if old and key in f and not math.isnan(f[key]) else "-"

    rows = [
        ("stored_s", "Upload -> every row stored", f"{f['stored_s']:.1f} s", "<= 90 s"),
        ("scheduled_s", "Launch -> every recipient SCHEDULED or QUEUED",
         f"{f['scheduled_s']:.1f} s", "<= 90 s"),
        ("lag_s", "Counts behind the truth, worst poll (seconds of work)",
         f"{f['lag_s']:.1f} s", "<= 5 s"),
        ("lag_rows", "... in rows", f"{f['lag_rows']:,}", ""),
        ("rss_mb", "Peak RSS, whole stack (all processes)", f"{f['rss_mb']:.0f} MB",
         "<= 2048 MB"),
        ("campaign_p95_ms", "`GET /campaigns/{id}` p95 while storing",
         f"{f['campaign_p95_ms']:.0f} ms", "<= 150 ms"),
        ("analytics_p95_ms", "`GET /analytics` p95 while storing",
         f"{f['analytics_p95_ms']:.0f} ms", "<= 150 ms"),
        ("send_rate", f"{SEND_ROWS:,} at {SEND_RATE:g}/s (short code): mean rate",
         f"{f.get('send_rate', math.nan):.1f}/s", "95-105/s"),
        ("send_max_1s", "... most sends in any 1 s window", f"{f.get('send_max_1s', 0)}",
         f"<= {math.ceil(SEND_RATE)}"),
        ("send_first_s", "... first send after launch", f"{f.get('send_first_s', math.nan):.1f} s",
         "<= 3 s"),
    ]
    lines = ["| Figure | Value | Target | Ratio to previous run |", "|---|---|---|---|"]
    lines += [f"| {label} | {value} | {target} | {ratio(key)} |"
              for key, label, value, target in rows]
    marks = "\n".join(f"<!-- {key}={float(f[key]):.4g} -->" for key, *_ in rows if key in f)
    write_section(
        "campaign_100k", f"Local stack: {ROWS:,}-recipient campaign end to end",
        "\n".join(lines) + f"\n\n{ROWS:,}-row CSV of valid New York numbers through the "
        "pre-signed upload on the local stack as `make run` builds it (moto in its own process); "
        "the window is closed, so nothing sends. The truth (rows stored, recipients scheduled) "
        "is read from the messages stream by the benchmark; counts are the campaign's as "
        f"`GET /campaigns/{{id}}` shows them, polled every {POLL_SECONDS:g} s. "
        f"{f['probes']} API probes while storing; {f['failures']} requests failed or timed out "
        f"(30 s). Sending: {f.get('send_sent', 0):,} of {SEND_ROWS:,} received by the sandbox "
        "gateway.\n\n" + marks)


if __name__ == "__main__":
    main()
