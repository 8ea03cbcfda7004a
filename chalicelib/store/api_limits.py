"""Per-brand API rate limits: a token bucket kept in DynamoDB (LimitsTable, key `api#<brand>`),
shared by every Lambda instance.

It is the GCRA form of a token bucket: one number per brand, the "theoretical arrival time" (TAT)
of the next request. A request at `now` is allowed when TAT <= now + (burst - 1) / rate, and then
moves TAT to max(TAT, now) + 1 / rate. Both steps are conditional updates, so concurrent
requests never share a token: one write per request when the brand is idle, two when busy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.config import get_settings


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds until a request would be allowed


def take(brand_id: str, rate: float, burst: int, now: float) -> Decision:
    table = get_settings().limits_table
    ddb = aws.client("dynamodb")
    key = {"key": {"S": f"api#{brand_id}"}}
    interval = 1.0 / rate
    tolerance = (max(1, burst) - 1) * interval
    try:  # idle brand: the bucket is full
        ddb.update_item(
            TableName=table, Key=key, UpdateExpression="SET next_at = :next",
            ConditionExpression="attribute_not_exists(next_at) OR next_at < :now",
            ExpressionAttributeValues={":next": {"N": repr(now + interval)},
                                       ":now": {"N": repr(now)}})
        return Decision(True)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
    try:  # busy brand: take a token if one is left
        ddb.update_item(
            TableName=table, Key=key, UpdateExpression="SET next_at = next_at + :interval",
            ConditionExpression="next_at <= :limit",
            ExpressionAttributeValues={":interval": {"N": repr(interval)},
                                       ":limit": {"N": repr(now + tolerance)}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD")
        return Decision(True)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        item = exc.response.get("Item") or {}
    tat = float(item["next_at"]["N"]) if "next_at" in item else now + tolerance + interval
    return Decision(False, max(1, math.ceil(tat - tolerance - now)))
