"""Pre-aggregated counters, incremented from the messages table's stream.

Each stream record is applied at most once: its eventID is written as a marker in the same
transaction as the increments, so a redelivered or split-and-retried batch adds nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.config import get_settings

MARKER_TTL_SECONDS = 7 * 24 * 3600  # longer than a stream record lives (24 h)


def campaign_key(campaign_id: str) -> tuple[str, str]:
    return f"campaign#{campaign_id}", "status"


def apply_once(event_id: str, increments: Mapping[tuple[str, str], Mapping[str, int]]) -> bool:
    """Add `increments` ({(pk, sk): {counter: delta}}) unless event_id was applied already."""
    table = get_settings().metrics_table
    items: list[dict[str, Any]] = [{
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": "applied"}, "sk": {"S": event_id},
                     "expires_at": {"N": str(int(time.time()) + MARKER_TTL_SECONDS)}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }]
    for (pk, sk), counters in increments.items():
        deltas = {name: delta for name, delta in counters.items() if delta}
        if not deltas:
            continue
        names = {f"#c{i}": name for i, name in enumerate(deltas)}
        values = {f":v{i}": {"N": str(delta)} for i, delta in enumerate(deltas.values())}
        items.append({
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                "UpdateExpression": "ADD " + ", ".join(f"#c{i} :v{i}" for i in range(len(deltas))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        })
    if len(items) == 1:
        return False
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or []
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            return False  # applied before
        raise
    return True


def read_counters(pk: str, sk: str) -> dict[str, int]:
    response = aws.client("dynamodb").get_item(
        TableName=get_settings().metrics_table,
        Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
    return {
        name: int(value["N"])
        for name, value in response.get("Item", {}).items()
        if "N" in value and name != "expires_at"
    }
