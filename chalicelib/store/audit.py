"""The audit log of admin changes, and the one way admin changes are written: the change and its
audit entry in a single DynamoDB transaction, so no change is ever stored without its entry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.errors import Conflict
from chalicelib.store.models import register, transaction_connection
from chalicelib.store.paging import decode_cursor, encode_cursor


class AuditModel(Model):
    """One admin change: who (the API key), what (action + target), when, before and after."""

    class Meta:
        table_name = "AuditTable"
        logical_id = "AuditTable"

    brand_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)  # time-ordered: a descending query = newest first
    at = NumberAttribute()
    action = UnicodeAttribute()  # e.g. number.add, key.revoke
    target = UnicodeAttribute(default="")
    actor_key_id = UnicodeAttribute()
    actor_label = UnicodeAttribute(default="")
    actor_role = UnicodeAttribute()
    before = UnicodeAttribute(null=True)  # JSON
    after = UnicodeAttribute(null=True)  # JSON


register(AuditModel)


@dataclass
class Step:
    """One write of a transaction: kind is save | update | delete."""

    kind: str
    item: Model
    condition: Condition | None = None
    actions: Sequence[Any] = field(default_factory=list)
    conflict: str = "the item changed meanwhile"


def to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def commit(steps: Sequence[Step], entry: AuditModel) -> None:
    """Apply `steps` and store `entry`, all or nothing. A failed condition -> Conflict naming
    the step's own message."""
    try:
        with TransactWrite(connection=transaction_connection()) as tx:
            for step in steps:
                if step.kind == "save":
                    tx.save(step.item, condition=step.condition)
                elif step.kind == "update":
                    tx.update(step.item, actions=list(step.actions), condition=step.condition)
                else:
                    tx.delete(step.item, condition=step.condition)
            tx.save(entry)
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        for step, reason in zip(steps, reasons, strict=False):
            if reason is not None and reason.code == "ConditionalCheckFailed":
                raise Conflict(step.conflict) from None
        raise


def page(brand_id: str, limit: int, cursor: str | None) -> tuple[list[AuditModel], str | None]:
    scope = f"audit#{brand_id}"
    result = AuditModel.query(brand_id, scan_index_forward=False, limit=limit,
                              last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)
