"""The web tool's vendored files come from the versions chalicelib/web/npm/package-lock.json
pins, checked against the lock's sha512 before they are written (local/web_vendor.py,
`make web`)."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from local import web_vendor


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_every_served_package_is_pinned_with_an_integrity() -> None:
    pins = web_vendor.pinned()
    assert set(pins) == {"chart.js", "swagger-ui-dist"}
    for version, integrity in pins.values():
        assert version[0].isdigit() and integrity.startswith("sha512-")


def test_a_tarball_that_does_not_match_the_lock_is_refused() -> None:
    data = _tarball({"dist/chart.umd.min.js": b"chart"})
    web_vendor.check_integrity(data, _integrity(data))
    with pytest.raises(web_vendor.VendorError, match="integrity mismatch"):
        web_vendor.check_integrity(data + b"tampered", _integrity(data))
    with pytest.raises(web_vendor.VendorError, match="unsupported"):
        web_vendor.check_integrity(data, "sha1-abc")


def test_only_the_served_files_are_copied(tmp_path: Path) -> None:
    data = _tarball({"swagger-ui-bundle.js": b"bundle", "swagger-ui.css": b"css",
                     "index.html": b"not served"})
    written = web_vendor.extract(data, web_vendor.FILES["swagger-ui-dist"], tmp_path)
    assert sorted(p.name for p in written) == ["swagger-ui-bundle.js", "swagger-ui.css"]
    assert (tmp_path / "swagger-ui-bundle.js").read_bytes() == b"bundle"
    assert not (tmp_path / "index.html").exists()
