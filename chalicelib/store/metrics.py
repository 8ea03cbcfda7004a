"""Pre-aggregated counters, incremented from the messages table's stream.

Each stream record (or other counted event) is applied at most once: its id is written as a
marker in the same transaction as the increments, so a redelivered or split-and-retried batch
adds nothing twice. Records of one batch are applied together, a few dozen per transaction, so a
busy counter item is updated once per transaction rather than once per record.

Items (pk, sk):
- ("campaign#<id>", "status"): messages per status, plus `opted_out`
- ("campaign#<id>", "day#<UTC day>"): quarter-hour counters of the campaign ({"s37": 4, ...})
- ("brand#<id>", "day#<UTC day>#skill#<skill>"): the brand's quarter-hour counters per skill
  (opt-outs that belong to no skill under skill "-"); one partition per brand, sorted by day, so
  a 90-day all-skills read is one Query of a few pages whatever the number of messages
- ("applied#<event id>", "applied"): markers, removed by TTL after a week
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.config import get_settings

MARKER_TTL_SECONDS = 7 * 24 * 3600  # longer than a stream record lives (24 h)
MAX_TRANSACTION_ITEMS = 100
CONFLICT_RETRIES = 8
NO_SKILL = "-"

Key = tuple[str, str]
Increments = Mapping[Key, Mapping[str, int]]


def campaign_key(campaign_id: str) -> Key:
    return f"campaign#{campaign_id}", "status"


def campaign_day_key(campaign_id: str, day: str) -> Key:
    return f"campaign#{campaign_id}", f"day#{day}"


def brand_day_key(brand_id: str, day: str, skill: str | None) -> Key:
    return f"brand#{brand_id}", f"day#{day}#skill#{skill or NO_SKILL}"


def _marker(event_id: str, now: float) -> dict[str, Any]:
    return {"Put": {
        "TableName": get_settings().metrics_table,
        "Item": {"pk": {"S": f"applied#{event_id}"}, "sk": {"S": "applied"},
                 "expires_at": {"N": str(int(now) + MARKER_TTL_SECONDS)}},
        "ConditionExpression": "attribute_not_exists(pk)",
    }}


def _update(key: Key, deltas: Mapping[str, int]) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(deltas)}
    values = {f":v{i}": {"N": str(delta)} for i, delta in enumerate(deltas.values())}
    return {"Update": {
        "TableName": get_settings().metrics_table,
        "Key": {"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        "UpdateExpression": "ADD " + ", ".join(f"#c{i} :v{i}" for i in range(len(deltas))),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }}


def _merge(entries: Sequence[tuple[str, Increments]]) -> dict[Key, dict[str, int]]:
    merged: dict[Key, dict[str, int]] = {}
    for _, increments in entries:
        for key, counters in increments.items():
            target = merged.setdefault(key, {})
            for name, delta in counters.items():
                target[name] = target.get(name, 0) + delta
    return {key: {n: d for n, d in counters.items() if d} for key, counters in merged.items()
            if any(counters.values())}


def _chunks(entries: Sequence[tuple[str, Increments]]) -> Iterator[list[tuple[str, Increments]]]:
    """Consecutive entries whose markers and counter items fit one transaction."""
    chunk: list[tuple[str, Increments]] = []
    keys: set[Key] = set()
    for entry in entries:
        new_keys = set(entry[1]) - keys
        if chunk and len(chunk) + 1 + len(keys) + len(new_keys) > MAX_TRANSACTION_ITEMS:
            yield chunk
            chunk, keys = [], set()
            new_keys = set(entry[1])
        chunk.append(entry)
        keys |= new_keys
    if chunk:
        yield chunk


def apply_batch(entries: Sequence[tuple[str, Increments]], now: float | None = None) -> int:
    """Apply each (event id, increments) once; returns how many were applied by this call.

    Entries whose marker exists already (a redelivery) are dropped and the rest retried, so any
    replay, split or overlap of batches ends with every event counted exactly once.
    """
    applied = 0
    unique = list({event_id: (event_id, inc) for event_id, inc in entries}.values())
    for chunk in _chunks([e for e in unique if _merge([e])]):
        applied += _apply_chunk(chunk, time.time() if now is None else now)
    return applied


def _apply_chunk(chunk: list[tuple[str, Increments]], now: float) -> int:
    pending = list(chunk)
    conflicts = 0
    while pending:
        items = [_marker(event_id, now) for event_id, _ in pending]
        items += [_update(key, deltas) for key, deltas in _merge(pending).items()]
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=items)
            return len(pending)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            seen = {i for i, r in enumerate(reasons[:len(pending)])
                    if r.get("Code") == "ConditionalCheckFailed"}
            if seen:
                pending = [entry for i, entry in enumerate(pending) if i not in seen]
                continue
            conflicts += 1  # another writer on the same counters: try again shortly
            if conflicts > CONFLICT_RETRIES:
                raise
            time.sleep(min(1.0, 0.02 * 2 ** conflicts))
    return 0


def apply_once(event_id: str, increments: Increments) -> bool:
    """Add `increments` ({(pk, sk): {counter: delta}}) unless event_id was applied already."""
    return apply_batch([(event_id, increments)]) == 1


def _numbers(item: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items()
            if "N" in value and name != "expires_at"}


def read_counters(pk: str, sk: str) -> dict[str, int]:
    response = aws.client("dynamodb").get_item(
        TableName=get_settings().metrics_table,
        Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
    return _numbers(response.get("Item", {}))


def _query(pk: str, low: str, high: str) -> Iterator[tuple[str, dict[str, int]]]:
    client = aws.client("dynamodb")
    args: dict[str, Any] = {
        "TableName": get_settings().metrics_table,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": low}, ":hi": {"S": high}},
    }
    while True:
        page = client.query(**args)
        for item in page.get("Items", []):
            yield item["sk"]["S"], _numbers(item)
        if not page.get("LastEvaluatedKey"):
            return
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def brand_days(brand_id: str, first_day: str, last_day: str
               ) -> Iterator[tuple[str, str, dict[str, int]]]:
    """(UTC day, skill, quarter counters) of a brand from first_day to last_day (inclusive)."""
    for sk, counters in _query(f"brand#{brand_id}", f"day#{first_day}", f"day#{last_day}#~"):
        _, day, _, skill = sk.split("#", 3)
        yield day, skill, counters


def campaign_days(campaign_id: str, first_day: str = "0000-00-00", last_day: str = "9999-99-99"
                  ) -> Iterator[tuple[str, dict[str, int]]]:
    for sk, counters in _query(f"campaign#{campaign_id}", f"day#{first_day}", f"day#{last_day}"):
        yield sk.removeprefix("day#"), counters


def iter_all() -> Iterator[tuple[Key, dict[str, int]]]:
    """Every counter item (not the markers): for the reconciliation."""
    paginator = aws.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=get_settings().metrics_table):
        for item in page.get("Items", []):
            pk = item["pk"]["S"]
            if pk.startswith(("applied#", "run#")):
                continue
            yield (pk, item["sk"]["S"]), _numbers(item)


def put_counters(items: Sequence[tuple[Key, Mapping[str, int]]]) -> None:
    """Write whole counter items (benchmarks seed large volumes this way)."""
    client = aws.client("dynamodb")
    table = get_settings().metrics_table
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": {
            "pk": {"S": pk}, "sk": {"S": sk},
            **{name: {"N": str(value)} for name, value in counters.items()}}}}
            for (pk, sk), counters in items[start:start + 25]]
        while requests:
            result = client.batch_write_item(RequestItems={table: requests})
            requests = result.get("UnprocessedItems", {}).get(table, [])


def claim_run(name: str, now: float, every_seconds: float) -> bool:
    """True for at most one caller per `every_seconds` (a conditional write): a schedule that
    the local stack ticks every few seconds still runs a daily job once a day."""
    try:
        aws.client("dynamodb").put_item(
            TableName=get_settings().metrics_table,
            Item={"pk": {"S": f"run#{name}"}, "sk": {"S": "last"}, "at": {"N": str(now)}},
            ConditionExpression="attribute_not_exists(pk) OR #at <= :cutoff",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":cutoff": {"N": str(now - every_seconds)}})
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
