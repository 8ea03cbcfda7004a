"""Inbound markers: keys written with an atomic conditional put, so that a webhook retried by the
gateway, two replies arriving at once, or a callback racing its send each have effect once."""

from __future__ import annotations

import contextlib
from typing import Literal

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.store.inbound_models import InboundMarkerModel

WEBHOOK_TTL_SECONDS = 7 * 24 * 3600  # the gateway retries for minutes; a week is plenty
CALLBACK_TTL_SECONDS = 3 * 24 * 3600  # callbacks can trail their send by hours
STALE_CLAIM_SECONDS = 60.0  # a claim older than this crashed before it finished


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


Claim = Literal["claimed", "done", "busy"]


def claim_once(key: str, now: float) -> bool:
    """True for the first caller with `key` (or when an earlier claim crashed and went stale);
    False when it is being or has been handled."""
    return claim(key, now) == "claimed"


def claim(key: str, now: float) -> Claim:
    """"claimed" for the first caller with `key` (or when an earlier claim crashed and went
    stale); "done" when it was handled; "busy" when another caller holds a fresh claim (it may
    still fail: a caller that must not lose the work tries again later)."""
    marker = InboundMarkerModel(key, state="processing", created_at=now,
                                expires_at=int(now + WEBHOOK_TTL_SECONDS))
    condition = InboundMarkerModel.key.does_not_exist() | (
        (InboundMarkerModel.state == "processing")
        & (InboundMarkerModel.created_at < now - STALE_CLAIM_SECONDS))
    try:
        marker.save(condition=condition)
    except PutError as exc:
        if not _conditional_failed(exc):
            raise
        try:
            held = InboundMarkerModel.get(key, consistent_read=True)
        except DoesNotExist:
            return "busy"  # released meanwhile: a later try claims it
        return "done" if held.state == "done" else "busy"
    return "claimed"


def finish(key: str, now: float) -> None:
    InboundMarkerModel(key).update(actions=[InboundMarkerModel.state.set("done")])


def release(key: str) -> None:
    """Forget a claim whose handling failed, so the gateway's retry is handled."""
    with contextlib.suppress(DeleteError):
        InboundMarkerModel(key).delete()


# --- the one open conversation of a consumer per brand ---------------------------------------

def _open_key(brand_id: str, phone: str) -> str:
    return f"open#{brand_id}#{phone}"


def open_conversation(brand_id: str, phone: str) -> str | None:
    try:
        return InboundMarkerModel.get(_open_key(brand_id, phone), consistent_read=True).value
    except DoesNotExist:
        return None


def set_open_conversation(brand_id: str, phone: str, conversation_id: str, now: float) -> bool:
    """Point at a new open conversation; False if another one was opened meanwhile."""
    try:
        InboundMarkerModel(_open_key(brand_id, phone), value=conversation_id,
                           created_at=now).save(condition=InboundMarkerModel.key.does_not_exist())
    except PutError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def clear_open_conversation(brand_id: str, phone: str, conversation_id: str) -> None:
    try:
        InboundMarkerModel(_open_key(brand_id, phone)).delete(
            condition=InboundMarkerModel.value == conversation_id)
    except DeleteError as exc:
        if not _conditional_failed(exc):
            raise


# --- status callbacks that may arrive before their send is recorded --------------------------

def _callback_key(sid: str) -> str:
    return f"callback#{sid}"


def add_pending_status(sid: str, encoded: str, now: float) -> InboundMarkerModel:
    """Park a status for a send not found yet; returns the marker as it is now (both writers
    update the same item atomically, so whichever comes second sees the other's part). If the
    send was recorded meanwhile (campaign_id and phone set), the caller applies the status."""
    marker = InboundMarkerModel(_callback_key(sid))
    marker.update(actions=[
        InboundMarkerModel.pending.add({encoded}),
        InboundMarkerModel.expires_at.set(int(now + CALLBACK_TTL_SECONDS)),
    ])
    return marker


def record_send(sid: str, campaign_id: str, phone: str, now: float) -> InboundMarkerModel:
    """Note that the send with `sid` is recorded; returns the marker with any parked statuses."""
    marker = InboundMarkerModel(_callback_key(sid))
    marker.update(actions=[
        InboundMarkerModel.campaign_id.set(campaign_id),
        InboundMarkerModel.phone.set(phone),
        InboundMarkerModel.expires_at.set(int(now + CALLBACK_TTL_SECONDS)),
    ])
    return marker
