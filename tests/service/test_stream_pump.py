"""The local stack's stream pump retries a failing batch as Lambda does with our settings (bisect,
MaximumRetryAttempts, on-failure destination): one poison record neither blocks the others nor
disappears without a trace."""

from __future__ import annotations

import json
from typing import Any

import boto3
from chalice.app import DynamoDBEventConfig

from local.pumps import StreamPump

STREAM_ARN = ("arn:aws:dynamodb:us-east-1:123456789012:table/proactive-dev-messages/stream/"
              "2026-11-25T00:00:00.000")


def _record(sequence: int) -> dict[str, Any]:
    return {"eventID": f"event-{sequence}", "eventName": "MODIFY",
            "dynamodb": {"SequenceNumber": str(sequence), "Keys": {}}}


class App:
    """A handler that fails on every batch holding the poison record, like a bad image would."""

    def __init__(self, poison: str) -> None:
        self.poison = poison
        self.handled: list[str] = []
        self.handler_map = {"aggregate": self.aggregate}

    def aggregate(self, event: dict[str, Any], context: Any) -> None:
        numbers = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        if self.poison in numbers:
            raise ValueError("unreadable image")
        self.handled += numbers


def test_a_poison_record_is_isolated_and_kept_on_the_failure_queue(moto_url: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue = sqs.create_queue(QueueName="pump-test-stream-failures")["QueueUrl"]
    app = App(poison="105")
    config = DynamoDBEventConfig(name="aggregate", handler_string="app.aggregate",
                                 stream_arn=STREAM_ARN, batch_size=100,
                                 starting_position="TRIM_HORIZON",
                                 maximum_batching_window_in_seconds=0)
    pump = StreamPump(app, "aggregate", config, streams=None, stream_arn=STREAM_ARN, retries=10,
                      sqs=sqs, failure_queue_url=queue, backoff_seconds=0.001)
    pump.shard = "shardId-1"

    pump._deliver([_record(n) for n in range(100, 112)])

    # every other record was handled (some twice, as Lambda's bisect does), in order
    assert set(app.handled) == {str(n) for n in range(100, 112)} - {"105"}
    firsts = [app.handled.index(str(n)) for n in range(100, 112) if n != 105]
    assert firsts == sorted(firsts)
    # the poison record is described on the on-failure queue, as Lambda would
    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    body = json.loads(message["Body"])
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["DDBStreamBatchInfo"] == {
        "shardId": "shardId-1", "streamArn": STREAM_ARN, "startSequenceNumber": "105",
        "endSequenceNumber": "105", "batchSize": 1}
    assert pump.failed_records == 1
