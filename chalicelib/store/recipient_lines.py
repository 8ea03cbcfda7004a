"""Rejected lines of a campaign's recipient list (RecipientErrorsTable: campaign_id, line), kept
so the tool can page through every error; and the fast bulk writer for recipients.

Accepted lines are the campaign's messages (MessagesTable); only the rejected ones live here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
    list_id = NumberAttribute(null=True)  # the campaign's list this line belongs to


register(RecipientErrorModel)

KeepGoing = Callable[[], bool]


def page(campaign_id: str, list_id: int, limit: int,
         cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The rejected lines of the campaign's list `list_id` (a page may hold fewer than `limit`
    while lines of a replaced list wait to be deleted)."""
    scope = f"recipient-errors#{campaign_id}#{list_id}"
    condition = (RecipientErrorModel.list_id == list_id if list_id else
                 RecipientErrorModel.list_id.does_not_exist() | (RecipientErrorModel.list_id == 0))
    result = RecipientErrorModel.query(campaign_id, filter_condition=condition, limit=limit,
                                       last_evaluated_key=decode_cursor(cursor, scope))
    items = [json.loads(item.result) for item in result]
    return items, encode_cursor(result.last_evaluated_key, scope)


def error_items(campaign_id: str, results: Iterable[dict[str, Any]],
                upload_id: str | None, list_id: int) -> Iterable[Model]:
    for result in results:
        yield RecipientErrorModel(campaign_id, result["line"], result=json.dumps(result),
                                  upload_id=upload_id, list_id=list_id)


def delete_all(campaign_id: str) -> int:
    """Every stored line of the campaign. Consistent reads: the lines a store that just stopped
    wrote last are deleted too."""
    keys = [RecipientErrorModel(campaign_id, item.line) for item in RecipientErrorModel.query(
        campaign_id, attributes_to_get=["campaign_id", "line"], consistent_read=True)]
    delete_keys(keys)
    messages = [MessageModel(campaign_id, item.phone) for item in MessageModel.query(
        campaign_id, attributes_to_get=["campaign_id", "phone"], consistent_read=True)]
    delete_keys(messages)
    return len(keys) + len(messages)


def delete_keys(items: Sequence[Model]) -> None:
    _write([{"DeleteRequest": {"Key": _key(item)}} for item in items], _table(items))


def put_all(items: Sequence[Model], progress: Callable[[int], None] | None = None,
            keep_going: KeepGoing | None = None) -> bool:
    """BatchWriteItem from a few threads at once (a 100k-row list is 4,000 calls). False: it
    stopped because keep_going said so (see _write)."""
    requests = [{"PutRequest": {"Item": item.serialize()}} for item in items]
    return _write(requests, _table(items), progress, keep_going)


def pending_message(campaign_id: str, phone: str, *, brand_id: str, skill: str, channel: str,
                    line: int, text: str | None, variables: list[str] | None,
                    fallback_text: str | None, zones: Sequence[str], country: str | None,
                    now: float, list_id: int, external_id: str | None = None) -> dict[str, Any]:
    """A PENDING MessageModel item, serialised as MessageModel.serialize() would (a test checks
    it); written by hand because pynamodb's serialize costs ~0.3 ms an item, 30 s for 100k."""
    stamp = {"N": repr(now)}
    item: dict[str, Any] = {
        "campaign_id": {"S": campaign_id}, "phone": {"S": phone}, "brand_id": {"S": brand_id},
        "skill": {"S": skill}, "channel": {"S": channel}, "line": {"N": str(line)},
        "list_id": {"N": str(list_id)}, "status": {"S": "PENDING"}, "attempts": {"N": "0"},
        "created_at": stamp, "updated_at": stamp, "zones": {"L": [{"S": z} for z in zones]},
    }
    if text is not None:
        item["text"] = {"S": text}
    if variables is not None:
        item["variables"] = {"L": [{"S": v} for v in variables]}
    if fallback_text is not None:
        item["fallback_text"] = {"S": fallback_text}
    if country is not None:
        item["country"] = {"S": country}
    if external_id is not None:
        item["external_id"] = {"S": external_id}
    return item


def phones_in_list(campaign_id: str, phones: Sequence[str], list_id: int) -> set[str]:
    """Which of `phones` are recipients of the campaign's list `list_id` (an appended line must
    not overwrite one: messages are keyed (campaign, phone))."""
    found: set[str] = set()
    keys = [(campaign_id, phone) for phone in dict.fromkeys(phones)]
    for item in MessageModel.batch_get(keys, consistent_read=True,
                                       attributes_to_get=["phone", "list_id"]):
        if int(item.list_id or 0) == list_id:
            found.add(item.phone)
    return found


def put_messages(items: list[dict[str, Any]], progress: Callable[[int], None] | None = None,
                 keep_going: KeepGoing | None = None) -> bool:
    meta: Any = MessageModel.Meta
    return _write([{"PutRequest": {"Item": item}} for item in items], str(meta.table_name),
                  progress, keep_going)


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
           progress: Callable[[int], None] | None = None,
           keep_going: KeepGoing | None = None) -> bool:
    """Write in chunks from WRITERS threads. Chunks are handed out one at a time and
    `keep_going` is asked before each: once it says no, nothing more is sent. Whether it stops
    or fails, it returns only when every chunk already sent has landed, so a caller that then
    gives up its right to write knows none of its writes is still on its way."""
    if not requests:
        return True
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

    completed = True
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        running: set[Future[None]] = set()
        for start in range(0, len(requests), BATCH):
            if len(running) >= WRITERS:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
            if keep_going is not None and not keep_going():
                completed = False
                break
            running.add(pool.submit(send, requests[start:start + BATCH]))
        for future in running:
            future.result()
    return completed
