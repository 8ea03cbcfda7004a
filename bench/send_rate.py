"""Sending at the set rate on the local stack as `make run` builds it (issue 15, point 2).

2,000 recipients at 100/s on a short-code number, window open, on a stack with nothing else to
do: achieved mean rate (first to last send), most sends in any 1 s window, first send after the
launch request; instants are the sandbox gateway's receive instants.

`python -m bench send_rate`; BENCH_SEND_ROWS for another size.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench._report import write_section
from bench.campaign_100k import (
    SEND_RATE,
    SEND_ROWS,
    RssSampler,
    SafeHttp,
    _say,
    previous_figures,
    run_send,
)


def main() -> None:
    from local.local_stack import LocalStack
    from local.seed import seed_demo
    from tests.e2e.conftest import Http

    rss = RssSampler()
    rss.start()
    stack = LocalStack(tick_seconds=2.0).start()  # `make run`'s stack (local/run.py)
    began = time.time()
    try:
        demo = seed_demo()
        http = SafeHttp(Http(stack.api_url, demo["keys"]["campaign_manager"]))
        figures = run_send(stack, http, demo)
    finally:
        stack.stop()
        rss.stopping.set()
        rss.join()
    _say(f"send phase done in {time.time() - began:.0f} s: {figures}")
    report(figures, rss.peak_kb / 1024, http.failures)


def report(f: dict[str, Any], rss_mb: float, failures: int) -> None:
    before = previous_figures("send_rate")
    f = {"rate": math.nan, "max_1s": 0, "first_s": math.nan, **f}

    def ratio(key: str) -> str:
        old = before.get(key)
        value = f.get(key)
        return (f"{value / old:.2f}x" if old and isinstance(value, (int, float))
                and not math.isnan(value) else "-")

    rows = [
        ("sent", "Sent (received by the sandbox gateway)", f"{f.get('sent', 0):,} of "
         f"{SEND_ROWS:,}", f"{SEND_ROWS:,}"),
        ("rate", "Mean rate, first to last send", f"{f['rate']:.1f}/s",
         f"{0.95 * SEND_RATE:g}-{1.05 * SEND_RATE:g}/s"),
        ("max_1s", "Most sends in any 1 s window", f"{f['max_1s']}", f"<= {math.ceil(SEND_RATE)}"),
        ("first_s", "First send after the launch request", f"{f['first_s']:.2f} s", "<= 3 s"),
    ]
    lines = ["| Figure | Value | Target | Ratio to previous run |", "|---|---|---|---|"]
    lines += [f"| {label} | {value} | {target} | {ratio(key)} |" for key, label, value, target
              in rows]
    marks = "\n".join(f"<!-- {key}={float(f[key]):.4g} -->" for key, *_ in rows
                      if isinstance(f.get(key), (int, float)) and not math.isnan(f[key]))
    write_section(
        "send_rate", f"Local stack: {SEND_ROWS:,} recipients at {SEND_RATE:g}/s (issue 15.2)",
        "\n".join(lines) + f"\n\nA short-code sender ({SEND_RATE:g}/s), the window open, on the "
        "local stack as `make run` builds it with nothing else running; the instants are the "
        f"sandbox gateway's. Peak RSS of the stack {rss_mb:.0f} MB; {failures} API requests "
        "failed.\n\n" + marks)
