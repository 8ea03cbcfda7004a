"""Request bodies of the admin API (brand settings, sender numbers, skills, API keys)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from chalicelib.domain import brand_rules
from chalicelib.domain.inputs import MIN_RATE, Partial, Strict, WindowIn

OPT_OUT_TEXT_MAX = brand_rules.OPT_OUT_TEXT_MAX
GATEWAY_KEYWORDS = ("true when the gateway answers STOP/START/HELP on this number itself (e.g. "
                    "Twilio Advanced Opt-Out): opt-outs are still recorded, but the service "
                    "sends no confirmation of its own")


class BrandSettingsIn(Partial):
    """Fields left out keep their value."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    time_zone: str | None = Field(default=None, description="IANA zone, e.g. America/New_York")
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2,3}-[A-Z]{2}$",
                               description="how the web tool writes dates, e.g. en-US "
                               "(MM/DD/YYYY) or en-GB (DD/MM/YYYY)")
    window: WindowIn | None = Field(default=None, description="default sending window")
    opt_out_text: str | None = Field(default=None, min_length=1, max_length=OPT_OUT_TEXT_MAX)
    help_text: str | None = Field(default=None, min_length=1, max_length=320)
    lookback_days: int | None = Field(default=None, ge=1, le=365)
    default_skill: str | None = Field(default=None, min_length=1)
    keyword_lifts_admin_optouts: bool | None = Field(
        default=None, description="true: a consumer's START/UNSTOP/YES also lifts an opt-out an "
        "admin added (default false: only an admin removes it)")

    @field_validator("keyword_lifts_admin_optouts")
    @classmethod
    def _true_or_false(cls, value: bool | None) -> bool | None:
        if value is None:  # given as null: there is no "unset" for this setting
            raise ValueError("must be true or false")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not brand_rules.is_time_zone(value):
            raise ValueError(f"'{value}' is not an IANA time zone (e.g. America/New_York)")
        return value

    @model_validator(mode="after")
    def _something(self) -> BrandSettingsIn:
        if not self.model_fields_set:
            raise ValueError("give at least one setting to change")
        return self


class NumberIn(Strict):
    number: str = Field(min_length=1, description="E.164, e.g. +12125550100 (short codes: "
                        "their digits)")
    channel: Literal["sms", "whatsapp"]
    kind: Literal["long_code", "toll_free", "short_code", "whatsapp"] | None = Field(
        default=None, description="default: long_code for sms, whatsapp for whatsapp")
    rate: float | None = Field(default=None, ge=MIN_RATE, le=brand_rules.MAX_SENDER_RATE,
                               description="messages per second; default by kind")
    gateway_answers_keywords: bool = Field(default=False, description=GATEWAY_KEYWORDS)

    @field_validator("gateway_answers_keywords")
    @classmethod
    def _keywords(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("channel") != "sms":
            raise ValueError("only an SMS number's gateway answers STOP/START/HELP itself")
        return value


class NumberPatchIn(Partial):
    """Fields left out keep their value."""

    rate: float | None = Field(default=None, ge=MIN_RATE, le=brand_rules.MAX_SENDER_RATE,
                               description="messages per second")
    gateway_answers_keywords: bool | None = Field(default=None, description=GATEWAY_KEYWORDS)

    @model_validator(mode="after")
    def _something(self) -> NumberPatchIn:
        if not self.model_fields_set:
            raise ValueError("give at least one setting to change: rate, "
                             "gateway_answers_keywords")
        return self


class SkillIn(Strict):
    id: str | None = Field(default=None, pattern=brand_rules.SKILL_ID_PATTERN,
                           description="lower case letters, digits, - and _; default: from name")
    name: str = Field(min_length=1, max_length=80)


class SkillPatchIn(Partial):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    retired: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> SkillPatchIn:
        if self.name is None and self.retired is None:
            raise ValueError("give 'name' and/or 'retired'")
        return self


class KeyIn(Strict):
    role: Literal["admin", "campaign_manager", "agent", "agent_manager"]
    label: str = Field(default="", max_length=100)
