"""The create body of LivePerson's API, checked as its clients expect: required fields missing
-> the whole request refused with "Fields missing in request: <field>", wrong types named by
field; each consumer is checked on its own later (its errors do not refuse the request)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from chalicelib.lp.errors import LpError

MAX_CONSUMERS = 100
REQUIRED = ("campaignName", "skill", "templateId", "outboundNumber", "consent", "consumers")
LENGTHS = {"campaignName": 255, "skill": 255, "templateId": 32, "outboundNumber": 16}
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_DIGITS = re.compile(r"^\+?[0-9]{3,15}$")


@dataclass
class Window:
    start: str  # HH:MM
    end: str  # HH:MM (24:00 = midnight)


@dataclass
class CreateRequest:
    campaign_name: str
    skill: str
    template_id: str
    outbound_number: str  # E.164
    consumers: list[Any]
    window: Window | None = None
    days: list[str] = field(default_factory=list)


def read_json(raw: bytes | str | None) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError):
        raise LpError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise LpError(400, "the body must be a JSON object")
    return data


def _clock(value: Any, where: str) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise LpError(400, f"{where} must be an object {{\"hour\": 8, \"minute\": 0}}")
    hour, minute = value.get("hour", 0), value.get("minute", 0)
    if (not isinstance(hour, int) or isinstance(hour, bool) or not isinstance(minute, int)
            or isinstance(minute, bool) or not 0 <= hour <= 24 or not 0 <= minute <= 59
            or (hour == 24 and minute)):
        raise LpError(400, f"{where}: hour must be 0..24 and minute 0..59")
    return hour, minute


def _windows(metrics: Any) -> tuple[Window | None, list[str]]:
    if metrics is None:
        return None, []
    windows = metrics.get("windows") if isinstance(metrics, dict) else None
    if not isinstance(windows, list) or not windows:
        raise LpError(400, "schedulingMetrics.windows must be a non-empty array")
    starts, ends, days = [], [], []
    for n, window in enumerate(windows):
        where = f"schedulingMetrics.windows[{n}]"
        if not isinstance(window, dict):
            raise LpError(400, f"{where} must be an object")
        start = _clock(window.get("startTime"), f"{where}.startTime")
        end = _clock(window.get("endTime"), f"{where}.endTime")
        if start >= end or start[0] == 24:
            raise LpError(400, f"{where}: startTime must be before endTime (same day)")
        day = window.get("day")
        if day is not None and (not isinstance(day, str) or day.upper() not in DAYS):
            raise LpError(400, f"{where}.day must be one of {', '.join(DAYS)}")
        starts.append(start)
        ends.append(end)
        if day:
            days.append(day.upper())
    low, high = min(starts), max(ends)
    return Window(f"{low[0]:02d}:{low[1]:02d}", f"{high[0]:02d}:{high[1]:02d}"), days


def parse_create(data: dict[str, Any]) -> CreateRequest:
    missing = [name for name in REQUIRED if data.get(name) in (None, "")]
    if missing:
        raise LpError(400, f"Fields missing in request: {', '.join(missing)}",
                      {"fields": missing})
    for name, limit in LENGTHS.items():
        value = data[name]
        if not isinstance(value, str):
            raise LpError(400, f"{name} must be a string", {"fields": [name]})
        if len(value) > limit:
            raise LpError(400, f"{name} must be at most {limit} characters", {"fields": [name]})
    if data["consent"] is not True:
        raise LpError(400, "consent must be true: the brand takes responsibility for the "
                      "consumers' consent", {"fields": ["consent"]})
    consumers = data["consumers"]
    if not isinstance(consumers, list):
        raise LpError(400, "consumers must be an array", {"fields": ["consumers"]})
    if len(consumers) > MAX_CONSUMERS:
        raise LpError(413, f"at most {MAX_CONSUMERS} consumers per request; this one has "
                      f"{len(consumers)}", {"fields": ["consumers"]})
    outbound = data["outboundNumber"].strip()
    if not _DIGITS.match(outbound):
        raise LpError(400, "outboundNumber must be the number's digits with the country code, "
                      "e.g. 12025166656", {"fields": ["outboundNumber"]})
    window, days = _windows(data.get("schedulingMetrics"))
    return CreateRequest(campaign_name=data["campaignName"].strip(), skill=data["skill"].strip(),
                         template_id=data["templateId"].strip(),
                         outbound_number="+" + outbound.lstrip("+"), consumers=consumers,
                         window=window, days=days)


# The create body as JSON Schema, for the OpenAPI document (the checks above are the rule).
_CLOCK_SCHEMA = {"type": "object", "properties": {
    "hour": {"type": "integer", "minimum": 0, "maximum": 24},
    "minute": {"type": "integer", "minimum": 0, "maximum": 59}}}
_CONSUMER_SCHEMA = {
    "type": "object",
    "description": "consumerContent {sms|wa: phone}, or the old shape consumerCountryCode + "
                   "consumerPhoneNumber; each consumer is checked on its own",
    "properties": {
        "consumerContent": {"type": "object", "properties": {
            "sms": {"type": "string"}, "wa": {"type": "string"}}},
        "consumerCountryCode": {"type": "string"},
        "consumerPhoneNumber": {"type": "string"},
        "variables": {"type": "object", "additionalProperties": {"type": "string",
                                                                 "maxLength": 1550}},
        "headerVariables": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
CREATE_BODY_SCHEMA: dict[str, Any] = {
    "title": "LpCampaignIn",
    "type": "object",
    "required": list(REQUIRED),
    "properties": {
        "campaignName": {"type": "string", "minLength": 1, "maxLength": 255},
        "skill": {"type": "string", "minLength": 1, "maxLength": 255,
                  "description": "a skill of the account, by name or id"},
        "templateId": {"type": "string", "minLength": 1, "maxLength": 32,
                       "description": "an approved WhatsApp template id, an SMS template id, "
                                      "or 1234567890: the account's default SMS template"},
        "outboundNumber": {"type": "string", "pattern": r"^\+?[0-9]{3,15}$",
                           "description": "digits with the country code, e.g. 12025166656"},
        "consent": {"const": True},
        "consumers": {"type": "array", "maxItems": MAX_CONSUMERS, "items": _CONSUMER_SCHEMA},
        "schedulingMetrics": {"type": "object", "properties": {"windows": {
            "type": "array", "minItems": 1, "items": {"type": "object", "properties": {
                "startTime": _CLOCK_SCHEMA, "endTime": _CLOCK_SCHEMA,
                "day": {"type": "string", "enum": list(DAYS)}}}}}},
    },
}
TOKEN_BODY_SCHEMA: dict[str, Any] = {
    "title": "LpTokenIn",
    "type": "object",
    "properties": {"grant_type": {"const": "client_credentials"},
                   "client_id": {"type": "string"}, "client_secret": {"type": "string"}},
    "description": "form body; client_id and client_secret may be in the query instead",
}
