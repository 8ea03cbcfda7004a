"""The web tool's third-party files (Chart.js; swagger-ui-dist for /docs) into
chalicelib/web/vendor/, without npm, root or apt.

The versions are the ones pinned in chalicelib/web/npm/package-lock.json (npm keeps that file
current: `cd chalicelib/web/npm && npm install --package-lock-only chart.js@X`); each package's
tarball is fetched from the npm registry with Python and checked against the lock file's sha512
`integrity` before a file is copied. `make web` runs this; it does nothing when the files are
already there.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "chalicelib" / "web" / "npm" / "package-lock.json"
VENDOR = ROOT / "chalicelib" / "web" / "vendor"
REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
# package -> the files of its tarball the web tool serves (paths inside the tarball's package/)
FILES = {
    "chart.js": ["dist/chart.umd.min.js"],
    "swagger-ui-dist": ["swagger-ui-bundle.js", "swagger-ui.css"],
}


class VendorError(Exception):
    """A package could not be fetched or did not match the lock file."""


def pinned(lock_path: Path = LOCK) -> dict[str, tuple[str, str]]:
    """package -> (version, sha512 integrity) as chalicelib/web/npm/package-lock.json pins them."""
    packages = json.loads(lock_path.read_text())["packages"]
    out: dict[str, tuple[str, str]] = {}
    for name in FILES:
        entry = packages.get(f"node_modules/{name}")
        if not entry or "integrity" not in entry:
            raise VendorError(f"{name} is not pinned with an integrity in {lock_path}")
        out[name] = (entry["version"], entry["integrity"])
    return out


def check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise VendorError(f"integrity mismatch: expected {integrity}, got sha512-{actual}")


def extract(data: bytes, wanted: list[str], into: Path) -> list[Path]:
    """Copy `wanted` (paths under the tarball's package/) into `into`; the paths written."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for path in wanted:
            member = tar.getmember(f"package/{path}")
            source = tar.extractfile(member)
            if source is None:
                raise VendorError(f"{path} is not a file in the package")
            target = into / Path(path).name
            target.write_bytes(source.read())
            written.append(target)
    return written


def fetch(name: str, version: str, timeout: float = 120.0) -> bytes:
    bare = name.rsplit("/", 1)[-1]
    url = f"{REGISTRY}/{name}/-/{bare}-{version}.tgz"
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https registry)
        return bytes(response.read())


def vendor(into: Path = VENDOR, force: bool = False) -> list[Path]:
    """Fetch, check and copy every pinned package's files; the files written."""
    into.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, (version, integrity) in pinned().items():
        wanted = FILES[name]
        if not force and all((into / Path(p).name).exists() for p in wanted):
            continue
        data = fetch(name, version)
        check_integrity(data, integrity)
        written += extract(data, wanted, into)
        print(f"web vendor: {name}@{version} (sha512 checked) -> {into.relative_to(ROOT)}")
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="fetch again even when present")
    args = parser.parse_args(argv)
    try:
        vendor(force=args.force)
    except (VendorError, OSError) as error:
        raise SystemExit(f"web vendor: {error}") from error


if __name__ == "__main__":
    main()
