"""The fast bulk writer: BatchWriteItem from a few threads at once (a 100k-row recipient list is
4,000 calls), stoppable between chunks. store/messages.py (accepted lines) and
store/recipient_lines.py (rejected lines) write through it; services do not."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from pynamodb.models import Model

from chalicelib import aws

WRITERS = 6  # parallel BatchWriteItem calls
BATCH = 25  # BatchWriteItem's maximum

KeepGoing = Callable[[], bool]


def put_models(items: Sequence[Model], progress: Callable[[int], None] | None = None,
               keep_going: KeepGoing | None = None) -> bool:
    """Put `items` (all of one model). False: it stopped because keep_going said so."""
    requests = [{"PutRequest": {"Item": item.serialize()}} for item in items]
    return write(requests, _table(items), progress, keep_going)


def delete_keys(items: Sequence[Model]) -> None:
    write([{"DeleteRequest": {"Key": _key(item)}} for item in items], _table(items))


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


def write(requests: list[dict[str, Any]], table: str,
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
