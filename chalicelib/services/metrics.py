"""Stream records of the messages table -> counters (exact under redelivery)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from chalicelib.store import metrics


def _status(image: dict[str, Any] | None) -> str | None:
    if not image or "status" not in image:
        return None
    return str(image["status"].get("S"))


def increments_for(record: dict[str, Any]) -> dict[tuple[str, str], Counter[str]]:
    ddb = record.get("dynamodb", {})
    old, new = ddb.get("OldImage"), ddb.get("NewImage")
    before, after = _status(old), _status(new)
    if before == after:
        return {}
    image = new or old or {}
    campaign_id = image.get("campaign_id", {}).get("S")
    if not campaign_id:
        return {}
    counts: Counter[str] = Counter()
    if before:
        counts[before] -= 1
    if after:
        counts[after] += 1
    return {metrics.campaign_key(campaign_id): counts}


def apply_records(records: Iterable[dict[str, Any]]) -> int:
    applied = 0
    for record in records:
        increments = increments_for(record)
        if increments and metrics.apply_once(record["eventID"], increments):
            applied += 1
    return applied
