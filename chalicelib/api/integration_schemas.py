"""Request bodies of the integrators' API (issue 16): JSON recipients, webhook endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.api.responses import Out
from chalicelib.api.schemas import HTTPS_URL_PATTERN, Strict

MAX_JSON_RECIPIENTS = 1_000
EventType = Literal["message.sent", "message.delivered", "message.failed", "message.responded",
                    "consumer.opted_out", "consumer.opted_in", "campaign.completed"]


class RecipientIn(Strict):
    phone: str = Field(min_length=1, max_length=64,
                       description="with its country code, e.g. +12125550101")
    variables: dict[str, str] | None = Field(
        None, description='WhatsApp / prioritized: the template\'s variables by number, '
        'e.g. {"1": "Ann", "2": "A-1042"}')
    text: str | None = Field(None, min_length=1, max_length=1600,
                             description="SMS: this recipient's own text (else the campaign's)")
    external_id: str | None = Field(
        None, min_length=1, max_length=128,
        description="your id for this recipient; kept on the message, in exports, message "
        "reads and events")


class RecipientsIn(Strict):
    recipients: list[RecipientIn] = Field(min_length=1, max_length=MAX_JSON_RECIPIENTS)


class EndpointIn(Strict):
    url: str = Field(min_length=1, max_length=2048,
                     json_schema_extra={"pattern": HTTPS_URL_PATTERN},
                     description="https (http only to localhost in the local stack)")
    events: list[EventType] = Field(min_length=1, max_length=7)
    description: str | None = Field(None, max_length=200)


# --- answers ----------------------------------------------------------------------------------

class Endpoint(Out):
    id: str
    url: str
    events: list[EventType]
    description: str | None
    created_at: str
    created_by: str | None


class EndpointCreated(Endpoint):
    secret: str = Field(description="signs every delivery (X-Proactive-Signature); shown once")


class EndpointList(Out):
    items: list[Endpoint]


class EndpointDeleted(Endpoint):
    deleted: bool


class EventOut(Out):
    id: str = Field(description="the same for a repeated delivery of one event: dedupe on it")
    type: EventType
    created_at: str
    brand_id: str
    data: dict[str, Any]


class FailedDelivery(Out):
    id: str
    url: str
    target: dict[str, str] = Field(description="endpoint_id, or campaign_id (status callback)")
    event: EventOut
    attempts: int
    first_at: str
    failed_at: str
    last_error: str


class FailedDeliveryPage(Out):
    items: list[FailedDelivery]
    next_cursor: str | None


class Redelivered(FailedDelivery):
    redelivered: bool
