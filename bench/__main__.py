"""`make bench`: runs every benchmark module in bench/ and appends results to BENCHMARKS.md."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    wanted = set(sys.argv[1:])
    for name in names:
        if wanted and name not in wanted:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench/{name}.py", flush=True)
        module.main()


if __name__ == "__main__":
    main()
