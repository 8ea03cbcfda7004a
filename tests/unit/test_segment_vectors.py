"""The server's SMS segment count against the vectors the browser test uses too
(tests/vectors/segments.json; the page's count is chalicelib/web/sms.js)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain import content

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "segments.json")
                     .read_text(encoding="utf-8"))["vectors"]


def vector_text(vector: dict[str, Any]) -> str:
    return "".join(piece * times for piece, times in vector["parts"])


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_segments_follow_gsm_03_38_and_ucs2_part_rules(vector: dict[str, Any]) -> None:
    info = content.sms_info(vector_text(vector))
    assert (info.encoding, info.units, info.segments, info.characters) == (
        vector["encoding"], vector["units"], vector["segments"], vector["characters"])
