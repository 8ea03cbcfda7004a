"""Structured JSON logs (Powertools Logger); phone numbers are masked before they are logged.

Log lines about a message carry `campaign_id` and `message_id` (message_ref: campaign id + the
masked phone), never the full phone number. As a safety net the formatter masks anything that
looks like a phone number in every log line, whoever wrote it."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

_E164 = re.compile(r"(?<!\w)(?:whatsapp:)?\+\d{8,15}(?!\d)")
# Fields that hold a phone number whatever its form (typed lists: "1 (212) 555-0101").
PHONE_FIELDS = {"phone", "to", "from", "from_", "from_number", "number", "recipient", "input"}


def mask_phone(phone: str) -> str:
    return phone[:-4].rstrip() + "****" if len(phone) > 6 else "****"


def message_ref(campaign_id: str, phone: str) -> str:
    """How a message is named in logs: its campaign and the masked phone."""
    return f"{campaign_id}/{mask_phone(phone)}"


def mask_phones(value: Any) -> Any:
    if isinstance(value, str):
        return _E164.sub(lambda m: mask_phone(m.group(0)), value)
    if isinstance(value, dict):
        return {k: mask_phone(v) if k in PHONE_FIELDS and isinstance(v, str) else mask_phones(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_phones(v) for v in value]
    return value


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with phone numbers masked in every field."""

    def serialize(self, log: Any) -> str:
        return super().serialize(log=mask_phones(log))


logger = Logger(service="proactive", logger_formatter=MaskingFormatter())
