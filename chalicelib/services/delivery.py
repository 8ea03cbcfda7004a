"""Delivery status callbacks: SENT -> DELIVERED, or UNDELIVERED / FAILED with the error code.

A callback names the message by the gateway's id (MessageSid). It can arrive before the send
consumer recorded that id (the gateway is fast, our write is not yet indexed): then it is parked
on a marker keyed by the sid, and the stream consumer that sees the message become SENT writes
the same marker. Both writes are atomic updates of one item returning it whole, so whichever
comes second sees the other's part and applies the status: none is lost.

Transitions are conditional on the current status, so a late "sent" never overwrites
"delivered", and RESPONDED is never downgraded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.errors import field_error
from chalicelib.logs import logger
from chalicelib.messaging import webhooks
from chalicelib.services import gateways
from chalicelib.store import markers, messages

DELIVERED = ("delivered", "read")
NOT_DELIVERED = {"undelivered": "UNDELIVERED", "failed": "FAILED"}
# Parked statuses are applied failures first, deliveries last (a delivery report wins).
_ORDER = {"failed": 0, "undelivered": 1, "delivered": 2, "read": 3}
ERROR_MEANINGS = {
    "30003": "the handset is unreachable",
    "30004": "the message was blocked",
    "30005": "the number is unknown or no longer in service",
    "30006": "a landline or an unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "an unknown carrier error",
    "63016": "outside WhatsApp's 24-hour window",
}


def receive(raw_body: bytes | str | None, signature: str | None,
            query: Mapping[str, str] | None = None, now: float | None = None,
            base_url: str = "") -> dict[str, Any]:
    settings = get_settings()
    form = webhooks.signed_form(raw_body, signature, base_url or settings.webhook_base_url,
                                webhooks.STATUS_PATH, gateways.status_token, query)
    now = time.time() if now is None else now
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not sid:
        raise field_error("MessageSid", "is required in a status callback")
    if not status:
        raise field_error("MessageStatus", "is required in a status callback")
    if status not in DELIVERED and status not in NOT_DELIVERED:
        return {"outcome": "ignored", "status": status}  # in flight: nothing to record
    key = f"status#{sid}#{status}"
    if not markers.claim_once(key, now):
        return {"outcome": "duplicate"}
    try:
        outcome = apply_status(sid, status, form.get("ErrorCode") or "", now)
    except Exception:
        markers.release(key)
        raise
    markers.finish(key, now)
    return {"outcome": outcome, "status": status}


def apply_status(sid: str, status: str, error_code: str, now: float) -> str:
    found = messages.find_by_sid(sid)
    if found is not None:
        _apply(found[0], found[1], status, error_code, now)
        return "applied"
    marker = markers.add_pending_status(sid, f"{status}|{error_code}", now)
    if marker.campaign_id and marker.phone:
        _apply(marker.campaign_id, marker.phone, status, error_code, now)
        return "applied"
    logger.info("status callback before its send was recorded; parked", extra={"sid": sid})
    return "parked"


def _apply(campaign_id: str, phone: str, status: str, error_code: str, now: float) -> None:
    if status in DELIVERED:
        messages.mark_delivered(campaign_id, phone, now)
        return
    code = error_code or status.upper()
    meaning = ERROR_MEANINGS.get(error_code, "")
    reason = f"the gateway reports it {status} ({code}{': ' + meaning if meaning else ''})"
    messages.mark_not_delivered(campaign_id, phone, NOT_DELIVERED[status], code, reason, now)


def apply_sent_records(records: Iterable[dict[str, Any]], now: float | None = None) -> int:
    """Stream records of the messages table: for each message that just became SENT, apply the
    status callbacks parked for its sid. Returns how many were applied."""
    now = time.time() if now is None else now
    applied = 0
    for record in records:
        ddb = record.get("dynamodb", {})
        new, old = ddb.get("NewImage") or {}, ddb.get("OldImage") or {}
        if new.get("status", {}).get("S") != "SENT" or old.get("status", {}).get("S") == "SENT":
            continue
        sid = new.get("sid", {}).get("S")
        campaign_id = new.get("campaign_id", {}).get("S")
        phone = new.get("phone", {}).get("S")
        if not (sid and campaign_id and phone):
            continue
        marker = markers.record_send(sid, campaign_id, phone, now)
        for encoded in sorted(marker.pending or [], key=lambda e: _ORDER.get(e.split("|")[0], 9)):
            status, _, code = encoded.partition("|")
            _apply(campaign_id, phone, status, code, now)
            applied += 1
    return applied
