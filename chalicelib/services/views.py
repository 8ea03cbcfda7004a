"""JSON shapes the API returns."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from chalicelib.store.models import CampaignModel, MessageModel, UploadAttribute

MESSAGE_STATUSES = ("PENDING", "SCHEDULED", "QUEUED", "SENDING", "SENT", "DELIVERED",
                    "UNDELIVERED", "FAILED", "SKIPPED", "RESPONDED")


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(float(epoch), UTC).isoformat().replace("+00:00", "Z")


WAITING_STATUSES = ("PENDING", "SCHEDULED", "QUEUED", "SENDING")
# parse_upload runs at most 900 s and reports progress every few thousand rows: a parse with no
# progress for longer than that died (its retries, if any, start over and report again).
UPLOAD_STALL_SECONDS = 960.0
UPLOAD_STALLED = ("the check of the file stopped before it finished (no progress for "
                  f"{UPLOAD_STALL_SECONDS / 60:.0f} minutes); upload the file again")


def upload_state(upload: UploadAttribute, now: float) -> tuple[str, str | None]:
    """(status, message) of an upload as users see it: a stalled parse is FAILED."""
    status = str(upload.status)
    if status == "PARSING" and now - float(upload.updated_at or 0) > UPLOAD_STALL_SECONDS:
        return "FAILED", UPLOAD_STALLED
    return status, upload.message


def display_status(campaign: CampaignModel, counts: dict[str, int]) -> str:
    """RUNNING becomes COMPLETED once every recipient has reached a final state (derived from
    the counters, so nothing has to remember to write it)."""
    total = int(campaign.recipients_total or 0)
    if campaign.status != "RUNNING" or total == 0:
        return str(campaign.status)
    waiting = sum(counts.get(s, 0) for s in WAITING_STATUSES)
    done = sum(counts.get(s, 0) for s in MESSAGE_STATUSES if s not in WAITING_STATUSES)
    return "COMPLETED" if waiting == 0 and done >= total else "RUNNING"


def campaign_view(campaign: CampaignModel, counts: dict[str, int] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": campaign.campaign_id,
        "name": campaign.name,
        "channel": campaign.channel,
        "from_number": campaign.from_number,
        "skill": campaign.skill,
        "text": campaign.text,
        "template_id": campaign.template_id,
        "fallback_from_number": campaign.fallback_from_number,
        "allow_multi_segment": campaign.allow_multi_segment,
        "status": campaign.status,
        "schedule": {
            "send_rate": float(campaign.send_rate),
            "window": {"start": campaign.window_start, "end": campaign.window_end},
            "launch_at": iso(campaign.launch_at),
            "hold_open_conversations": campaign.hold_open_conversations is not False,
        },
        "recipients": int(campaign.recipients_total or 0),
        "recipient_errors": int(campaign.recipient_errors or 0),
        "created_at": iso(campaign.created_at),
        "created_by": campaign.created_by,
        "updated_at": iso(campaign.updated_at),
        "launched_at": iso(campaign.launched_at),
        "status_callback_url": campaign.status_callback_url,
        "cancelled_at": iso(campaign.cancelled_at),
        "consent": None if campaign.consent is None else {
            "by_key_id": campaign.consent.by_key_id,
            "by_label": campaign.consent.by_label,
            "at": iso(campaign.consent.at),
            "text": campaign.consent.text,
        },
    }
    upload = campaign.upload
    view["upload"] = None
    if upload is not None:
        status, message = upload_state(upload, time.time())
        view["upload"] = {
            "upload_id": upload.upload_id, "status": status,
            "rows_done": int(upload.rows_done or 0), "accepted": int(upload.accepted or 0),
            "rejected": int(upload.rejected or 0), "stored": int(upload.stored or 0),
            "message": message, "updated_at": iso(upload.updated_at)}
    if counts is not None:
        view["counts"] = {status: int(counts.get(status, 0)) for status in MESSAGE_STATUSES}
        view["status"] = display_status(campaign, view["counts"])
    return view


def message_view(message: MessageModel) -> dict[str, Any]:
    return {
        "phone": message.phone,
        "line": int(message.line or 0),
        "status": message.status,
        "text": message.text,
        "country": message.country,
        "zones": list(message.zones or []),
        "error_code": message.error_code,
        "reason": message.reason,
        "sid": message.sid,
        "attempts": int(message.attempts or 0),
        "due_at": iso(message.due_at),
        "queued_at": iso(message.queued_at),
        "sent_at": iso(message.sent_at),
        "delivered_at": iso(message.delivered_at),
        "responded_at": iso(message.responded_at),
        "updated_at": iso(message.updated_at),
        "external_id": message.external_id,
    }
