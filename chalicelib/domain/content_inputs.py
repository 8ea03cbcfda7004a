"""Request bodies of templates and recipient previews (see schemas.py for the conventions)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from chalicelib.domain import templates
from chalicelib.domain.inputs import Strict


class TemplateIn(Strict):
    name: str = Field(min_length=1, max_length=512,
                      description="lower case letters, digits and underscores",
                      json_schema_extra={"pattern": templates.NAME_PATTERN.pattern})
    language: str = Field(description="e.g. en, en_US, pt_BR",
                          json_schema_extra={"pattern": templates.LANGUAGE_PATTERN.pattern})
    category: Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
    body: str = Field(min_length=1, max_length=templates.BODY_MAX,
                      description="text with variables {{1}}, {{2}}, ... numbered from 1")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not templates.NAME_PATTERN.match(value):
            raise ValueError("must be lower case letters, digits and underscores, e.g. "
                             "winter_sale_2026")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not templates.LANGUAGE_PATTERN.match(value):
            raise ValueError("must be a language code such as en, en_US or pt_BR")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        problems = templates.body_errors(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


class ParseIn(Strict):
    channel: Literal["sms", "whatsapp", "prioritized"]
    text: str | None = Field(default=None, max_length=1600, description="SMS: the message")
    template_id: str | None = Field(default=None, description="WhatsApp / prioritized")
    allow_multi_segment: bool = False
    content: str = Field(description="the typed lines or a small CSV (at most 1,000 rows)")
