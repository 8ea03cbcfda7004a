"""Request bodies of SMS templates (see schemas.py for the conventions)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from chalicelib.domain import sms_templates
from chalicelib.domain.inputs import Partial, Strict


def _checked_text(value: str) -> str:
    problems = sms_templates.text_errors(value)
    if problems:
        raise ValueError("; ".join(problems))
    return value


class SmsTemplateIn(Strict):
    name: str = Field(min_length=1, max_length=255)
    text: str = Field(min_length=1, max_length=sms_templates.TEXT_MAX,
                      description="the message, with variables {{1}}, {{2}}, ... numbered from 1")
    default: bool = Field(default=False, description="make it the brand's default SMS template "
                          "(templateId \"1234567890\" of the LivePerson-compatible API)")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _checked_text(value)


class SmsTemplatePatchIn(Partial):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    text: str | None = Field(default=None, min_length=1, max_length=sms_templates.TEXT_MAX)
    default: Literal[True] | None = Field(default=None,
                                          description="true: make it the brand's default")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else _checked_text(value)
