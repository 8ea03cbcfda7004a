"""The local stack's moto patches (local/moto_server.py) still find what they patch.

A moto upgrade that moved one of them would otherwise show only as lost updates or missing stream
records in the slowest tests."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import moto.dynamodb.models as dynamodb_models
import moto.sqs.models as sqs_models
import pytest
from botocore.config import Config
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_server import werkzeug_app

from local import moto_server


def test_moto_is_the_version_the_patches_were_written_for() -> None:
    installed = importlib.metadata.version("moto")
    assert installed == moto_server.PATCHED_MOTO_VERSION, (
        f"moto {installed} is installed; local/moto_server.py patches moto "
        f"{moto_server.PATCHED_MOTO_VERSION}: re-check each patch, then update the constant")
    pins = (Path(__file__).resolve().parents[2] / "requirements-local.txt").read_text()
    assert f"moto[server]=={moto_server.PATCHED_MOTO_VERSION}" in pins


def test_each_patch_target_exists() -> None:
    # _transact_write_items replaces moto's, writing through put_item/delete_item/update_item.
    backend = dynamodb_models.DynamoDBBackend
    for name in ("transact_write_items", "put_item", "delete_item", "update_item", "get_item"):
        assert callable(getattr(backend, name))
    # _partition_queries narrows all_items() for Table.query and keeps a map of each GSI.
    assert "all_items" in Table.query.__code__.co_names or getattr(
        Table, "_partition_queries", False)
    assert {"items", "stream_shard", "global_indexes"} <= set(Table.__init__.__code__.co_names)
    # _cors_from_bucket_rules_only turns moto's allow-all CORS layer off.
    assert hasattr(werkzeug_app, "DISABLE_GLOBAL_CORS")
    # _stream_reads_as_json answers GetRecords from the streams backend's own result.
    assert "get_records" in DynamoDBStreamsHandler.get_records.__code__.co_names
    # _dispatch_lookups_cached answers these once per host.
    assert "list_of_moto_modules" in (
        werkzeug_app.DomainDispatcherApplication.get_backend_for_host.__code__.co_names) or (
        getattr(werkzeug_app.DomainDispatcherApplication, "_lookups_cached", False))
    # _after_start_key reads these arguments of Table.query (by name, from its signature).
    query = getattr(Table.query, "__wrapped__", Table.query)
    if not getattr(Table, "_partition_queries", False):
        assert {"hash_key", "exclusive_start_key", "scan_index_forward", "index_name",
                "hash_key_conditions"} <= set(inspect.signature(query).parameters)
    # _dynamodb_answers_as_json replaces how DynamoResult (data-plane answers) is written.
    assert callable(DynamoResult.execute_result)
    # _sqs_cheap_clock replaces the SQS models' clock and wraps SendMessage and Queue.attributes.
    assert callable(sqs_models.unix_time) and callable(sqs_models.unix_time_millis)
    assert isinstance(sqs_models.Queue.__dict__["attributes"], property)
    assert callable(sqs_models.SQSBackend.send_message)


def test_the_patches_apply_and_serialise_dynamodb() -> None:
    server = moto_server.MotoServer()
    try:
        assert getattr(Table, "_partition_queries", False)
        assert werkzeug_app.DISABLE_GLOBAL_CORS is True
        assert getattr(werkzeug_app.DomainDispatcherApplication, "_lookups_cached", False)
        assert getattr(DynamoDBStreamsHandler, "_reads_as_json", False)
        assert getattr(sqs_models, "_cheap_clock", False)
        assert getattr(DynamoResult, "_as_json", False)
        assert isinstance(server.server.app, moto_server.SerialisedDynamoDB)
    finally:
        server.server.server_close()


# --- behaviour of the patched emulator (in-process server, tables of their own) --------------

@pytest.fixture(scope="module")
def ddb() -> Iterator[Any]:
    server = moto_server.MotoServer().start()
    client = boto3.session.Session(region_name="us-east-1").client(
        "dynamodb", endpoint_url=server.url, aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(read_timeout=10, retries={"max_attempts": 1}))
    client.server = server
    for name in ("patch-a", "patch-b"):
        client.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("pk", "sk", "shard")],
            GlobalSecondaryIndexes=[{"IndexName": "shard-index", "KeySchema": [
                {"AttributeName": "shard", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"}}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    yield client
    server.stop()


def _item(pk: str, sk: str, **attrs: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}


def _shard(ddb: Any, table: str, shard: str) -> list[tuple[str, str]]:
    items = ddb.query(TableName=table, IndexName="shard-index",
                      KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "shard"},
                      ExpressionAttributeValues={":s": {"S": shard}})["Items"]
    return [(i["sk"]["S"], i.get("v", {}).get("S", "")) for i in items]


def test_a_request_on_one_table_does_not_wait_for_another_tables(ddb: Any) -> None:
    app = ddb.server.server.app
    held = app._locks(["patch-a"])
    for lock in held:
        lock.acquire()
    try:  # patch-a is busy (a long batch write, say): patch-b still answers at once
        ddb.put_item(TableName="patch-b", Item=_item("p", "free"))
        assert ddb.get_item(TableName="patch-b", Key=_item("p", "free"))["Item"]
    finally:
        for lock in held:
            lock.release()


def test_the_tables_a_request_names() -> None:
    named = moto_server.tables_named
    assert named("DynamoDB_20120810.GetItem", b'{"TableName": "t"}') == ["t"]
    assert sorted(named("DynamoDB_20120810.BatchWriteItem",
                        b'{"RequestItems": {"b": [], "a": []}}') or []) == ["a", "b"]
    assert named("DynamoDB_20120810.TransactWriteItems",
                 b'{"TransactItems": [{"Put": {"TableName": "t"}}]}') == ["t"]
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
    assert named("DynamoDBStreams_20120810.GetRecords",
                 json.dumps({"ShardIterator": arn + "|1|abc"}).encode()) == []
    assert named("DynamoDB_20120810.CreateTable", b'{"TableName": "t"}') is None
    assert named("DynamoDB_20120810.ExecuteStatement", b'{"Statement": "x"}') is None


def test_a_transaction_with_a_failed_condition_writes_nothing_and_copies_no_table(
        ddb: Any) -> None:
    ddb.put_item(TableName="patch-a", Item=_item("t", "1", v="old", shard="s1"))
    ddb.put_item(TableName="patch-a", Item=_item("t", "2", v="old", shard="s1"))
    streams = boto3.session.Session(region_name="us-east-1").client(
        "dynamodbstreams", endpoint_url=ddb.server.url, aws_access_key_id="testing",
        aws_secret_access_key="testing")
    arn = ddb.describe_table(TableName="patch-a")["Table"]["LatestStreamArn"]

    def records() -> int:
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return len(streams.get_records(ShardIterator=it, Limit=1000)["Records"])

    before = records()
    update = {"TableName": "patch-a", "UpdateExpression": "SET v = :n",
              "ExpressionAttributeValues": {":n": {"S": "new"}, ":o": {"S": "old"}},
              "ConditionExpression": "v = :o"}
    with mock.patch.object(Table, "__deepcopy__", create=True,
                           side_effect=AssertionError("the whole table was copied")):
        with pytest.raises(ddb.exceptions.TransactionCanceledException) as failed:
            ddb.transact_write_items(TransactItems=[
                {"Update": {**update, "Key": _item("t", "1")}},
                {"Update": {**update, "Key": _item("t", "2"), "ExpressionAttributeValues": {
                    ":n": {"S": "new"}, ":o": {"S": "other"}}}}])
        reasons = [r["Code"] for r in failed.value.response["CancellationReasons"]]
        assert reasons == ["None", "ConditionalCheckFailed"]
        assert records() == before  # no stream record of a write that did not happen
        ddb.transact_write_items(TransactItems=[
            {"Update": {**update, "Key": _item("t", "1")}},
            {"Put": {"TableName": "patch-a", "Item": _item("t", "3", v="put", shard="s1")}}])
    assert _shard(ddb, "patch-a", "s1") == [("1", "new"), ("2", "old"), ("3", "put")]
    assert records() == before + 2


def test_a_transaction_whose_write_fails_validation_is_undone(ddb: Any) -> None:
    ddb.put_item(TableName="patch-b", Item=_item("u", "1", v="old"))
    with pytest.raises(ddb.exceptions.ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": "patch-b", "Item": _item("u", "2", v="new")}},
            {"Update": {"TableName": "patch-b", "Key": _item("u", "1"),
                        "UpdateExpression": "SET v = :missing"}}])
    items = ddb.query(TableName="patch-b", KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "u"}})["Items"]
    assert [(i["sk"]["S"], i["v"]["S"]) for i in items] == [("1", "old")]


def test_queries_read_the_partition_and_the_index_as_writes_change_them(ddb: Any) -> None:
    for n in range(5):
        ddb.put_item(TableName="patch-b", Item=_item(f"q{n % 2}", f"{n}", v=f"{n}",
                                                      shard="due"))
    assert _shard(ddb, "patch-b", "due") == [(str(n), str(n)) for n in range(5)]
    # an update moves an item off the index, a put onto it, a delete and a batch write too
    ddb.update_item(TableName="patch-b", Key=_item("q0", "0"), UpdateExpression="REMOVE #s",
                    ExpressionAttributeNames={"#s": "shard"})
    ddb.update_item(TableName="patch-b", Key=_item("q1", "1"),
                    UpdateExpression="SET #s = :s", ExpressionAttributeNames={"#s": "shard"},
                    ExpressionAttributeValues={
                        ":s": {"S": "later"}})
    ddb.delete_item(TableName="patch-b", Key=_item("q0", "2"))
    ddb.batch_write_item(RequestItems={"patch-b": [
        {"PutRequest": {"Item": _item("q9", "9", v="9", shard="due")}}]})
    ddb.transact_write_items(TransactItems=[{"Update": {
        "TableName": "patch-b", "Key": _item("q0", "4"), "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": {":v": {"S": "four"}}}}])
    assert _shard(ddb, "patch-b", "due") == [("3", "3"), ("4", "four"), ("9", "9")]
    assert _shard(ddb, "patch-b", "later") == [("1", "1")]
    page = ddb.query(TableName="patch-b", KeyConditionExpression="pk = :p AND sk >= :s",
                     ExpressionAttributeValues={":p": {"S": "q0"}, ":s": {"S": "0"}}, Limit=1)
    assert [i["sk"]["S"] for i in page["Items"]] == ["0"] and page.get("LastEvaluatedKey")


def test_stream_records_read_back_every_attribute_type_and_their_time(ddb: Any) -> None:
    item = {**_item("types", "1"), "n": {"N": "1.5"}, "l": {"L": [{"S": "x"}, {"N": "2"}]},
            "m": {"M": {"z": {"BOOL": True}, "q": {"NULL": True}}}, "ss": {"SS": ["p", "q"]},
            "b": {"B": b"\x00\x01"}}
    ddb.put_item(TableName="patch-b", Item=item)
    ddb.update_item(TableName="patch-b", Key={"pk": {"S": "types"}, "sk": {"S": "1"}},
                    UpdateExpression="SET n = :v", ExpressionAttributeValues={":v": {"N": "3"}})
    streams = boto3.session.Session(region_name="us-east-1").client(
        "dynamodbstreams", endpoint_url=ddb.server.url, aws_access_key_id="testing",
        aws_secret_access_key="testing")
    arn = ddb.describe_table(TableName="patch-b")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = streams.get_records(ShardIterator=iterator, Limit=1000)
    records = [r for r in page["Records"] if r["dynamodb"]["Keys"]["pk"] == {"S": "types"}]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert records[0]["dynamodb"]["NewImage"] == item
    assert records[1]["dynamodb"]["OldImage"]["n"] == {"N": "1.5"}
    assert records[1]["dynamodb"]["NewImage"] == {**item, "n": {"N": "3"}}
    assert records[0]["dynamodb"]["ApproximateCreationDateTime"].year >= 2026
    assert streams.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []


def test_sqs_delays_visibility_counts_and_fifo_deduplication_hold(ddb: Any) -> None:
    # _sqs_cheap_clock: moto's SQS reads the time without datetimes and SendMessage no longer
    # computes every queue attribute; what a client sees must not change.
    sqs = boto3.session.Session(region_name="us-east-1").client(
        "sqs", endpoint_url=ddb.server.url, aws_access_key_id="testing",
        aws_secret_access_key="testing")
    url = sqs.create_queue(QueueName="patch-delays")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"],
            counts["ApproximateNumberOfMessagesDelayed"]) == ("1", "1")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    assert [m["Body"] for m in first["Messages"]] == ["now"]
    later = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=3)
    assert [m["Body"] for m in later["Messages"]] == ["later"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "2"
    fifo = sqs.create_queue(QueueName="patch-dedup.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["same"]
    plain = sqs.create_queue(QueueName="patch-nodedup.fifo", Attributes={
        "FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError):  # no deduplication id and no content dedup
        sqs.send_message(QueueUrl=plain, MessageBody="x", MessageGroupId="g")


def test_data_plane_answers_keep_every_attribute_type(ddb: Any) -> None:
    # _dynamodb_answers_as_json: GetItem, Query, BatchGetItem, TransactGetItems, UpdateItem
    # answer with json.dumps instead of moto's serializer; what a client reads must not change.
    item = {**_item("json", "1"), "n": {"N": "-1.25"}, "l": {"L": [{"S": "x"}, {"BOOL": False}]},
            "m": {"M": {"z": {"NULL": True}, "b": {"B": b"\x00\xff"}}}, "ss": {"SS": ["p", "q"]},
            "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x01", b"\x02"]}, "b": {"B": b"\x00\x01"}}
    ddb.put_item(TableName="patch-b", Item=item)
    key = {"pk": {"S": "json"}, "sk": {"S": "1"}}

    def same(got: dict[str, Any]) -> dict[str, Any]:  # sets come back in any order
        return {k: {t: sorted(v) if t in ("SS", "NS", "BS") else v for t, v in value.items()}
                for k, value in got.items()}

    assert same(ddb.get_item(TableName="patch-b", Key=key)["Item"]) == same(item)
    found = ddb.query(TableName="patch-b", KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": "json"}})["Items"]
    assert same(found[0]) == same(item)
    assert same(ddb.batch_get_item(RequestItems={"patch-b": {"Keys": [key]}})[
        "Responses"]["patch-b"][0]) == same(item)
    assert same(ddb.transact_get_items(TransactItems=[{"Get": {
        "TableName": "patch-b", "Key": key}}])["Responses"][0]["Item"]) == same(item)
    updated = ddb.update_item(TableName="patch-b", Key=key, UpdateExpression="SET n = :n",
                              ExpressionAttributeValues={":n": {"N": "7"}},
                              ReturnValues="ALL_NEW")["Attributes"]
    assert same(updated) == same({**item, "n": {"N": "7"}})
    assert "Attributes" not in ddb.update_item(TableName="patch-b", Key=key,
                                               UpdateExpression="SET n = :n",
                                               ExpressionAttributeValues={":n": {"N": "8"}})


def test_a_large_partition_is_read_page_by_page_in_order(ddb: Any) -> None:
    # _after_start_key: each page starts after its ExclusiveStartKey, in range-key order, both
    # ways, with a range condition and a filter, as moto answered before.
    keys = [f"{n:04d}" for n in range(0, 600, 3)]
    for start in range(0, len(keys), 25):
        ddb.batch_write_item(RequestItems={"patch-b": [
            {"PutRequest": {"Item": _item("pages", k, v="x" * (n % 7))}}
            for n, k in enumerate(keys[start:start + 25], start)]})

    def read(**extra: Any) -> list[str]:
        args: dict[str, Any] = {"TableName": "patch-b", "Limit": 17,
                                "KeyConditionExpression": "pk = :p",
                                "ExpressionAttributeValues": {":p": {"S": "pages"}}, **extra}
        if "sk" in str(extra.get("KeyConditionExpression", "")):
            args["ExpressionAttributeValues"] = {":p": {"S": "pages"}, ":s": {"S": "0300"}}
        out: list[str] = []
        while True:
            page = ddb.query(**args)
            out += [i["sk"]["S"] for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return out
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    assert read() == keys
    assert read(ScanIndexForward=False) == keys[::-1]
    assert read(KeyConditionExpression="pk = :p AND sk > :s") == [k for k in keys if k > "0300"]
    assert read(FilterExpression="attribute_exists(v) AND size(v) > :z",
                ExpressionAttributeValues={":p": {"S": "pages"}, ":z": {"N": "3"}}) == [
        k for n, k in enumerate(keys) if n % 7 > 3]
