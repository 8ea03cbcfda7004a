"""What our states are called in LivePerson's API, and the consumer ids it hands out. Pure."""

from __future__ import annotations

import uuid

# Our message status -> LivePerson's recipient status.
RECIPIENT_STATUS = {
    "PENDING": "NOT_SENT",
    "QUEUED": "NOT_SENT",
    "SENDING": "NOT_SENT",
    "SCHEDULED": "SCHEDULED",
    "SENT": "DELIVERED",
    "DELIVERED": "DELIVERED",
    "RESPONDED": "DELIVERED",
    "SKIPPED": "SKIPPED",
    "FAILED": "FAILED",
    "UNDELIVERED": "FAILED",
}
FINAL_RECIPIENT = frozenset({"DELIVERED", "SKIPPED", "FAILED"})

# Our campaign status (as shown, views.display_status) -> LivePerson's campaignStatus. FINISHED
# and FAILED are LivePerson's final states; the others are our choice (docs/lp-compatible.md).
CAMPAIGN_STATUS = {
    "DRAFT": "DRAFT",
    "SCHEDULED": "SCHEDULED",
    "RUNNING": "IN_PROGRESS",
    "COMPLETED": "FINISHED",
    "CANCELLED": "CANCELLED",
}

_NAMESPACE = uuid.UUID("5b0f3c8e-4a8e-4f6e-9d43-1c7a4f0e2b17")


def recipient_status(status: str | None) -> str:
    return RECIPIENT_STATUS.get(status or "PENDING", "NOT_SENT")


def campaign_status(shown: str) -> str:
    return CAMPAIGN_STATUS.get(shown, shown)


def consumer_id(campaign_id: str, phone: str) -> str:
    """The id of an accepted consumer: the same for the same campaign and number, every time,
    so nothing has to be stored to answer the status and report calls."""
    return str(uuid.uuid5(_NAMESPACE, f"{campaign_id}:{phone}"))


def error_source(status: str | None) -> str | None:
    return {"FAILED": "DELIVERY", "UNDELIVERED": "DELIVERY", "SKIPPED": "PROACTIVE"}.get(
        status or "")
