"""Event pumps: deliver SQS messages, DynamoDB stream records and scheduled ticks to the same
handler functions Lambda would call (app.handler_map), with the same event shapes.

They read the event sources from the app object itself (app.event_sources), so a new handler in
app.py is pumped with no change here.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

log = logging.getLogger("proactive.pumps")

# The API's function, as chalice names it in the template (the event handlers are named after
# their handler: send_messages -> SendMessages).
API_FUNCTION = "APIHandler"
Invoker = Callable[[str, Callable[[], Any]], Any]


def _direct(function: str, call: Callable[[], Any]) -> Any:
    return call()


# How every invocation of a function is made: `invoker(function name, call)`. The tests replace
# it to know which function makes each AWS call (the IAM check against the function's role).
invoker: Invoker = _direct


def invoke(app: Any, handler: str, event: Any, context: Any) -> Any:
    """Call `handler` of `app` as Lambda would, through the current invoker."""
    return invoker(handler, lambda: app.handler_map[handler](event, context))


class LambdaContext:
    def __init__(self, name: str, timeout_seconds: float = 900) -> None:
        self.function_name = name
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self._deadline = time.time() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class Pump(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()
        self.errors = 0
        self.invocations = 0

    def stop(self) -> None:
        self.stopping.set()


class SqsPump(Pump):
    """One of Lambda's pollers of an SQS event source: receives a batch, invokes the handler,
    deletes what it did not report as failed.

    `batching` (size, window seconds) is the template's BatchSize and
    MaximumBatchingWindowInSeconds when it sets them (infra/resources/functions.yaml), else
    chalice's batch size and no window. As Lambda does, a batch larger than SQS's 10 per receive
    is gathered over several receives until it is full or the window (from its first message)
    has passed."""

    def __init__(self, app: Any, handler: str, config: SQSEventConfig, sqs: Any,
                 queue_url: str, worker: int, duplicate_share: float = 0.0,
                 batching: tuple[int, float] | None = None) -> None:
        super().__init__(f"sqs-{handler}-{worker}")
        self.app, self.handler, self.config = app, handler, config
        self.sqs, self.queue_url = sqs, queue_url
        self.batch_size, self.window_seconds = batching or (config.batch_size, 0.0)
        self.queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{config.queue}"
        # SQS is at-least-once: this share of received messages is delivered again later.
        self.duplicate_share = duplicate_share
        self.duplicated = self.received = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                self.errors += 1
                log.exception("sqs pump %s failed", self.handler)
                time.sleep(0.5)

    def _receive(self, wait_seconds: int, most: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, most),
            WaitTimeSeconds=wait_seconds, AttributeNames=["All"], MessageAttributeNames=["All"])
        return list(response.get("Messages") or [])

    def gather(self) -> list[dict[str, Any]]:
        """A batch: the first receive waits up to 1 s for a message; then more are received until
        the batch is full or its window has passed."""
        received = self._receive(1, self.batch_size)
        if not received or self.window_seconds <= 0:
            return received
        closes = time.monotonic() + self.window_seconds
        while len(received) < self.batch_size and not self.stopping.is_set():
            more = self._receive(0, self.batch_size - len(received))
            received.extend(more)
            left = closes - time.monotonic()
            if left <= 0:
                break
            if not more:
                time.sleep(min(left, 0.05))
        return received

    def poll_once(self) -> int:
        received = self.gather()
        if not received:
            return 0
        if self.duplicate_share:
            self._duplicate(received)
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {},
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn, "awsRegion": "us-east-1",
        } for m in received]}
        self.invocations += 1
        try:
            result = invoke(self.app, self.handler, event, LambdaContext(self.handler))
        except Exception:
            # Like Lambda: the whole batch becomes visible again after the visibility timeout.
            self.errors += 1
            log.exception("handler %s raised; batch left for retry", self.handler)
            return 0
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])} \
            if isinstance(result, dict) else set()
        done = [m for m in received if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start:start + 10])])
        return len(received)


    def _duplicate(self, received: list[dict[str, Any]]) -> None:
        """Every 1/duplicate_share-th message this pump receives is delivered again later (a
        count, not a draw: a test that asks for duplicates always gets them)."""
        every = max(1, round(1 / self.duplicate_share))
        copies = [m for n, m in enumerate(received, start=self.received + 1) if n % every == 0]
        self.received += len(received)
        for m in copies:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=m["Body"],
                                  DelaySeconds=random.randint(0, 5))
        self.duplicated += len(copies)


class StreamLog(Pump):
    """One reader of a table's stream for every function that follows it locally.

    On AWS each function's event source mapping reads the stream on its own; here three
    followers of the messages stream each reading (and moto serialising, and botocore parsing,
    every record with its images three times) was a third of the local stack's work while
    sending. The log reads each record once and keeps it until every follower has had it; each
    follower (StreamPump) still gets every record in order, in its own batches, with its own
    retries, as from its own mapping."""

    def __init__(self, streams: Any, stream_arn: str, limit: int = 1000) -> None:
        super().__init__("stream-log")
        self.streams, self.stream_arn, self.limit = streams, stream_arn, limit
        self.shards: list[str] = []
        self.records: dict[str, list[dict[str, Any]]] = {}  # shard -> records kept
        self.base: dict[str, int] = {}  # shard -> position of records[shard][0] in the shard
        self.followers: list[StreamPump] = []
        self.changed = threading.Condition()
        self._iterators: dict[str, str] = {}
        self._last: dict[str, str] = {}  # shard -> sequence number of the last record read

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.read_once() == 0:
                    time.sleep(0.1)
            except Exception:
                self.errors += 1
                self._iterators.clear()  # read again after the last record kept
                log.exception("stream reader failed")
                time.sleep(0.5)

    def read_once(self) -> int:
        if not self.shards:
            shards = [shard["ShardId"] for shard in self.streams.describe_stream(
                StreamArn=self.stream_arn)["StreamDescription"]["Shards"]]
            with self.changed:
                for shard in shards:
                    self.records.setdefault(shard, [])
                    self.base.setdefault(shard, 0)
                self.shards = shards
        read = 0
        for shard_id in self.shards:
            iterator = self._iterators.pop(shard_id, "") or self._iterator(shard_id)
            response = self.streams.get_records(ShardIterator=iterator, Limit=self.limit)
            records = response.get("Records") or []
            for record in records:
                _lambda_shape(record, self.stream_arn)
            if records:
                with self.changed:
                    self.records[shard_id].extend(records)
                    self.changed.notify_all()
                self._last[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                read += len(records)
            following = response.get("NextShardIterator") or ""
            if following:
                self._iterators[shard_id] = following
        return read

    def _iterator(self, shard_id: str) -> str:
        last = self._last.get(shard_id)
        if last is None:
            return str(self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id,
                ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
        return str(self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=last)["ShardIterator"])

    def take(self, shard_id: str, position: int, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` records of the shard from `position` (records delivered so far)."""
        with self.changed:
            start = position - self.base.get(shard_id, 0)
            return list(self.records.get(shard_id, [])[start:start + limit])

    def delivered(self) -> None:
        """Forget the records every follower has had."""
        with self.changed:
            for shard_id, kept in self.records.items():
                done = min((f.offsets.get(shard_id, 0) for f in self.followers), default=0)
                drop = done - self.base[shard_id]
                if drop > 0:
                    del kept[:drop]
                    self.base[shard_id] = done

    def wait(self, seconds: float) -> None:
        with self.changed:
            self.changed.wait(seconds)


def _lambda_shape(record: dict[str, Any], stream_arn: str) -> None:
    """As Lambda hands a stream record over: its source ARN, its creation time in seconds."""
    record.setdefault("eventSourceARN", stream_arn)
    ddb = record.get("dynamodb", {})
    if isinstance(ddb.get("ApproximateCreationDateTime"), datetime):
        ddb["ApproximateCreationDateTime"] = ddb["ApproximateCreationDateTime"].timestamp()


class StreamPump(Pump):
    """Reads every shard of a table's stream from the start and calls the handler per batch;
    from a StreamLog shared with the stream's other followers when given one."""

    def __init__(self, app: Any, handler: str, config: DynamoDBEventConfig, streams: Any,
                 stream_arn: str, retries: int = 10, sqs: Any = None,
                 failure_queue_url: str = "", backoff_seconds: float = 0.1,
                 stream_log: StreamLog | None = None) -> None:
        super().__init__(f"stream-{handler}")
        self.app, self.handler, self.config = app, handler, config
        self.streams, self.stream_arn, self.retries = streams, stream_arn, retries
        self.sqs, self.failure_queue_url = sqs, failure_queue_url
        self.backoff_seconds = backoff_seconds
        self.positions: dict[str, str] = {}  # shard -> last sequence number delivered
        self.iterators: dict[str, str] = {}  # shard -> the iterator after that record
        self.offsets: dict[str, int] = {}  # shard -> records delivered (from a StreamLog)
        self.shard = ""  # the shard being delivered
        self.shards: list[str] = []  # the stream's shards (one on moto; read once)
        self.failed_records = 0
        self.stream_log = stream_log
        if stream_log is not None:
            stream_log.followers.append(self)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                if self.poll_once() == 0:
                    if self.stream_log is not None:
                        self.stream_log.wait(0.2)
                    else:
                        time.sleep(0.2)
            except Exception:
                self.errors += 1
                self.iterators.clear()  # start again from the positions delivered
                log.exception("stream pump %s failed", self.handler)
                time.sleep(0.5)

    def poll_once(self) -> int:
        if self.stream_log is not None:
            return self._poll_log(self.stream_log)
        if not self.shards:
            self.shards = [shard["ShardId"] for shard in self.streams.describe_stream(
                StreamArn=self.stream_arn)["StreamDescription"]["Shards"]]
        delivered = 0
        for shard_id in self.shards:
            # The iterator the last read returned (one request per poll, as Lambda reads a
            # shard); a new one after the last record delivered when there is none.
            last = self.positions.get(shard_id)
            iterator = self.iterators.pop(shard_id, "")
            if iterator:
                pass
            elif last is None:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id,
                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            else:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    SequenceNumber=last)["ShardIterator"]
            response = self.streams.get_records(ShardIterator=iterator,
                                                Limit=self.config.batch_size)
            records = response.get("Records") or []
            following = response.get("NextShardIterator") or ""
            if records:
                for record in records:
                    _lambda_shape(record, self.stream_arn)
                self.shard = shard_id
                self._deliver(records)
                delivered += len(records)
                self.positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            if following and not self.stopping.is_set():
                self.iterators[shard_id] = following
        return delivered

    def _poll_log(self, stream_log: StreamLog) -> int:
        delivered = 0
        for shard_id in list(stream_log.shards):
            position = self.offsets.get(shard_id, 0)
            records = stream_log.take(shard_id, position, self.config.batch_size)
            if not records:
                continue
            # Each follower its own copy (a handler may change the records it is given).
            records = json.loads(json.dumps(records))
            self.shard = shard_id
            self._deliver(records)
            if self.stopping.is_set():
                break  # stopped mid-batch: not counted as delivered
            delivered += len(records)
            self.offsets[shard_id] = position + len(records)
            self.positions[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
        if delivered:
            stream_log.delivered()
        return delivered

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        """As Lambda does with this stream's settings (infra/resources/functions.yaml): a batch
        that fails is split in two and each half retried in order (BisectBatchOnFunctionError),
        with backoff, up to `retries` times; what still fails is described on the on-failure
        queue and logged, never skipped silently."""
        batches = [(records, 0)]
        while batches and not self.stopping.is_set():
            batch, tries = batches.pop(0)
            try:
                self.invocations += 1
                invoke(self.app, self.handler, {"Records": batch},
                       LambdaContext(self.handler))
                continue
            except Exception:
                self.errors += 1
                log.exception("stream handler %s failed on %d records (try %d)", self.handler,
                              len(batch), tries + 1)
            if tries >= self.retries:
                self._give_up(batch)
                continue
            time.sleep(min(2.0, self.backoff_seconds * 2 ** tries))
            half = max(1, len(batch) // 2)
            batches[:0] = [(part, tries + 1) for part in (batch[:half], batch[half:]) if part]

    def _give_up(self, batch: list[dict[str, Any]]) -> None:
        self.failed_records += len(batch)
        numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        info = {"shardId": self.shard, "streamArn": self.stream_arn,
                "startSequenceNumber": numbers[0], "endSequenceNumber": numbers[-1],
                "batchSize": len(batch)}
        log.error("stream batch failed every retry; sent to the on-failure queue: %s", info)
        if self.sqs is not None and self.failure_queue_url:
            self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=json.dumps({
                "requestContext": {"condition": "RetryAttemptsExhausted",
                                   "functionArn": LambdaContext(self.handler)
                                   .invoked_function_arn},
                "DDBStreamBatchInfo": info}))


class SchedulePump(Pump):
    """EventBridge schedules do not fire on moto: tick the scheduled handlers ourselves."""

    def __init__(self, app: Any, handler: str, config: ScheduledEventConfig,
                 every_seconds: float) -> None:
        super().__init__(f"schedule-{handler}")
        self.app, self.handler, self.config = app, handler, config
        self.every_seconds = every_seconds

    def run(self) -> None:
        while not self.stopping.wait(self.every_seconds):
            self.tick()

    def tick(self) -> Any:
        event = {
            "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "us-east-1",
            "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{self.handler}"],
            "detail": {},
        }
        try:
            self.invocations += 1
            return invoke(self.app, self.handler, event, LambdaContext(self.handler))
        except Exception:
            self.errors += 1
            log.exception("scheduled handler %s failed", self.handler)
            return None


class S3Pump(Pump):
    """S3 notifications do not reach functions on moto: list the uploads prefix and deliver an
    ObjectCreated:Put event (the shape Lambda gets) for every new object to the handler.

    Listing rather than a bucket notification to a queue: it needs nothing of moto's
    notification support, and a key is delivered once per ETag, like S3 after a new PUT.
    """

    def __init__(self, app: Any, handler: str, s3: Any, bucket: str, prefix: str,
                 every_seconds: float = 1.0) -> None:
        super().__init__(f"s3-{handler}")
        self.app, self.handler, self.s3 = app, handler, s3
        self.bucket, self.prefix, self.every_seconds = bucket, prefix, every_seconds
        self.seen: dict[str, str] = {}  # key -> ETag delivered

    def run(self) -> None:
        while not self.stopping.wait(self.every_seconds):
            try:
                self.poll_once()
            except Exception:
                self.errors += 1
                log.exception("s3 pump %s failed", self.handler)

    def poll_once(self) -> int:
        delivered = 0
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents") or []:
                key, etag = obj["Key"], obj["ETag"].strip('"')
                if self.seen.get(key) == etag:
                    continue
                self.seen[key] = etag
                self.deliver(key, int(obj["Size"]), etag)
                delivered += 1
        return delivered

    def deliver(self, key: str, size: int, etag: str) -> Any:
        event = {"Records": [s3_record(self.bucket, key, size, etag)]}
        try:
            self.invocations += 1
            return invoke(self.app, self.handler, event, LambdaContext(self.handler))
        except Exception:
            self.errors += 1
            log.exception("s3 handler %s failed for %s", self.handler, key)
            return None


def s3_record(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    """One record of an S3 ObjectCreated event as Lambda receives it (key URL-encoded)."""
    from urllib.parse import quote_plus

    return {
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:LOCAL"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                             "x-amz-id-2": uuid.uuid4().hex},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "parse-uploads",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "LOCAL"},
                       "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag,
                       "sequencer": f"{int(time.time() * 1e6):016X}"},
        },
    }
