"""SQS: the send queue (messages with a delay) and the control queue (jobs)."""

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
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(m.body, separators=(",", ":")),
             "DelaySeconds": max(0, min(MAX_DELAY_SECONDS, int(m.delay_seconds)))}
            for i, m in enumerate(chunk)
        ]
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = response.get("Failed") or []
        if failed:
            retry = [chunk[int(f["Id"])] for f in failed if not f.get("SenderFault")]
            if len(retry) != len(failed):
                raise RuntimeError(f"SQS refused messages: {failed}")
            send(queue_url, retry)


def send_messages(messages: Sequence[Outgoing]) -> None:
    send(get_settings().send_queue_url, messages)


def send_job(job: dict[str, Any]) -> None:
    send(get_settings().control_queue_url, [Outgoing(job)])
