"""Write the merge template for `chalice package --merge-template` (see `make package`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from infra.scan import chalice_resources, with_skips
from infra.template import load_fragment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fragment = with_skips(load_fragment(args.stage), chalice_resources())
    args.out.write_text(json.dumps(fragment, indent=2))
    print(f"merge template for stage {args.stage}: {args.out}")


if __name__ == "__main__":
    main()
