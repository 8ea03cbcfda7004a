"""Webhook endpoints of a brand's own systems and the deliveries that failed for 24 h (issue
16.5): WebhookEndpointsTable (brand_id, endpoint_id), WebhookDeadLettersTable (brand_id,
delivery_id). Keys must match infra/resources/integrations.yaml."""

from __future__ import annotations

import contextlib

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist
from pynamodb.models import Model

from chalicelib.store.models import register
from chalicelib.store.paging import decode_cursor, encode_cursor


class EndpointModel(Model):
    class Meta:
        table_name = "WebhookEndpointsTable"
        logical_id = "WebhookEndpointsTable"

    brand_id = UnicodeAttribute(hash_key=True)
    endpoint_id = UnicodeAttribute(range_key=True)
    url = UnicodeAttribute()
    events = ListAttribute[str](of=UnicodeAttribute)  # type: ignore[arg-type]
    secret = UnicodeAttribute()  # signs the deliveries (shown once, at creation)
    description = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    created_by = UnicodeAttribute(null=True)


class DeadLetterModel(Model):
    class Meta:
        table_name = "WebhookDeadLettersTable"
        logical_id = "WebhookDeadLettersTable"

    brand_id = UnicodeAttribute(hash_key=True)
    delivery_id = UnicodeAttribute(range_key=True)  # time-ordered
    target = UnicodeAttribute()  # the delivery's target as JSON (endpoint or status callback)
    event = UnicodeAttribute()  # the event body as JSON
    url = UnicodeAttribute()
    attempts = NumberAttribute()
    first_at = NumberAttribute()
    failed_at = NumberAttribute()
    last_error = UnicodeAttribute()


register(EndpointModel)
register(DeadLetterModel)


def create(item: EndpointModel) -> None:
    item.save(condition=EndpointModel.endpoint_id.does_not_exist())


def of_brand(brand_id: str) -> list[EndpointModel]:
    return list(EndpointModel.query(brand_id))


def get(brand_id: str, endpoint_id: str) -> EndpointModel | None:
    try:
        return EndpointModel.get(brand_id, endpoint_id, consistent_read=True)
    except DoesNotExist:
        return None


def delete(brand_id: str, endpoint_id: str) -> bool:
    try:
        EndpointModel(brand_id, endpoint_id).delete(
            condition=EndpointModel.endpoint_id.exists())
    except DeleteError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def put_dead_letter(item: DeadLetterModel) -> None:
    item.save()


def dead_letters(brand_id: str, limit: int,
                 cursor: str | None) -> tuple[list[DeadLetterModel], str | None]:
    scope = f"dead-letters#{brand_id}"
    result = DeadLetterModel.query(brand_id, scan_index_forward=False, limit=limit,
                                   last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)


def get_dead_letter(brand_id: str, delivery_id: str) -> DeadLetterModel | None:
    try:
        return DeadLetterModel.get(brand_id, delivery_id, consistent_read=True)
    except DoesNotExist:
        return None


def delete_dead_letter(brand_id: str, delivery_id: str) -> None:
    with contextlib.suppress(DeleteError):
        DeadLetterModel(brand_id, delivery_id).delete()


