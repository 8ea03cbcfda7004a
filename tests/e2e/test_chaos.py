"""Chaos on the local stack: 400 recipients in many time zones at 20/s while the gateway fails
(5xx, 502 after accepting, 429, timeouts after accepting), SQS delivers some messages twice,
refuses sends at the launch, release and reconcile steps, a consumer dies between the send
and the record, and consumers send STOP while the opt-outs table throttles. docs/design.md
invariants 1-5 must still hold (docs/guarantees.md)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.request import Request, urlopen

import pytest

from chalicelib.domain import phones, recipients, scheduler
from chalicelib.store import brands, messages
from chalicelib.store.models import SenderNumberModel
from local.local_stack import LocalStack
from local.sandbox import Faults
from local.seed import seed_demo
from tests import awscalls
from tests.e2e.conftest import Http, sandbox_messages, stream_failures
from tests.send_faults import after_send
from tests.uploads import post_file

RATE = 20.0
# Enough recipients for every fault to fire many times, few enough that a loaded 2-core CI machine
# settles them within the wait (1,000 did not, with the other test worker busy).
TOTAL = 400
# (zone, number prefix with room for three more digits)
NUMBERS = [
    ("America/New_York", "+1212555"), ("America/Chicago", "+1312555"),
    ("America/Denver", "+1303555"), ("America/Phoenix", "+1602555"),
    ("America/Los_Angeles", "+1415555"), ("Pacific/Honolulu", "+1808555"),
    ("Europe/London", "+442079460"), ("Asia/Calcutta", "+919810000"),
    ("Australia/Sydney", "+61298760"), ("Asia/Tokyo", "+81312340"),
    ("Europe/Berlin", "+493012340"), ("America/Sao_Paulo", "+551123450"),
    ("Africa/Johannesburg", "+27211230"), ("Asia/Singapore", "+6561230"),
]
MARGIN = 900.0  # no zone may open or close within 15 minutes of the start


def _pick_window(now: float) -> tuple[scheduler.Window, list[str], list[str]]:
    """A five-hour window open now in a few of the zones and closed (for a while) in others."""
    best: tuple[int, scheduler.Window, list[str], list[str]] | None = None
    for start in range(0, 20):
        window = scheduler.Window.parse(f"{start:02d}:00", f"{start + 5:02d}:00")
        open_now, closed = [], []
        for zone, _ in NUMBERS:
            if scheduler.seconds_until_close([zone], window, now) >= MARGIN:
                open_now.append(zone)
            elif not scheduler.in_window([zone], window, now) and (
                    (scheduler.next_open([zone], window, now) or math.inf) > now + MARGIN):
                closed.append(zone)
        if 2 <= len(open_now) <= 5 and len(open_now) + len(closed) >= 6:
            score = len(open_now) + len(closed)
            if best is None or score > best[0]:
                best = (score, window, open_now, closed)
    assert best is not None, "no window fits the zones at this hour"
    return best[1], best[2], best[3]


def _numbers(zones: list[str]) -> str:
    """TOTAL valid numbers, taken round-robin from the zones."""
    prefixes = dict(NUMBERS)
    nanp = {"+1212555": ["212", "646", "718", "917", "347"], "+1312555": ["312", "773", "872"],
            "+1303555": ["303", "720"], "+1602555": ["602", "480", "623"],
            "+1415555": ["415", "213", "310", "818"], "+1808555": ["808"]}
    pools: list[list[str]] = []
    for zone in zones:
        prefix = prefixes[zone]
        if prefix in nanp:  # 555-01xx only: 100 fictional numbers per area code
            candidates = [f"+1{a}5550{n}" for a in nanp[prefix] for n in range(100, 200)]
        else:
            candidates = [f"{prefix}{n:03d}" for n in range(1000)]
        pools.append([c for c in candidates if isinstance(phones.normalize(c), phones.Phone)])
    lines: list[str] = []
    while len(lines) < TOTAL and any(pools):
        for pool in pools:
            if pool and len(lines) < TOTAL:
                lines.append(pool.pop(0))
    return "\n".join(lines)


def _stop(stack: LocalStack, phone: str, number: str) -> int:
    """The consumer `phone` answers STOP (the sandbox posts the signed inbound webhook); the
    webhook's status."""
    body = json.dumps({"from": phone, "to": number, "body": "STOP"}).encode()
    request = Request(stack.sandbox.url + "/sandbox/reply", data=body, method="POST",
                      headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=30) as response:
        return int(json.loads(response.read())["webhook_status"])


def _settle(stack: LocalStack, cid: str, zones_of: dict[str, list[str]],
            closed_zones: list[str]) -> tuple[list[Any] | None, list[Any]]:
    """(the messages once every one is final or waits for a closed window, or None; the last
    read)."""
    def settled() -> list[Any] | None:
        items = list(messages.iter_campaign(cid, consistent=True))
        done = [m for m in items if m.status in messages.TERMINAL
                or (m.status == "SCHEDULED" and zones_of[m.phone][0] in closed_zones)]
        return items if len(done) == TOTAL else None

    # Read every message, but not often: a full read of the messages costs moto more than a
    # second of work, which the campaign itself needs.
    final = stack.wait_for(settled, timeout=300, every=8.0)
    return final, final or list(messages.iter_campaign(cid, consistent=True))


@pytest.fixture
def chaos_stack() -> Iterator[LocalStack]:
    faults = Faults(server_error=0.10, bad_gateway_after_accept=0.10, rate_limited=0.05,
                    timeout_after_accept=0.02, hang_seconds=3.0, seed=20261125)
    local = LocalStack(tick_seconds=2.0, release_horizon_seconds=20, faults=faults,
                       sqs_duplicate_share=0.05,
                       extra_env={"GATEWAY_TIMEOUT_SECONDS": "2", "CLAIM_LEASE_SECONDS": "20",
                                  "SEND_RATE_MARGIN_SECONDS": "0.15",
                                  "FANOUT_GRACE_SECONDS": "8"}).start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def consumer_faults() -> Iterator[ExitStack]:
    """Faults of the send consumers (tests/send_faults.py), undone after the test."""
    with ExitStack() as faults:
        yield faults


@pytest.mark.e2e
def test_chaos_every_recipient_ends_once_inside_its_window_and_never_faster_than_the_rate(
        chaos_stack: LocalStack, consumer_faults: ExitStack) -> None:
    stack = chaos_stack
    demo = seed_demo()
    SenderNumberModel(demo["numbers"]["sms"][0], brand_id=demo["brand_id"], channel="sms",
                      kind="short_code", rate=100).save()
    http = Http(stack.api_url, demo["keys"]["campaign_manager"])
    now = time.time()
    window, open_zones, closed_zones = _pick_window(now)

    # Given a campaign at 20/s whose window is open now in some zones and closed in others
    status, created = http("POST", "/campaigns", {
        "name": "Chaos", "channel": "sms", "from_number": demo["numbers"]["sms"][0],
        "skill": "sales", "text": "Flash sale today",
        "schedule": {"send_rate": RATE, "window": {"start": window.start.strftime("%H:%M"),
                                                   "end": window.end.strftime("%H:%M")}}})
    assert status == 201, created
    cid = created["id"]
    # the recipients uploaded as a CSV (pre-signed POST), as brands upload their large lists
    csv_text = "\n".join(_numbers(open_zones + closed_zones).splitlines()[:TOTAL])
    status, upload = http("POST", f"/campaigns/{cid}/recipients/upload")
    assert status == 201, upload
    assert post_file(upload, csv_text.encode(), timeout=30) == 204

    def parsed_upload() -> dict[str, Any] | None:
        state = http("GET", f"/campaigns/{cid}")[1]["upload"]
        return state if state and state["status"] in ("DONE", "FAILED") else None

    state = stack.wait_for(parsed_upload, timeout=120)
    assert state and state["status"] == "DONE" and state["accepted"] == TOTAL, state
    brand = brands.get_brand(demo["brand_id"])
    parsed = recipients.parse_sms_rows(recipients.iter_rows(csv_text),
                                       recipients.SmsContent("Flash sale today",
                                                             brand.opt_out_text))
    zones_of = {r.phone: list(r.zones) for r in parsed[:TOTAL]}
    assert len({z for zs in zones_of.values() for z in zs}) >= 6

    # and a consumer that dies right after the gateway took ten of the messages
    doomed = {p for p, zs in zones_of.items() if zs[0] in open_zones}
    doomed = set(sorted(doomed)[::7][:10])
    doomed_count = len(doomed)

    def crash(campaign_id: str, phone: str) -> None:
        if phone in doomed:
            doomed.discard(phone)
            raise RuntimeError("consumer died between send and record")

    # (the stack's send consumers run in this process: their store port is wrapped so that the
    # record after the send fails)
    consumer_faults.enter_context(after_send(crash))
    # the consumers who will answer STOP: five whose window is open, five whose is closed
    by_zone = sorted((p for p in zones_of if p not in demo["numbers"]["sms"]),
                     key=lambda p: (zones_of[p][0] in open_zones, p))
    stoppers = set(by_zone[:5] + by_zone[-5:]) - doomed

    # and SQS refusing sends: the launch job (once), the launch job's first release (once), and
    # the release schedule's sends (start, release, resends after reconciliation) now and then
    def control_queue(params: dict[str, Any]) -> bool:
        return "-control" in str(params.get("QueueUrl"))

    def thread_is(prefix: str) -> Any:
        return lambda params: threading.current_thread().name.startswith(prefix)

    with awscalls.faults.inject("sqs", "SendMessageBatch", times=1,
                                when=thread_is("sqs-run_jobs")) as fanout_release_fault, \
            awscalls.faults.inject("sqs", "SendMessageBatch", times=8, probability=0.2,
                                   when=thread_is("schedule-every_minute")) as release_fault:
        # When it is launched
        with awscalls.faults.inject("sqs", "SendMessageBatch", times=1,
                                    when=control_queue) as launch_fault:
            status, launched = http("POST", f"/campaigns/{cid}/launch", {"consent": True})
        assert status == 200, launched
        assert launch_fault.fired == 1
        # and ten consumers answering STOP while the opt-outs table throttles the webhook's
        # first five writes (the webhook queues those; the inbound consumer applies them; a
        # queued one that fails again waits for the queue's visibility timeout, 3 minutes:
        # tests/service/inbound/test_stop_durability.py)
        table = stack.env["OPT_OUTS_TABLE"]

        def webhook_opt_out(params: dict[str, Any]) -> bool:
            return (params.get("TableName") == table
                    and not threading.current_thread().name.startswith("sqs-"))

        with awscalls.faults.inject("dynamodb", "PutItem", times=5,
                                    when=webhook_opt_out) as optout_fault:
            statuses = [_stop(stack, phone, demo["numbers"]["sms"][0]) for phone in stoppers]
        assert statuses == [200] * len(stoppers) and optout_fault.fired == 5

        def every_stop_applied() -> bool:
            listed = http("GET", "/optouts?limit=100", key=demo["keys"]["admin"])[1]["items"]
            return stoppers <= {o["phone"] for o in listed}

        assert stack.wait_for(every_stop_applied, timeout=120), "a STOP was lost"
        applied_at = time.time()
        settled_items = _settle(stack, cid, zones_of, closed_zones)

    final, items = settled_items
    states = Counter(m.status for m in items)
    assert final, f"not settled: {states}"
    assert fanout_release_fault.fired == 1 and release_fault.fired > 0

    # Then every recipient has exactly one terminal state, or waits visibly inside its window
    for m in items:
        if m.status == "SCHEDULED":
            assert m.due_at is not None and scheduler.in_window(zones_of[m.phone], window,
                                                                float(m.due_at))
        else:
            assert m.status in ("SENT", "FAILED") or (
                m.phone in stoppers and m.status == "SKIPPED"), (m.phone, m.status, m.reason)
            if m.status == "FAILED":
                assert m.error_code and m.reason
    # the gateway got at most one message per recipient, and each SENT has the gateway's id
    received = [m for m in sandbox_messages(stack) if m["body"].startswith("Flash sale")]
    per_phone = Counter(m["to"] for m in received)
    assert per_phone and max(per_phone.values()) == 1, per_phone.most_common(3)
    sids = {m["to"]: m["sid"] for m in received}
    sent = [m for m in items if m.status == "SENT"]
    assert {m.phone: m.sid for m in sent} == {p: sids[p] for p in (m.phone for m in sent)}
    assert len(sent) == len(received)
    # no second held more than ceil(rate) sends
    per_second = Counter(math.floor(m["received_at"]) for m in received)
    assert max(per_second.values()) <= math.ceil(RATE), per_second.most_common(3)
    # no message reached the gateway outside its recipient's window
    for m in received:
        assert scheduler.in_window(zones_of[m["to"]], window, m["received_at"]), m["to"]
    # once a STOP is stored, no campaign message reaches that consumer (one in its last
    # half second before the slot may still go: docs/guarantees.md)
    late = [m for m in received if m["to"] in stoppers and m["received_at"] > applied_at + 1.0]
    assert not late, late
    # and the chaos did happen
    assert stack.sandbox.sandbox.refused > 0
    assert sum(getattr(p, "duplicated", 0) for p in stack.pumps) > 0
    # (a doomed send answered 5xx is found at the gateway by reconciliation and never passes
    # the hook)
    assert len(doomed) < doomed_count, "the crash hook never fired"
    assert states["SCHEDULED"] > 0 and states["SENT"] > 0
    assert not stream_failures(stack)
