"""moto server on loopback, with DynamoDB requests applied one at a time.

Real DynamoDB applies each request atomically. moto's threaded server does not: a transaction
that fails restores a deep copy of the whole table taken when it started, silently undoing the
writes other requests made meanwhile (and orphaning stream iterators). Under our concurrent
consumers that would fake lost updates and double sends that AWS never produces, so DynamoDB
(and DynamoDB Streams) requests are serialised here. SQS long polls are not, so they stay cheap.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import inspect
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, cast

from moto import backends
from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    create_backend_app,
)

_SERIALISED_TARGETS = ("DynamoDB_20120810", "DynamoDBStreams_20120810")
# The moto release the patches below were written against (requirements-dev.txt pins it; a fast
# test, tests/unit/test_moto_patches.py, fails on any other version or a patch that no longer
# finds its target, so an upgrade fails in seconds, not in the chaos test).
PATCHED_MOTO_VERSION = "5.2.5"


class FairLock:
    """A lock handed over in arrival order: under a busy table no request waits behind an
    unbounded stream of later ones (threading.Lock lets the releasing thread take it again)."""

    def __init__(self) -> None:
        self._turns = threading.Condition(threading.Lock())
        self._next = 0
        self._serving = 0

    def acquire(self) -> None:
        with self._turns:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._turns.wait()

    def release(self) -> None:
        with self._turns:
            self._serving += 1
            self._turns.notify_all()


class SerialisedDynamoDB:
    """DynamoDB (and DynamoDB Streams) requests applied one at a time *per table*.

    moto is not safe for two requests on one table at once (a conditional write reads, checks
    and writes in three steps; a query iterates the table's dicts), but it is for requests on
    different tables: they share nothing but the dict of tables, which only CreateTable and
    DeleteTable change. So each request holds the locks of the tables it names (in name order,
    so two requests never wait for each other crosswise); one that names none we know of holds
    them all. A page's GET then no longer waits behind a 100k-row list being written to the
    messages table, nor the stream aggregation behind the fan-out."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()  # guards `locks`
        self.locks: dict[str, FairLock] = {}

    def _locks(self, tables: list[str] | None) -> list[FairLock]:
        with self.lock:
            if tables is None:
                return [self.locks[name] for name in sorted(self.locks)]
            return [self.locks.setdefault(name, FairLock()) for name in sorted(tables)]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(_SERIALISED_TARGETS):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        tables = tables_named(target, body)
        locks = self._locks(tables)
        began = time.monotonic()
        for lock in locks:
            lock.acquire()
        held = time.monotonic()
        try:
            # Materialise the body while holding the locks.
            return list(self.app(environ, start_response))
        finally:
            for lock in reversed(locks):
                lock.release()
            done = time.monotonic()
            if SLOW_SECONDS and done - began > SLOW_SECONDS:
                log.warning("slow DynamoDB request %s on %s: waited %.1f s, held %.1f s",
                            target, tables, held - began, done - held)


# MOTO_SLOW_SECONDS=n: log each DynamoDB request that took longer (waiting + applying).
SLOW_SECONDS = float(os.environ.get("MOTO_SLOW_SECONDS") or 0)
log = logging.getLogger("proactive.moto")



def tables_named(target: str, body: bytes) -> list[str] | None:
    """The tables a DynamoDB or Streams request reads or writes; None: not known (all)."""
    operation = target.split(".", 1)[-1]
    if target.startswith("DynamoDBStreams_"):
        # Stream reads hold no lock: records are only ever appended, a transaction's all at
        # once when it succeeds (_staged_stream_records), and reading them (moto serialises
        # each attribute by the API model) was what kept the messages table busy.
        return []
    if operation in ("ListTables", "DescribeLimits", "DescribeEndpoints", "ListStreams"):
        return []  # reads the dict of tables only
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(request, dict):
        return None
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return list(request.get("RequestItems") or {}) or None
    if operation in ("TransactWriteItems", "TransactGetItems"):
        names = {op.get("TableName") for entry in request.get("TransactItems") or []
                 for op in entry.values() if isinstance(op, dict)}
        return None if not names or None in names else [str(n) for n in names]
    name = request.get("TableName")
    if isinstance(name, str) and not name.startswith("arn:") and operation not in (
            "CreateTable", "DeleteTable", "RestoreTableFromBackup",
            "RestoreTableToPointInTime", "ImportTable"):
        return [name]
    return None


# --- transactions undo only what they wrote -------------------------------------------------------
# moto 5.2's TransactWriteItems deep-copies every table it touches (once per item of the
# transaction) before writing, and puts the copies back if any item fails: a 100-item transaction
# on a table of N items costs 100 x N item copies (the launch fan-out on a 100k list: ~10^9). The
# same semantics cheaper: first every item's condition is checked (the items of a transaction are
# distinct, so a check cannot depend on another item's write), and a transaction with a failed
# check writes nothing at all; only then are the writes applied, after a copy of just the items
# they touch, put back (with the stream records they added removed) should a write fail
# validation. Safe because each table's requests are serialised (above).

def _item_key(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _restore_item(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if range_value is not None:
        if item is None:
            table.items.get(hash_value, {}).pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item
    elif item is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = item
    _mark_dirty(table, hash_value, range_value)


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    import copy

    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    errors: list[Any] = []
    plan: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    # 1. Every condition, nothing written.
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        original_item = None
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            if op_type == "Put":
                table = self.get_table(table_name)
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                              op.get("ExpressionAttributeValues"))
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            plan.append((op_type, table_name, key, op))
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original_item))
        except Exception as error:  # noqa: BLE001 - moto reports each item's error
            errors.append((type(error).__name__, str(error), original_item))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    # 2. The writes, after a copy of only the items they touch.
    saved: list[tuple[Any, Any, Any, Any]] = []
    shards: dict[int, Any] = {}
    for op_type, table_name, key, _ in plan:
        if op_type == "ConditionCheck":
            continue
        table = self.get_table(table_name)
        hash_value, range_value = _item_key(table, key)
        saved.append((table, hash_value, range_value,
                      copy.deepcopy(table.get_item(hash_value, range_value))))
        if table.stream_shard is not None:
            shards[id(table)] = table.stream_shard
    for shard in shards.values():  # set last: nothing above may leave a shard staging
        shard._staging = []
    failed_at = 0
    try:
        for position, (op_type, table_name, key, op) in enumerate(plan):
            failed_at = position
            names, values = op.get("ExpressionAttributeNames"), op.get(
                "ExpressionAttributeValues")
            condition = op.get("ConditionExpression")
            if op_type == "Put":
                self.put_item(table_name, op["Item"], condition_expression=condition,
                              expression_attribute_names=names,
                              expression_attribute_values=values)
            elif op_type == "Delete":
                self.delete_item(table_name, key, condition_expression=condition,
                                 expression_attribute_names=names,
                                 expression_attribute_values=values)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                 condition_expression=condition,
                                 expression_attribute_names=names,
                                 expression_attribute_values=values)
    except Exception as error:
        for table, hash_value, range_value, item in reversed(saved):
            _restore_item(table, hash_value, range_value, item)
        for shard in shards.values():
            del shard._staging  # its records are dropped, never seen by a reader
        if isinstance(error, (MultipleTransactionsException, MockValidationException)):
            raise
        failed: list[Any] = [(None, None, None)] * len(plan)
        failed[failed_at] = (type(error).__name__, str(error), None)
        raise TransactionCanceledException(failed) from error
    for shard in shards.values():  # all of the transaction's records at once
        staged = shard._staging
        del shard._staging
        shard.items.extend(staged)


def _staged_stream_records() -> None:
    """StreamShard.add keeps a transaction's records aside (shard._staging) until it commits."""
    from moto.dynamodb.models.table import StreamRecord, StreamShard

    if getattr(StreamShard, "_staged", False):
        return
    original = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        staging = getattr(self, "_staging", None)
        if staging is None:
            original(self, old, new)
            return
        view = self.table.stream_specification["StreamViewType"]
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        seq = len(self.items) + len(staging) + self.starting_sequence_number
        staging.append(StreamRecord(self.table, view, event, old, new, seq))

    StreamShard.add = add  # type: ignore[method-assign]
    StreamShard._staged = True  # type: ignore[attr-defined]


# --- queries that read the partition or the index, not the whole table ---------------------------
# moto 5.2's Table.query sorts every item of the table (all_items) for each query, on the table
# or on an index, and keeps those of the partition: with 100k messages, each of the release
# schedule's twenty due-index queries per tick and each page of a campaign's recipients cost a
# sort of the whole table. Here a table query reads its partition only, and a GSI query the items
# holding that index key value, from a map kept per table and brought up to date (the keys
# written since) before each index query. moto's query then runs as before on those items.

def _mark_dirty(table: Any, hash_value: Any, range_value: Any) -> None:
    cache = getattr(table, "_gsi_cache", None)
    if cache is not None:
        cache["dirty"].add((hash_value, range_value))


def _gsi_attrs(table: Any) -> list[str]:
    attrs = []
    for index in table.global_indexes:
        hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
        if len(hashes) == 1:
            attrs.append(hashes[0])
    return attrs


def _index_items(table: Any, attr: str, value: Any) -> list[Any]:
    cache = getattr(table, "_gsi_cache", None)
    if cache is None:
        cache = {"entries": {a: {} for a in _gsi_attrs(table)}, "where": {}, "dirty": set()}
        for item in _table_items(table):
            cache["dirty"].add((item.hash_key, item.range_key))
        table._gsi_cache = cache
    entries, where, dirty = cache["entries"], cache["where"], cache["dirty"]
    while dirty:
        hash_value, range_value = pk = dirty.pop()
        for name, old in where.pop(pk, {}).items():
            entries[name].get(old, {}).pop(pk, None)
        item = table.get_item(hash_value, range_value) if (
            range_value is not None or not table.range_key_attr) else None
        if item is None:
            continue
        placed = {}
        for name in entries:
            found = item.attrs.get(name)
            if found is not None and found.type == "S":
                entries[name].setdefault(found, {})[pk] = item
                placed[name] = found
        if placed:
            where[pk] = placed
    return list(entries.get(attr, {}).get(value, {}).values())


def _table_items(table: Any) -> list[Any]:
    if table.range_key_attr:
        return [item for part in table.items.values() for item in part.values()]
    return list(table.items.values())


def _after_start_key(table: Any, items: list[Any], start_key: dict[str, Any] | None,
                     forward: bool | None) -> list[Any]:
    """A partition's items in range-key order (sorted with a key function, not moto's
    DynamoType comparisons), from after the page's ExclusiveStartKey: moto sorts the whole
    partition and walks it to the start key for every page, so reading a 100,000-row campaign
    page by page cost ~35 sorts and walks of 100,000 items (half of moto's time at launch)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    items.sort(key=lambda item: item.range_key.cast_value)
    if not start_key or forward is False or table.range_key_attr not in start_key:
        return items
    start = DynamoType(start_key[table.range_key_attr]).cast_value
    values = [item.range_key.cast_value for item in items]
    return items[bisect.bisect_right(values, start):]


def _partition_queries() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import GlobalSecondaryIndex, Table

    if getattr(Table, "_partition_queries", False):
        return
    query, put_item, delete_item = Table.query, Table.put_item, Table.delete_item
    update_item = DynamoDBBackend.update_item

    def candidates(table: Any, hash_key: Any, index_name: str | None,
                   conditions: list[Any] | None) -> list[Any] | None:
        if index_name is None:
            if hash_key is None or not table.range_key_attr:
                return None
            return list(table.items.get(hash_key, {}).values())
        index = next((i for i in table.global_indexes if i.name == index_name), None)
        if not isinstance(index, GlobalSecondaryIndex) or not conditions or len(conditions) != 1:
            return None
        attr, value = conditions[0]
        if attr not in _gsi_attrs(table) or [k["AttributeName"] for k in index.schema
                                             if k["KeyType"] == "HASH"] != [attr]:
            return None
        if getattr(value, "type", None) != "S":
            return None
        return _index_items(table, attr, value)

    signature = inspect.signature(query)

    def patched_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        call = signature.bind(self, *args, **kwargs).arguments
        index_name = call.get("index_name")
        found = candidates(self, call.get("hash_key"), index_name,
                           call.get("hash_key_conditions"))
        if found is None:
            return query(self, *args, **kwargs)
        if index_name is None:
            found = _after_start_key(self, found, call.get("exclusive_start_key"),
                                     call.get("scan_index_forward"))
        self.all_items = lambda: found
        try:
            return query(self, *args, **kwargs)
        finally:
            del self.all_items

    def patched_put(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        _mark_dirty(self, item.hash_key, item.range_key)
        return item

    def patched_delete(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return delete_item(self, hash_key, range_key)
        finally:
            _mark_dirty(self, hash_key, range_key)

    def patched_update(self: Any, table_name: str, key: dict[str, Any], *args: Any,
                       **kwargs: Any) -> Any:
        try:
            return update_item(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            if table is not None and getattr(table, "_gsi_cache", None) is not None:
                with contextlib.suppress(KeyError):
                    _mark_dirty(table, *_item_key(table, key))

    Table.query = patched_query  # type: ignore[method-assign]
    Table.put_item = patched_put  # type: ignore[method-assign]
    Table.delete_item = patched_delete  # type: ignore[method-assign]
    DynamoDBBackend.update_item = patched_update  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table._partition_queries = True  # type: ignore[attr-defined]
    _staged_stream_records()


# --- finding the service of a request -----------------------------------------------------------
# moto's server finds the service of every request under one lock for all requests, by listing its
# own package folder (a stat of each of ~170 folders) and trying its URL patterns in turn: 40% of
# moto's time while a 100,000-row list is stored (py-spy). Both depend on the host alone.

def _dispatch_lookups_cached() -> None:
    if getattr(DomainDispatcherApplication, "_lookups_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    original = DomainDispatcherApplication.get_backend_for_host

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host is None:
            return None
        known: dict[str, Any] = self.__dict__.setdefault("_backend_of_host", {})
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = (  # type: ignore[method-assign]
        get_backend_for_host)
    DomainDispatcherApplication._lookups_cached = True  # type: ignore[attr-defined]


def _stream_reads_as_json() -> None:
    """GetRecords answered with moto's own DynamoDB JSON encoder (what its DynamoDB answers use)
    instead of its generic serializer, which walks every attribute of every record against the
    API model: most of moto's busy time while the stream pumps follow a large list's writes."""
    from moto.dynamodb.models.utilities import dynamo_json_dump
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    if getattr(DynamoDBStreamsHandler, "_reads_as_json", False):
        return

    def get_records(self: Any) -> str:
        limit = self._get_param("Limit")
        result = self.backend.get_records(self._get_param("ShardIterator"),
                                          1000 if limit is None else limit)
        return dynamo_json_dump(result)

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[assignment,method-assign]
    DynamoDBStreamsHandler._reads_as_json = True  # type: ignore[attr-defined]


# --- DynamoDB answers as JSON ------------------------------------------------------------------
# moto answers every DynamoDB call through its generic serializer, which walks each attribute of
# each item against the API model (a third of its time while a launch reads a 100,000-row
# campaign). The data-plane answers are DynamoDB JSON already: written with json.dumps, binary
# values in base64 as the API sends them.

_DATA_PLANE = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
                         "BatchGetItem", "BatchWriteItem", "TransactGetItems",
                         "TransactWriteItems"})


def _dynamodb_answers_as_json() -> None:
    import base64

    from moto.dynamodb.responses import DynamoResult

    if getattr(DynamoResult, "_as_json", False):
        return
    execute_result = DynamoResult.execute_result

    def as_json(self: Any, context: Any) -> Any:
        if context.operation_model.name not in _DATA_PLANE or not isinstance(self.result, dict):
            return execute_result(self, context)

        def binary(value: Any) -> Any:
            if isinstance(value, (bytes, bytearray)):
                return base64.b64encode(value).decode()
            if isinstance(value, (set, frozenset)):
                return sorted(value)
            if hasattr(value, "timestamp"):
                return value.timestamp()
            raise TypeError(f"{type(value).__name__} is not JSON")

        body = json.dumps({k: v for k, v in self.result.items() if v is not None},
                          default=binary, separators=(",", ":"))
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = as_json  # type: ignore[method-assign]
    DynamoResult._as_json = True  # type: ignore[attr-defined]


# --- SQS without a calendar per message ---------------------------------------------------------
# moto's SQS asks "visible? delayed?" of every message of a queue at each receive (and each long
# poll's wake-up), each answer building two datetimes (unix_time_millis), and every SendMessage
# (and every message a ReceiveMessage hands out) computes all of the queue's attributes, three
# passes over its messages, to read one setting:
# with a few thousand delayed sends on the queue, moto's process was busy with clocks (py-spy:
# half of its time) while the consumers' reads waited. Same answers, from time.time().

_in_send = threading.local()


def _sqs_cheap_clock() -> None:
    from moto.sqs import models as sqs_models

    if getattr(sqs_models, "_cheap_clock", False):
        return
    slow_unix_time = sqs_models.unix_time  # type: ignore[attr-defined]

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(slow_unix_time(dt))

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    sqs_models.unix_time = unix_time  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]
    queue_cls, backend_cls = sqs_models.Queue, sqs_models.SQSBackend
    attributes = queue_cls.attributes

    def cheap_attributes(self: Any) -> dict[str, Any]:
        if getattr(_in_send, "active", False):
            # All that SendMessage reads of them: the FIFO deduplication setting.
            return ({"ContentBasedDeduplication": str(bool(
                self.content_based_deduplication)).lower()} if self.fifo_queue else {})
        return cast(dict[str, Any], attributes.fget(self))  # type: ignore[attr-defined]

    send_message = backend_cls.send_message

    def sending(self: Any, *args: Any, **kwargs: Any) -> Any:
        _in_send.active = True
        try:
            return send_message(self, *args, **kwargs)
        finally:
            _in_send.active = False

    def retained(self: Any, queue_name: str, message: Any) -> bool:
        # moto computes every attribute of the queue for each message it hands out.
        period = float(self.get_queue(queue_name).message_retention_period)
        return bool(period + message.sent_timestamp / 1000 > time.time())

    queue_cls.attributes = property(cheap_attributes)  # type: ignore[assignment,method-assign]
    backend_cls.send_message = sending  # type: ignore[method-assign]
    backend_cls.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign]
    sqs_models._cheap_clock = True  # type: ignore[attr-defined]


# --- CORS as AWS answers it -------------------------------------------------------------------
# moto's server wraps every service in a CORS layer that allows any origin, method and header, so
# a browser's PUT to a pre-signed S3 URL would work locally even if the bucket had no CORS rules
# (infra/resources/storage.yaml), and fail only on AWS. Without that layer, S3 answers preflights
# and requests with the bucket's own CORS rules, as AWS does (the backends are created lazily, so
# this must run before the first request).

def _cors_from_bucket_rules_only() -> None:
    werkzeug_app.DISABLE_GLOBAL_CORS = True  # type: ignore[attr-defined]
    _cors_on_form_posts()


def _cors_on_form_posts() -> None:
    """moto answers a browser's form POST to a bucket (the pre-signed upload form) without the
    CORS headers of the bucket's rules, which S3 sends: the browser would refuse the answer."""
    from moto.s3.responses import S3Response

    if getattr(S3Response, "_cors_on_form_posts", False):
        return
    original = S3Response._bucket_response_post

    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        answer = original(self, request, bucket_name)
        if isinstance(answer, tuple) and len(answer) == 3:
            status, headers, body = answer
            return status, {**self._get_cors_headers_other(), **(headers or {})}, body
        return answer

    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]
    S3Response._cors_on_form_posts = True  # type: ignore[attr-defined]


# Threads answering moto's requests: SQS long polls (each pump's ReceiveMessage waits up to 1 s)
# hold one each, and the send consumers' threads make many calls at once.
MOTO_THREADS = 96
# An idle kept-alive connection is closed after this long (the clients open a new one).
IDLE_CONNECTION_SECONDS = 120


class KeepAliveServer:
    """moto's WSGI app served with HTTP/1.1 keep-alive (cheroot).

    werkzeug's development server, which moto's own server uses, closes the connection after
    every answer and then waits up to 10 ms for the client to hang up: every AWS call of the
    local stack paid a TCP connect, a teardown and that wait (~270 calls/s at most on one
    core; ~8,000 sockets in TIME-WAIT after a minute). AWS endpoints keep connections alive, as
    botocore expects."""

    def __init__(self, host: str, port: int, app: Any) -> None:
        from cheroot import wsgi

        self.app = app
        self.http = wsgi.Server((host, port), app, numthreads=MOTO_THREADS,
                                request_queue_size=256, timeout=IDLE_CONNECTION_SECONDS,
                                shutdown_timeout=2)
        # Every client connection may stay open.
        self.http.keep_alive_conn_limit = None  # type: ignore[assignment]
        self.http.prepare()  # binds: a port 0 is now the port chosen
        self.server_address: tuple[str, int] = self.http.bind_addr

    def serve_forever(self) -> None:
        self.http.serve()

    def shutdown(self) -> None:
        self.http.stop()

    def server_close(self) -> None:
        if self.http.ready:
            self.http.stop()


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        logging.getLogger("cheroot").setLevel(logging.ERROR)
        _partition_queries()
        _dispatch_lookups_cached()
        _stream_reads_as_json()
        _dynamodb_answers_as_json()
        _sqs_cheap_clock()
        _cors_from_bucket_rules_only()
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self.server = KeepAliveServer(host, port, app)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto",
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MotoServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class MotoProcess:
    """The same server in a child process (`python -m local.moto_server`).

    moto does most of the local stack's work; in its own process it runs on its own core instead
    of competing for one interpreter lock with the API, the pumps and the consumers, whose send
    slots are timed. The child exits when this process goes away (its stdin closes)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.process: subprocess.Popen[str] | None = None
        self._url = ""

    @property
    def url(self) -> str:
        return self._url

    def start(self, timeout: float = 60.0) -> MotoProcess:
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.moto_server", "--host", self.host,
             "--port", str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root, env=env)
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(
            cast(IO[str], self.process.stdout).readline() if self.process else ""), daemon=True)
        reader.start()
        reader.join(timeout)
        line = ready[0].strip() if ready else ""
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"moto server did not start: {line or 'no answer'}")
        self._url = line
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()
        self.process = None


def _exit_when_parent_goes() -> None:
    sys.stdin.read()  # EOF: the parent closed our stdin or died
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto server for the local stack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = MotoServer(args.host, args.port)
    threading.Thread(target=_exit_when_parent_goes, name="parent-watch", daemon=True).start()
    print(server.url, flush=True)
    os.dup2(2, 1)  # anything printed later goes to stderr: nobody reads the pipe any more
    server.server.serve_forever()


if __name__ == "__main__":
    main()
