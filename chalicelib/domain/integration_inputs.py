"""Request bodies of the integrators' API: JSON recipients, webhook endpoints (their answers
are in chalicelib/api/responses.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.domain.inputs import HTTPS_URL_PATTERN, Strict

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
