"""Structured JSON logs (Powertools Logger); phone numbers are masked before they are logged.

Log lines about a message carry `campaign_id` and `message_id` (message_ref: campaign id + the
masked phone), never the full phone number. As a safety net the formatter masks anything that
looks like a phone number in every log line, whoever wrote it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from chalicelib import send_metrics

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


# --- one invocation's identity on every log line --------------------------------------------

CORRELATION_HEADER = "X-Request-Id"


def _campaign_of(event: Any, http: bool) -> str | None:
    """The campaign an invocation is about, when there is exactly one: the API's
    /campaigns/{campaign_id}/... routes, and queue messages carrying a campaign_id."""
    if http:
        params = getattr(event, "uri_params", None) or {}
        return str(params["campaign_id"]) if params.get("campaign_id") else None
    found = set()
    for record in (event.to_dict().get("Records") or []) if hasattr(event, "to_dict") else []:
        try:
            body = json.loads(record.get("body") or "")
        except (TypeError, ValueError):
            continue
        if isinstance(body, dict) and body.get("campaign_id"):
            found.add(str(body["campaign_id"]))
    return found.pop() if len(found) == 1 else None


def _lambda_context(event: Any, http: bool) -> Any:
    return getattr(event, "lambda_context", None) if http else getattr(event, "context", None)


def correlated(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every function (app.py registers it): each log line of the
    invocation carries the Lambda request id and function (Powertools inject_lambda_context),
    the correlation id (the API Gateway request id, answered as X-Request-Id) and the campaign
    id when the invocation is about one campaign; the send path's EMF metrics are flushed after.

    Keys are the logger's (one invocation per process on Lambda); in the local stack, where
    functions run concurrently in one process, a line may carry another invocation's keys."""
    http = hasattr(event, "uri_params")
    context = _lambda_context(event, http)

    def handle(_: Any, lambda_context: Any) -> Any:
        request_context = getattr(event, "context", None) if http else None
        correlation = ((request_context or {}).get("requestId")
                       or getattr(lambda_context, "aws_request_id", None))
        logger.set_correlation_id(correlation)
        campaign_id = _campaign_of(event, http)
        if campaign_id:
            logger.append_keys(campaign_id=campaign_id)
        try:
            response = get_response(event)
        finally:
            send_metrics.flush()
            logger.clear_state()  # what runs next (locally: outside any function) is not this
        if http and correlation and hasattr(response, "headers"):
            response.headers[CORRELATION_HEADER] = correlation
        return response

    if context is None or not hasattr(context, "aws_request_id"):
        return handle(None, context)
    return logger.inject_lambda_context(handle, clear_state=True)({}, context)
