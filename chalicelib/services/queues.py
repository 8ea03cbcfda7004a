"""SQS: the send queue (messages with a delay) and the control queue (jobs).

Both are standard queues used as SQS fair queues: every message names its brand as its
MessageGroupId, so a brand with a backlog (a 100,000-recipient campaign, a burst of launches)
does not delay the other brands' messages (bench/simulate.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib import aws
from chalicelib.config import get_settings

MAX_DELAY_SECONDS = 900
BATCH = 10


@dataclass(frozen=True)
class Outgoing:
    body: dict[str, Any]
    delay_seconds: int = 0


def send(queue_url: str, messages: Sequence[Outgoing]) -> None:
    """Send in batches of 10; raises if any entry is refused (nothing is silently dropped)."""
    sqs = aws.client("sqs")
    for start in range(0, len(messages), BATCH):
        chunk = messages[start:start + BATCH]
        entries = [_entry(i, m) for i, m in enumerate(chunk)]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = response.get("Failed") or []
        if failed:
            retry = [chunk[int(f["Id"])] for f in failed if not f.get("SenderFault")]
            if len(retry) != len(failed):
                raise RuntimeError(f"SQS refused messages: {failed}")
            send(queue_url, retry)


def _entry(index: int, message: Outgoing) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Id": str(index), "MessageBody": json.dumps(message.body, separators=(",", ":")),
        "DelaySeconds": max(0, min(MAX_DELAY_SECONDS, int(message.delay_seconds)))}
    brand = message.body.get("brand_id")
    if brand:
        entry["MessageGroupId"] = str(brand)  # the tenant of the fair queue
    return entry


def send_messages(messages: Sequence[Outgoing]) -> None:
    send(get_settings().send_queue_url, messages)


def send_job(job: dict[str, Any]) -> None:
    send(get_settings().control_queue_url, [Outgoing(job)])
