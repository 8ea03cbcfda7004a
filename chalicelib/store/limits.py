"""Send-rate limiters kept in DynamoDB, shared by every consumer and every Lambda instance.

A limiter item holds the earliest instant its next send may start. A consumer reserves a run of
consecutive slots on every limiter that applies (the campaign's rate and the sender number's) in
one transaction conditioned on the values it read, so concurrent consumers never share a slot.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws
from chalicelib.config import get_settings

MAX_TRIES = 25


class LimiterContended(Exception):
    pass


# The reservations of one process on the same limiters, one at a time: the threads of a send
# batch (and, locally, every consumer of the stack) would otherwise mostly collide with each
# other, each collision costing two more round trips; other processes still meet the
# transaction's conditions.
_TURNS: dict[tuple[str, ...], threading.Lock] = {}
_TURNS_LOCK = threading.Lock()
MAX_TURNS = 1024  # a warm container serves many campaigns: their locks are not all kept


def _turn(keys: list[str]) -> threading.Lock:
    with _TURNS_LOCK:
        if len(_TURNS) >= MAX_TURNS:
            for idle in [k for k, lock in _TURNS.items() if not lock.locked()]:
                del _TURNS[idle]
        return _TURNS.setdefault(tuple(keys), threading.Lock())


def reserve(intervals: Mapping[str, float], count: int,
            clock: Callable[[], float]) -> tuple[float, float]:
    """Reserve `count` slots on every limiter in `intervals` ({key: seconds between sends}).

    Returns (first slot, gap): send i may start at first + i * gap and not before; the gap is
    the largest interval, so every limiter's own spacing holds.
    """
    first, gap, _ = reserve_within(intervals, count, clock, None)
    return first, gap


def reserve_within(intervals: Mapping[str, float], count: int, clock: Callable[[], float],
                   max_wait: float | None, lead: float = 0.0,
                   ddb: Any | None = None) -> tuple[float, float, int]:
    """Like reserve(), but only the slots that start within `max_wait` seconds from now.

    Returns (first slot, gap, granted): `granted` (0..count) consecutive slots from `first`. When
    a limiter is booked further ahead (a sender shared with other campaigns), fewer or none are
    granted and nothing is taken for the rest; `first` then says when the next slot is free.
    `lead`: the earliest slot is this far from now (time for the caller to get to it).
    `ddb`: the DynamoDB client (default: the stage's); bench/simulate.py passes a model of it.
    """
    keys = sorted(intervals)
    with _turn(keys):
        return _reserve_within(keys, intervals, count, clock, max_wait, lead,
                               aws.client("dynamodb") if ddb is None else ddb)


def _reserve_within(keys: list[str], intervals: Mapping[str, float], count: int,
                    clock: Callable[[], float], max_wait: float | None, lead: float,
                    ddb: Any) -> tuple[float, float, int]:
    table = get_settings().limits_table
    gap = max(intervals.values())
    for attempt in range(MAX_TRIES):
        got = ddb.transact_get_items(TransactItems=[
            {"Get": {"TableName": table, "Key": {"key": {"S": k}}}} for k in keys])
        current: dict[str, str | None] = {}
        for k, response in zip(keys, got["Responses"], strict=True):
            item = response.get("Item")
            current[k] = item["next_at"]["N"] if item and "next_at" in item else None
        now = clock()
        first = max([now + lead] + [float(v) for v in current.values() if v is not None])
        granted = count
        if max_wait is not None:
            granted = max(0, min(count, math.floor((now + max_wait - first) / gap) + 1))
        if granted == 0:
            return first, gap, 0
        last = first + (granted - 1) * gap
        writes = []
        for k in keys:
            condition = ("attribute_not_exists(next_at)" if current[k] is None
                         else "next_at = :seen")
            values = {":next": {"N": repr(last + intervals[k])}}
            if current[k] is not None:
                values[":seen"] = {"N": str(current[k])}
            writes.append({"Update": {
                "TableName": table, "Key": {"key": {"S": k}},
                "UpdateExpression": "SET next_at = :next",
                "ConditionExpression": condition,
                "ExpressionAttributeValues": values,
            }})
        try:
            ddb.transact_write_items(TransactItems=writes)
            return first, gap, granted
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("TransactionCanceledException",
                                                     "TransactionConflictException"):
                raise
            # Another consumer took the slot: read again after a short, jittered pause, so
            # consumers that collided do not collide again at once (and retries do not hammer
            # the table while it is busy).
            time.sleep(random.uniform(0.0, min(0.05, 0.005 * (attempt + 1))))
    raise LimiterContended(f"rate limiters {keys} are too contended")
