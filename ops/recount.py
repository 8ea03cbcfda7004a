"""`make recount`: recount every counter from the messages table and report any difference.

Against the running local stack (`make run` writes .local/stack.json), a given endpoint
(`--endpoint http://127.0.0.1:5000`), or AWS itself (`--aws`: table names from METRICS_TABLE,
MESSAGES_TABLE... as the functions get them, credentials from the usual AWS chain).
Exit status 1 when a counter differs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from local.local_stack import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=str(ROOT / ".local" / "stack.json"),
                        help="the local stack's description (default .local/stack.json)")
    parser.add_argument("--endpoint", help="an AWS endpoint (moto server) instead of the stack's")
    parser.add_argument("--aws", action="store_true", help="use AWS itself (no endpoint)")
    parser.add_argument("--show", type=int, default=20, help="differences to list (default 20)")
    args = parser.parse_args(argv)
    if not args.aws:
        endpoint = args.endpoint
        if endpoint is None:
            stack = Path(args.stack)
            if not stack.exists():
                print(f"{stack} not found: start the stack with `make run`, or pass --endpoint",
                      file=sys.stderr)
                return 2
            endpoint = json.loads(stack.read_text())["moto_url"]
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(key, "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from chalicelib import config
    from chalicelib.services import recount

    config.reset_settings()
    report = recount.reconcile_all()
    print(f"messages recounted: {report.messages}; counter items compared: {report.items}; "
          f"differences: {len(report.differences)}")
    for diff in report.differences[:args.show]:
        print(f"  {diff.pk} {diff.sk} {diff.counter}: counted {diff.actual}, "
              f"recount {diff.expected}")
    if len(report.differences) > args.show:
        print(f"  ... and {len(report.differences) - args.show} more")
    return 1 if report.differences else 0


if __name__ == "__main__":
    sys.exit(main())
