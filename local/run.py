"""`make run`: the whole service on this machine, no AWS account needed. Ctrl-C stops it."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from local.local_stack import ROOT, LocalStack
from local.seed import seed_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    parser.add_argument("--moto-port", type=int, default=5000)
    parser.add_argument("--sandbox-port", type=int, default=8001)
    parser.add_argument("--tick", type=float, default=5.0,
                        help="seconds between ticks of the scheduled handlers (AWS: 60)")
    args = parser.parse_args()
    print("Starting the local stack (moto server, API, pumps, sandbox gateway)...", flush=True)
    stack = LocalStack(api_port=args.port, moto_port=args.moto_port,
                       sandbox_port=args.sandbox_port, tick_seconds=args.tick,
                       log_requests=True, status_callbacks="delivered").start()
    demo = seed_demo()
    info = {
        "api_url": stack.api_url,
        "sandbox_url": stack.sandbox.url,
        "moto_url": stack.moto_url,
        "brand_id": demo["brand_id"],
        "keys": demo["keys"],
        "numbers": demo["numbers"],
        "skills": demo["skills"],
    }
    out = ROOT / ".local" / "stack.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(info, indent=2))
    print(f"""
  Web tool:         {stack.api_url}/         (sign in with a key below)
  API:              {stack.api_url}          (OpenAPI: {stack.api_url}/openapi.json,
                                                  Swagger UI: {stack.api_url}/docs)
  Sandbox gateway:  {stack.sandbox.url}/sandbox/messages   (every message "sent")
  moto server:      {stack.moto_url}
  Demo brand:       {demo['brand_id']}, SMS number {demo['numbers']['sms'][0]}
  Skills:           sales, support
  Admin key:            {demo['keys']['admin']}
  Campaign-manager key: {demo['keys']['campaign_manager']}
  Agent key (403 on campaigns): {demo['keys']['agent']}
  All of this is in {Path(out).relative_to(ROOT)}. Walkthrough: README.md. Ctrl-C stops.
  Data is kept in memory only: campaigns, keys and messages are gone when it stops.
""", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    print("Stopping... (the local stack keeps its data in memory only: it is discarded now)",
          flush=True)
    stack.stop()


if __name__ == "__main__":
    main()
