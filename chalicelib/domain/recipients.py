"""Recipient lists: one recipient a line, phone first, then an optional per-recipient SMS text.

Pure: takes text, returns a result per line. Storage and limits of the request live elsewhere.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain import content, phones

TYPED_LIST_MAX_LINES = 100


@dataclass
class LineResult:
    line: int
    input: str
    phone: str | None = None
    country: str | None = None
    zones: tuple[str, ...] = ()
    text: str | None = None
    encoding: str | None = None
    segments: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, code: str, message: str) -> None:
        self.errors.append({"code": code, "message": message})

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "input": self.input,
            "phone": self.phone,
            "country": self.country,
            "zones": list(self.zones),
            "text": self.text,
            "encoding": self.encoding,
            "segments": self.segments,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class SmsContent:
    text: str
    opt_out_text: str
    allow_multi_segment: bool = False


def iter_rows(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, raw line, fields) for every non-blank line; quoted fields may hold commas."""
    for number, raw in enumerate(io.StringIO(text.lstrip("\ufeff")), start=1):
        stripped = raw.rstrip("\r\n")
        if not stripped.strip():
            continue
        fields = next(csv.reader([stripped], skipinitialspace=True), [])
        yield number, stripped, [f.strip() for f in fields]


def parse_sms_rows(rows: Iterable[tuple[int, str, list[str]]],
                   sms: SmsContent) -> list[LineResult]:
    seen: dict[str, int] = {}
    results: list[LineResult] = []
    for number, raw, fields in rows:
        result = LineResult(line=number, input=raw)
        results.append(result)
        while fields and fields[-1] == "":
            fields.pop()  # empty trailing columns, as spreadsheets export them
        phone = phones.normalize(fields[0] if fields else "")
        if isinstance(phone, phones.PhoneError):
            result.error(phone.code, phone.message)
        else:
            result.phone, result.country, result.zones = phone.e164, phone.country, phone.zones
            first = seen.setdefault(phone.e164, number)
            if first != number:
                result.error("DUPLICATE_NUMBER", f"{phone.e164} is already on line {first}")
        own_text = ",".join(fields[1:]).strip() if len(fields) > 1 else ""
        body = content.with_opt_out(own_text or sms.text, sms.opt_out_text)
        info = content.sms_info(body)
        result.text, result.encoding, result.segments = body, info.encoding, info.segments
        if not (own_text or sms.text).strip():
            result.error("EMPTY_MESSAGE", "there is no message text for this recipient")
        elif info.characters > content.SMS_SINGLE_LIMIT and not sms.allow_multi_segment:
            result.error(
                "MESSAGE_TOO_LONG",
                f"the message with the opt-out text is {info.characters} characters; the limit "
                f"is {content.SMS_SINGLE_LIMIT} (allow multi-segment messages to send "
                f"{info.segments} segments)",
            )
    return results
