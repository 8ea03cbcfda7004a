"""API rate limiter: does it stay exact when several Lambda instances share a brand's bucket,
and what does it cost per request? (moto server over HTTP on this machine; AWS is faster.)"""

from __future__ import annotations

import os
import statistics
import threading
import time
import urllib.request

from bench._report import write_section

RATE, BURST, SECONDS, THREADS = 20.0, 10, 3.0, 4


def _setup() -> object:
    from local.local_resources import REGION, create_resources, put_local_secrets
    from local.local_stack import quiet_logs
    from local.moto_server import MotoServer

    quiet_logs()
    server = MotoServer().start()
    urllib.request.urlopen(urllib.request.Request(f"{server.url}/moto-api/reset",
                                                  method="POST")).close()
    env = create_resources(server.url)
    put_local_secrets(server.url, {env["TWILIO_AUTH_TOKEN_PARAM"]: "bench"})
    os.environ.update(env)
    os.environ.update({"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
                       "AWS_REGION": REGION, "POWERTOOLS_LOG_LEVEL": "WARNING"})
    from chalicelib import config

    config.reset_settings()
    return server


def main() -> None:
    server = _setup()
    from chalicelib.store import api_limits
    from local.seed import seed_demo

    seed_demo(brand_id="bench", sms_number="+12125550190")
    allowed = denied = 0
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.time()

    def hammer() -> None:
        nonlocal allowed, denied
        while time.time() - start < SECONDS:
            began = time.perf_counter()
            decision = api_limits.take("bench", RATE, BURST, time.time())
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if decision.allowed:
                    allowed += 1
                else:
                    denied += 1

    threads = [threading.Thread(target=hammer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.time() - start
    ceiling = BURST + RATE * elapsed
    latencies.sort()
    body = (
        f"{THREADS} threads (as many Lambda instances) call the limiter "
        f"of one brand (rate {RATE:g}/s, burst {BURST}) for {elapsed:.1f} s against moto "
        "server.\n\n"
        "| attempts | allowed | denied | allowed at most (burst + rate x time) | "
        "limiter call mean | p95 |\n|---|---|---|---|---|---|\n"
        f"| {allowed + denied} | {allowed} | {denied} | {ceiling:.0f} | "
        f"{statistics.mean(latencies) * 1000:.1f} ms | "
        f"{latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms |\n\n"
        "One conditional UpdateItem per request while the brand is under its rate, two when it "
        "is busy; never more allowed than the bucket holds. Fewer than the ceiling pass because "
        "each request's instant is taken before its write, which moto (serialised) makes slow: "
        "the limiter errs on the safe side by about one write's latency.\n")
    print(body)
    write_section("api_limits", "API rate limiter (per brand, shared)", body)
    server.stop()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
