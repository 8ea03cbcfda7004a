"""Rejected lines of a campaign's recipient list (RecipientErrorsTable: campaign_id, line), kept
so the tool can page through every error. This module is their only writer.

Accepted lines are the campaign's messages (MessagesTable): store/messages.py writes those
(pending_message, put_pending, delete_campaign_messages), with the same bulk writer
(store/bulk.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store import bulk
from chalicelib.store.bulk import KeepGoing
from chalicelib.store.models import register
from chalicelib.store.paging import decode_cursor, encode_cursor


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
    """Every stored rejected line of the campaign. Consistent reads: the lines a store that just
    stopped wrote last are deleted too."""
    keys = [RecipientErrorModel(campaign_id, item.line) for item in RecipientErrorModel.query(
        campaign_id, attributes_to_get=["campaign_id", "line"], consistent_read=True)]
    bulk.delete_keys(keys)
    return len(keys)


def put_all(items: Sequence[Model], progress: Callable[[int], None] | None = None,
            keep_going: KeepGoing | None = None) -> bool:
    """The rejected lines, written in bulk (store/bulk.py). False: it stopped because
    keep_going said so."""
    return bulk.put_models(items, progress, keep_going)
