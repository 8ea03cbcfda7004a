"""Rejected lines of a campaign's recipient list (RecipientErrorsTable: campaign_id, line), kept
so the tool can page through every error; and the fast bulk writer for recipients.

Accepted lines are the campaign's messages (MessagesTable); only the rejected ones live here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.store.models import MessageModel, register
from chalicelib.store.paging import decode_cursor, encode_cursor

WRITERS = 6  # parallel BatchWriteItem calls
BATCH = 25  # BatchWriteItem's maximum


class RecipientErrorModel(Model):
    class Meta:
        table_name = "RecipientErrorsTable"
        logical_id = "RecipientErrorsTable"

    campaign_id = UnicodeAttribute(hash_key=True)
    line = NumberAttribute(range_key=True)
    result = UnicodeAttribute()  # the per-line result as JSON (input, phone, errors...)
    upload_id = UnicodeAttribute(null=True)


register(RecipientErrorModel)


def page(campaign_id: str, limit: int,
         cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    scope = f"recipient-errors#{campaign_id}"
    result = RecipientErrorModel.query(campaign_id, limit=limit,
                                       last_evaluated_key=decode_cursor(cursor, scope))
    items = [json.loads(item.result) for item in result]
    return items, encode_cursor(result.last_evaluated_key, scope)


def error_items(campaign_id: str, results: Iterable[dict[str, Any]],
                upload_id: str | None) -> Iterable[Model]:
    for result in results:
        yield RecipientErrorModel(campaign_id, result["line"], result=json.dumps(result),
                                  upload_id=upload_id)


def delete_all(campaign_id: str) -> int:
    keys = [RecipientErrorModel(campaign_id, item.line) for item in RecipientErrorModel.query(
        campaign_id, attributes_to_get=["campaign_id", "line"])]
    delete_keys(keys)
    messages = [MessageModel(campaign_id, item.phone) for item in MessageModel.query(
        campaign_id, attributes_to_get=["campaign_id", "phone"])]
    delete_keys(messages)
    return len(keys) + len(messages)


def delete_keys(items: Sequence[Model]) -> None:
    _write([{"DeleteRequest": {"Key": _key(item)}} for item in items], _table(items))


def put_all(items: Sequence[Model], progress: Callable[[int], None] | None = None) -> int:
    """BatchWriteItem from a few threads at once (a 100k-row list is 4,000 calls)."""
    requests = [{"PutRequest": {"Item": item.serialize()}} for item in items]
    _write(requests, _table(items), progress)
    return len(requests)


def pending_message(campaign_id: str, phone: str, *, brand_id: str, skill: str, channel: str,
                    line: int, text: str | None, variables: list[str] | None,
                    fallback_text: str | None, zones: Sequence[str], country: str | None,
                    now: float) -> dict[str, Any]:
    """A PENDING MessageModel item, serialised as MessageModel.serialize() would (a test checks
    it); written by hand because pynamodb's serialize costs ~0.3 ms an item, 30 s for 100k."""
    stamp = {"N": repr(now)}
    item: dict[str, Any] = {
        "campaign_id": {"S": campaign_id}, "phone": {"S": phone}, "brand_id": {"S": brand_id},
        "skill": {"S": skill}, "channel": {"S": channel}, "line": {"N": str(line)},
        "status": {"S": "PENDING"}, "attempts": {"N": "0"}, "created_at": stamp,
        "updated_at": stamp, "zones": {"L": [{"S": z} for z in zones]},
    }
    if text is not None:
        item["text"] = {"S": text}
    if variables is not None:
        item["variables"] = {"L": [{"S": v} for v in variables]}
    if fallback_text is not None:
        item["fallback_text"] = {"S": fallback_text}
    if country is not None:
        item["country"] = {"S": country}
    return item


def put_messages(items: list[dict[str, Any]],
                 progress: Callable[[int], None] | None = None) -> int:
    meta: Any = MessageModel.Meta
    _write([{"PutRequest": {"Item": item}} for item in items], str(meta.table_name), progress)
    return len(items)


def _table(items: Sequence[Model]) -> str:
    if not items:
        return ""
    meta: Any = type(items[0]).Meta
    return str(meta.table_name)


def _key(item: Model) -> dict[str, Any]:
    # A key-only item: its other required attributes (e.g. `result`) are unset.
    data = item.serialize(null_check=False)
    names = [type(item)._hash_key_attribute().attr_name]
    range_attr = type(item)._range_key_attribute()
    if range_attr is not None:
        names.append(range_attr.attr_name)
    return {name: data[name] for name in names}


def _write(requests: list[dict[str, Any]], table: str,
           progress: Callable[[int], None] | None = None) -> None:
    if not requests:
        return
    client = aws.client("dynamodb")
    lock = threading.Lock()
    done = [0]

    def send(chunk: list[dict[str, Any]]) -> None:
        pending = chunk
        for attempt in range(12):
            answer = client.batch_write_item(RequestItems={table: pending})
            pending = answer.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            threading.Event().wait(min(2.0, 0.05 * 2 ** attempt))
        else:
            raise RuntimeError(f"{len(pending)} writes to {table} stayed unprocessed")
        if progress is not None:
            with lock:
                done[0] += len(chunk)
                progress(done[0])

    chunks = [requests[i:i + BATCH] for i in range(0, len(requests), BATCH)]
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for future in [pool.submit(send, chunk) for chunk in chunks]:
            future.result()
