"""Stream records of the messages table -> counters (exact under redelivery).

A message contributes to counters according to its current image (status, skill, when it was
sent); a stream record moves it from the contribution of its old image to that of its new one.
The counters are therefore always the sum of every message's contribution, i.e. a recount of
the messages table (docs/design.md#invariant-6), whatever path the message took.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from chalicelib.domain import analytics
from chalicelib.store import metrics, stream_images

# string / number values of a stream record's image
_s = stream_images.string
_n = stream_images.number

Contribution = dict[metrics.Key, Counter[str]]




def sent_instant(image: dict[str, Any]) -> float:
    """When the message was handed to the gateway (FAILED ones carry no sent_at: their last
    update is the rejection)."""
    for name in ("sent_at", "updated_at", "created_at"):
        value = _n(image, name)
        if value is not None:
            return value
    return 0.0


def contribution(image: dict[str, Any] | None) -> Contribution:
    """What one message image adds to the counters (DynamoDB JSON, as in stream records)."""
    if not image:
        return {}
    campaign_id, status = _s(image, "campaign_id"), _s(image, "status")
    if not campaign_id or not status:
        return {}
    figures = analytics.metrics_for_message(status, _n(image, "opted_out_at") is not None)
    result: Contribution = {metrics.campaign_key(campaign_id): Counter(
        {status: 1, **({"opted_out": 1} if "opted_out" in figures else {})})}
    if figures:
        day, quarter = analytics.quarter_of(sent_instant(image))
        counters = Counter({analytics.counter_name(quarter): analytics.pack(
            dict.fromkeys(figures, 1))})
        result[metrics.campaign_day_key(campaign_id, day)] = counters
        brand_id = _s(image, "brand_id")
        if brand_id:
            result[metrics.brand_day_key(brand_id, day, _s(image, "skill"))] = Counter(counters)
    return result


def increments_for(record: dict[str, Any]) -> dict[metrics.Key, Counter[str]]:
    ddb = record.get("dynamodb", {})
    new, old = contribution(ddb.get("NewImage")), contribution(ddb.get("OldImage"))
    increments: dict[metrics.Key, Counter[str]] = {}
    for key in set(new) | set(old):
        delta: Counter[str] = Counter()
        delta.update(new.get(key, Counter()))
        delta.subtract(old.get(key, Counter()))
        changed = Counter({name: value for name, value in delta.items() if value})
        if changed:
            increments[key] = changed
    return increments


def apply_records(records: Iterable[dict[str, Any]]) -> int:
    """Apply a batch of stream records; returns how many changed counters for the first time."""
    entries = [(str(r["eventID"]), increments_for(r)) for r in records]
    return metrics.apply_batch([(event_id, inc) for event_id, inc in entries if inc])
