"""The local stack's stream pump retries a failing batch as Lambda does with our settings (bisect,
MaximumRetryAttempts, on-failure destination): one poison record neither blocks the others nor
disappears without a trace."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from chalice.app import DynamoDBEventConfig, SQSEventConfig

from local.pumps import SqsPump, StreamLog, StreamPump

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


class Follower:
    """A stream function that records what it was given; fails its first call when told to."""

    def __init__(self, fail_first: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail_first = fail_first

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        if self.fail_first:
            self.fail_first = False
            raise ValueError("a bad moment")
        self.batches.append([r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]])
        for record in event["Records"]:
            record["dynamodb"]["Keys"]["pk"]["S"] = "changed by the handler"


def test_followers_of_one_stream_log_each_get_every_record_in_order(moto_url: str) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=moto_url, region_name="us-east-1")
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_url, region_name="us-east-1")
    table = ddb.create_table(
        TableName="pump-test-log", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = table["TableDescription"]["LatestStreamArn"]
    keys = [f"k{n:03d}" for n in range(250)]
    for key in keys:
        ddb.put_item(TableName="pump-test-log", Item={"pk": {"S": key}})
    big, small = Follower(), Follower(fail_first=True)
    app = type("App", (), {"handler_map": {"big": big, "small": small}})()
    stream_log = StreamLog(streams, arn, limit=60)
    pumps = [StreamPump(app, name, DynamoDBEventConfig(
        name=name, handler_string=f"app.{name}", stream_arn=arn, batch_size=size,
        starting_position="TRIM_HORIZON", maximum_batching_window_in_seconds=0),
        streams, arn, backoff_seconds=0.001, stream_log=stream_log)
        for name, size in (("big", 100), ("small", 7))]
    while stream_log.read_once():
        pumps[0].poll_once()
    while sum(pump.poll_once() for pump in pumps):
        pass

    assert [key for batch in big.batches for key in batch] == keys
    assert max(len(batch) for batch in big.batches) <= 100
    # the failed first batch was given again (split, as Lambda does), then the rest in order
    seen = [key for batch in small.batches for key in batch]
    assert sorted(set(seen)) == keys and seen[-243:] == keys[7:]
    assert max(len(batch) for batch in small.batches) <= 7
    # a handler changing its records does not change what the other follower gets
    assert "changed by the handler" not in seen
    # what both have had is no longer kept
    assert all(not kept for kept in stream_log.records.values())


class Consumer:
    """An SQS-triggered function: keeps the size of each batch it is given."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.handler_map = {"consume": self.consume}

    def consume(self, event: Any, context: Any) -> dict[str, Any]:
        self.batches.append(len(list(event["Records"])))
        return {"batchItemFailures": []}


def test_an_sqs_pump_gathers_the_template_s_batch_within_its_window(moto_url: str) -> None:
    """As Lambda's poller with BatchSize 100 and a 1 s window: 25 messages arriving over half a
    second are one invocation, not three of at most 10."""
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue = sqs.create_queue(QueueName="pump-test-batching")["QueueUrl"]
    config = SQSEventConfig(name="consume", handler_string="app.consume",
                            queue="pump-test-batching", queue_arn=None, batch_size=10,
                            maximum_batching_window_in_seconds=0, maximum_concurrency=None)
    consumer = Consumer()
    pump = SqsPump(consumer, "consume", config, sqs, queue, 0, batching=(100, 1.0))
    for wave in range(5):
        sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(n), "MessageBody": json.dumps({"n": wave * 5 + n})} for n in range(5)])
        if wave == 0:
            pump.start()
        time.sleep(0.1)
    deadline = time.time() + 10
    while sum(consumer.batches) < 25 and time.time() < deadline:
        time.sleep(0.05)
    pump.stop()
    pump.join(5)  # its last long poll is over
    assert consumer.batches == [25]
    assert sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages") is None
    # without the template's batching: chalice's batch size, at once
    plain = SqsPump(consumer, "consume", config, sqs, queue, 1)
    sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": str(n), "MessageBody": "{}"} for n in range(10)])
    sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": str(n), "MessageBody": "{}"} for n in range(5)])
    assert plain.poll_once() == 10


def test_an_sqs_pump_delivers_the_share_of_duplicates_it_is_asked_for(moto_url: str) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name="us-east-1")
    queue = sqs.create_queue(QueueName="pump-test-duplicates")["QueueUrl"]
    config = SQSEventConfig(name="consume", handler_string="app.consume",
                            queue="pump-test-duplicates", queue_arn=None, batch_size=10,
                            maximum_batching_window_in_seconds=0, maximum_concurrency=None)
    pump = SqsPump(Consumer(), "consume", config, sqs, queue, 0, duplicate_share=0.25)
    sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": str(n), "MessageBody": json.dumps({"n": n})} for n in range(8)])
    assert pump.poll_once() == 8
    assert pump.duplicated == 2  # a quarter of them, delivered again within 5 s
