"""Inbound webhooks on moto server: how long a signed reply takes to handle (keyword or
conversation), and a status callback; plus the keyword classifier alone.

Each request goes through the real app (chalice's test client), the real signature check, moto
over HTTP and the sandbox gateway for confirmations. Run: `make bench` or
`.venv/bin/python -m bench inbound_webhooks`.
"""

from __future__ import annotations

import os
import statistics
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from bench._report import write_section

REPLIES = 150
TOKEN = "bench-token"
PUBLIC = "https://bench.example.test/api"


def _percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000, max(ordered) * 1000


def main() -> None:
    from local.local_resources import REGION, create_resources
    from local.local_stack import quiet_logs
    from local.moto_server import MotoServer
    from local.sandbox import SandboxServer

    quiet_logs()
    moto, sandbox = MotoServer().start(), SandboxServer().start()
    try:
        urllib.request.urlopen(urllib.request.Request(f"{moto.url}/moto-api/reset",
                                                      method="POST")).close()
        env = create_resources(moto.url)
        env.update({"AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                    "AWS_REGION": REGION, "TWILIO_API_BASE": sandbox.url,
                    "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC,
                    "POWERTOOLS_LOG_LEVEL": "WARNING"})
        os.environ.update(env)
        from chalicelib import config

        config.reset_settings()
        _run(sandbox)
    finally:
        sandbox.stop()
        moto.stop()


def _run(sandbox: Any) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.domain import keywords
    from chalicelib.messaging import webhooks
    from local.seed import seed_demo

    seed_demo(brand_id="bench", sms_number="+12125550100")
    client = Client(app, stage_name="dev")

    def post(path: str, form: dict[str, str]) -> float:
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   webhooks.SIGNATURE_HEADER: webhooks.sign(TOKEN, PUBLIC + path, form)}
        start = time.perf_counter()
        response = client.http.post(path, headers=headers, body=urlencode(form).encode())
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.body
        return elapsed

    def reply(n: int, body: str) -> float:
        sid = "SM" + uuid.uuid4().hex
        return post(webhooks.INBOUND_PATH, {"MessageSid": sid, "From": f"+1212555{n:04d}",
                                            "To": "+12125550100", "Body": body})

    rows: list[tuple[str, list[float]]] = []
    rows.append(("STOP (opt-out + confirmation via the sandbox)",
                 [reply(1000 + n, "STOP") for n in range(REPLIES)]))
    rows.append(("question, new conversation + EventBridge event",
                 [reply(2000 + n, "Is it in blue?") for n in range(REPLIES)]))
    rows.append(("question, joins the open conversation",
                 [reply(2000 + n, "And in red?") for n in range(REPLIES)]))
    rows.append(("retry of a handled webhook (dedupe)",
                 [_retry(post, webhooks.INBOUND_PATH) for _ in range(REPLIES)]))
    rows.append(("status callback, message not sent yet (parked)",
                 [post(webhooks.STATUS_PATH, {"MessageSid": "SM" + uuid.uuid4().hex,
                                              "MessageStatus": "delivered"})
                  for _ in range(REPLIES)]))
    sandbox.sandbox.clear()

    texts = ["STOP", "please stop texting me at work", " Help! ", "yes please"] * 25_000
    start = time.perf_counter()
    for text in texts:
        keywords.classify(text)
    per_text_us = (time.perf_counter() - start) / len(texts) * 1e6

    lines = ["| Webhook | p50 ms | p95 ms | max ms |", "|---|---|---|---|"]
    for name, samples in rows:
        p50, p95, worst = _percentiles(samples)
        lines.append(f"| {name} | {p50:.1f} | {p95:.1f} | {worst:.1f} |")
    body = (f"{REPLIES} signed webhooks of each kind, one at a time, through the app "
            "(chalice test client) on moto server over HTTP (DynamoDB requests serialised), "
            "confirmations through the sandbox gateway.\n\n" + "\n".join(lines)
            + f"\n\nKeyword classification alone: {per_text_us:.2f} us per reply "
            f"({len(texts):,} replies).\n\nOn AWS the same handler does 3-6 DynamoDB calls "
            "(+1 PutEvents, +1 gateway call for keywords); moto's latency dominates here.")
    write_section("inbound_webhooks", "Inbound webhooks (replies, keywords, callbacks)", body)


_retry_form: dict[str, str] = {}


def _retry(post: Callable[[str, dict[str, str]], float], path: str) -> float:
    if not _retry_form:
        _retry_form.update({"MessageSid": "SM" + uuid.uuid4().hex, "From": "+12125559999",
                            "To": "+12125550100", "Body": "Thanks"})
        post(path, _retry_form)
    return post(path, _retry_form)


if __name__ == "__main__":
    main()
