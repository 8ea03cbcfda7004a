"""Idempotency keys of the API's writes (IdempotencyKeysTable): one item per brand
and key, holding the request's fingerprint and, once answered, the answer (status and body).

An item is created IN_FLIGHT by a conditional put (only one request holds a key), becomes DONE
with the answer, or is deleted when the request failed on our side (5xx), so that a retry runs.
Items expire by TTL (expires_at) 24 h after the first request.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.models import Model

from chalicelib.store.models import register

TTL_SECONDS = 24 * 3600


class IdempotencyKeyModel(Model):
    class Meta:
        table_name = "IdempotencyKeysTable"
        logical_id = "IdempotencyKeysTable"

    key = UnicodeAttribute(hash_key=True)  # "<brand_id>#<Idempotency-Key>"
    fingerprint = UnicodeAttribute()  # sha256 of method, path and body
    state = UnicodeAttribute()  # IN_FLIGHT | DONE
    created_at = NumberAttribute()
    expires_at = NumberAttribute()  # TTL
    status = NumberAttribute(null=True)  # the first answer's
    body = UnicodeAttribute(null=True)  # the first answer's body (JSON text)


register(IdempotencyKeyModel)


@dataclass(frozen=True)
class Held:
    """What a key holds when a request could not take it."""

    fingerprint: str
    state: str
    created_at: float
    status: int | None
    body: str | None


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _key(brand_id: str, key: str) -> str:
    return f"{brand_id}#{key}"


def take(brand_id: str, key: str, fingerprint: str, now: float,
         stale_after: float) -> Held | None:
    """None: the key is this request's now (new, expired, or IN_FLIGHT for longer than
    `stale_after` seconds: its request died). Otherwise what the key holds."""
    item = IdempotencyKeyModel(_key(brand_id, key), fingerprint=fingerprint, state="IN_FLIGHT",
                               created_at=now, expires_at=int(now + TTL_SECONDS))
    condition = (IdempotencyKeyModel.key.does_not_exist()
                 | (IdempotencyKeyModel.expires_at < now)
                 | ((IdempotencyKeyModel.state == "IN_FLIGHT")
                    & (IdempotencyKeyModel.created_at < now - stale_after)))
    try:
        item.save(condition=condition)
        return None
    except PutError as exc:
        if not _conditional_failed(exc):
            raise
    try:
        held = IdempotencyKeyModel.get(_key(brand_id, key), consistent_read=True)
    except DoesNotExist:
        return Held(fingerprint, "IN_FLIGHT", now, None, None)  # released meanwhile: busy
    return Held(held.fingerprint, held.state, float(held.created_at),
                int(held.status) if held.status is not None else None, held.body)


def finish(brand_id: str, key: str, status: int, body: str) -> None:
    """Keep the first answer (until the item's TTL)."""
    IdempotencyKeyModel(_key(brand_id, key)).update(actions=[
        IdempotencyKeyModel.state.set("DONE"), IdempotencyKeyModel.status.set(status),
        IdempotencyKeyModel.body.set(body)])


def release(brand_id: str, key: str) -> None:
    """Forget a key whose request failed on our side: a retry runs it."""
    with contextlib.suppress(DeleteError):
        IdempotencyKeyModel(_key(brand_id, key)).delete()
