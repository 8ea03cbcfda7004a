"""Request bodies, validated with pydantic: unknown fields and wrong types are refused."""

from __future__ import annotations

import json
import re
from datetime import datetime, time
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib.domain.errors import ValidationFailed

MAX_SEND_RATE = 100.0
# The slowest rate a campaign or number may have (one message per ~17 minutes); smaller positive
# numbers such as 5e-324 cannot be stored as DynamoDB numbers.
MIN_RATE = 0.001
CLOCK = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"
_CLOCK = re.compile(CLOCK)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


def _no_null_members(schema: dict[str, Any]) -> None:
    """A Partial model's document: each member once, not null; at least one."""
    for member in schema.get("properties", {}).values():
        branches = member.pop("anyOf", None)
        if branches:
            kept = [b for b in branches if b.get("type") != "null"]
            member.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
        member.pop("default", None)
    schema["minProperties"] = 1


class Partial(Strict):
    """A change of some fields: a field left out keeps its value. null is refused (it used to
    erase a required setting such as the brand's name, or reach the store as an empty change)."""

    model_config = ConfigDict(json_schema_extra=_no_null_members)

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value


class WindowIn(Strict):
    start: str = Field(default="08:00", json_schema_extra={"pattern": CLOCK})
    end: str = Field(default="21:00", json_schema_extra={"pattern": CLOCK},
                     description="after start, on the same local day (24:00 = midnight)")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        # Exactly HH:MM (what the document says), not every form time.fromisoformat reads.
        if not _CLOCK.match(value):
            raise ValueError("must be a time of day as HH:MM, e.g. 08:00 (24:00 = midnight)")
        return value if value == "24:00" else time.fromisoformat(value).strftime("%H:%M")

    @model_validator(mode="after")
    def _order(self) -> WindowIn:
        if self.start == "24:00" or self.start >= self.end:
            raise ValueError("the window's start must be before its end (same local day)")
        return self


class ScheduleIn(Strict):
    send_rate: float = Field(default=1.0, ge=MIN_RATE, le=MAX_SEND_RATE,
                             description="messages per second for this campaign")
    window: WindowIn = Field(default_factory=WindowIn)
    launch_at: datetime | None = Field(
        default=None, description="ISO-8601 with offset, in the future; omitted = when "
        "launched")
    hold_open_conversations: bool = Field(
        default=True, description="skip a recipient who has an open conversation with the brand "
        "(SKIPPED, OPEN_CONVERSATION); false sends to them too")

    @field_validator("launch_at", mode="before")
    @classmethod
    def _parse_launch_at(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("must be an ISO-8601 date and time, e.g. "
                                 "2026-12-01T09:00:00-05:00") from None
            if parsed.tzinfo is None:
                raise ValueError("must carry a UTC offset or Z, e.g. 2026-12-01T14:00:00Z")
            return parsed
        return value


# A public https URL, as the document states it (the local stack also takes http://localhost).
HTTPS_URL_PATTERN = r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[0-9]{1,5})?(/\S*)?$"


class CampaignIn(Strict):
    name: str = Field(min_length=1, max_length=255)
    channel: Literal["sms", "whatsapp", "prioritized"]
    from_number: str = Field(min_length=1)
    skill: str = Field(min_length=1)
    text: str | None = Field(default=None, max_length=1600)
    template_id: str | None = None
    fallback_from_number: str | None = Field(
        default=None, description="prioritized: the brand's SMS number for the SMS fallback")
    allow_multi_segment: bool = False
    schedule: ScheduleIn = Field(default_factory=ScheduleIn)
    status_callback_url: str | None = Field(
        default=None, min_length=1, max_length=2048,
        json_schema_extra={"pattern": HTTPS_URL_PATTERN},
        description="https URL receiving this campaign's message.* events, signed with the "
        "status_callback_secret of the create answer (as webhook endpoints' deliveries)")

    @model_validator(mode="after")
    def _content(self) -> CampaignIn:
        if self.channel == "sms" and not (self.text and self.text.strip()):
            raise ValueError("an SMS campaign needs 'text'")
        if self.channel in ("whatsapp", "prioritized") and not self.template_id:
            raise ValueError(f"a {self.channel} campaign needs an approved 'template_id'")
        if self.channel == "prioritized" and not self.fallback_from_number:
            raise ValueError("a prioritized campaign needs 'fallback_from_number', an SMS number "
                             "of the brand for numbers that are not on WhatsApp")
        if self.channel != "prioritized" and self.fallback_from_number:
            raise ValueError("'fallback_from_number' is only for prioritized campaigns")
        return self


class LaunchIn(Strict):
    consent: bool = Field(description="the brand confirms it holds opt-in consent (must be "
                          "true)", json_schema_extra={"const": True})


M = TypeVar("M", bound=BaseModel)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if not str(p).startswith("function-")) or "body"


def parse_body(model: type[M], raw: bytes | str | None) -> M:
    """Parse a JSON request body into `model`, or raise ValidationFailed naming each field."""
    return validate(model, read_object(raw))


def read_object(raw: bytes | str | None) -> dict[str, Any]:
    """A request body that must be a JSON object (an empty body is {})."""
    if raw is None or (isinstance(raw, bytes | str) and not raw.strip()):
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationFailed(f"the body is not valid JSON: {exc}",
                                   code="INVALID_JSON") from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", code="INVALID_JSON")
    return data


def validate(model: type[M], data: dict[str, Any]) -> M:
    """`data` as `model`, or ValidationFailed with a detail naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = []
        for err in exc.errors(include_url=False):
            field = _location(tuple(err["loc"]))
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "is not a known field"
            details.append({"field": field, "message": message})
        summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        raise ValidationFailed(f"invalid request: {summary}", details=details) from None


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON Merge Patch (RFC 7386), without changing `target`: objects merge member by member,
    null removes a member (so an optional field falls back to its default), anything else
    replaces it."""
    merged = dict(target)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        elif isinstance(value, dict):
            current = merged.get(name)
            merged[name] = merge_patch(current if isinstance(current, dict) else {}, value)
        else:
            merged[name] = value
    return merged
