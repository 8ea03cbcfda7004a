"""Attribute values of a DynamoDB stream record's image (`NewImage` / `OldImage`), read without
pynamodb: the stream readers (counters, outgoing events) see raw typed values."""

from __future__ import annotations

from typing import Any


def string(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    return str(value["S"]) if isinstance(value, dict) and "S" in value else None


def number(image: dict[str, Any], name: str) -> float | None:
    value = image.get(name)
    return float(value["N"]) if isinstance(value, dict) and "N" in value else None
