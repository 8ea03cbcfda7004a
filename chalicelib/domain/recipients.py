"""Recipient lists: one recipient a line, phone first; after it the template variables in order
(WhatsApp, Prioritized) or an optional per-recipient text (SMS).

One parser for typed lists and CSV files: UTF-8 with or without BOM, CRLF or LF, quoted fields
(with commas or new lines), empty trailing columns, an optional header row. Pure: takes text,
returns a result per line; storage and the request's limits live in the services.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain import content, phones, templates
from chalicelib.domain.errors import PayloadTooLarge, Unprocessable

TYPED_LIST_MAX_LINES = 100
CSV_MAX_ROWS = 100_000
PREVIEW_MAX_ROWS = 1_000  # POST /recipients/parse: larger files go through the upload
INPUT_ECHO_MAX = 500  # characters of a line kept in its result
WHATSAPP_BODY_MAX = templates.BODY_MAX

# A first row is a header when its first field has no digit and names the phone column.
_HEADER_WORDS = frozenset({"phone", "phones", "number", "numbers", "mobile", "cell", "cellphone",
                           "tel", "telephone", "msisdn", "recipient", "recipients", "contact",
                           "whatsapp", "sms", "to", "e164", "destination"})
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(slots=True)
class LineResult:
    line: int
    input: str
    phone: str | None = None
    country: str | None = None
    zones: tuple[str, ...] = ()
    text: str | None = None
    encoding: str | None = None
    segments: int | None = None
    characters: int | None = None
    variables: list[str] | None = None
    fallback_text: str | None = None
    zone_note: str | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, code: str, message: str) -> None:
        self.errors.append({"code": code, "message": message})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "input": self.input,
            "phone": self.phone,
            "country": self.country,
            "zones": list(self.zones),
            "text": self.text,
            "encoding": self.encoding,
            "segments": self.segments,
            "characters": self.characters,
            "characters_left": None if self.characters is None
            else content.SMS_SINGLE_LIMIT - self.characters,
            "errors": self.errors,
        }
        if self.variables is not None:
            out["variables"] = self.variables
        if self.fallback_text is not None:
            out["fallback_text"] = self.fallback_text
        if self.zone_note is not None:
            out["zone_note"] = self.zone_note
        return out


@dataclass(frozen=True)
class ListContent:
    """What each line is rendered with."""

    channel: str  # sms | whatsapp | prioritized
    opt_out_text: str
    default_zone: str = ""  # the brand's time zone, for numbers with no known zone
    text: str = ""  # SMS: the campaign's text (a line may bring its own)
    body: str = ""  # WhatsApp / Prioritized: the approved template's body
    allow_multi_segment: bool = False


@dataclass(frozen=True)
class SmsContent:
    text: str
    opt_out_text: str
    allow_multi_segment: bool = False


@dataclass
class ParsedList:
    results: list[LineResult]
    header: list[str] | None = None

    @property
    def accepted(self) -> list[LineResult]:
        return [r for r in self.results if r.ok]

    @property
    def rejected(self) -> list[LineResult]:
        return [r for r in self.results if not r.ok]

    def summary(self) -> dict[str, Any]:
        invalid = sum(1 for r in self.results if not r.ok)
        return {"total": len(self.results), "valid": len(self.results) - invalid,
                "invalid": invalid, "header": self.header}


# --- reading ----------------------------------------------------------------------------------

def decode(data: bytes) -> str:
    """A CSV file's bytes as text: UTF-8, with or without a byte-order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise Unprocessable(
            f"line {line}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it "
            "as 'CSV UTF-8 (comma delimited)' and upload it again", code="NOT_UTF8") from None


def iter_rows(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(first line number, raw text, fields) of every record that is not blank.

    A quoted field may span lines; the record's line number is the line it starts on, as a
    spreadsheet or editor shows it. A header row is not skipped here (see read_list).
    """
    buffer: list[str] = []
    source = io.StringIO(text.removeprefix("\ufeff"), newline=None)

    def lines() -> Iterator[str]:
        for physical in source:
            buffer.append(physical)
            yield physical

    reader = csv.reader(lines(), skipinitialspace=True)
    line = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Unprocessable(f"line {line}: this line cannot be read as CSV ({exc})",
                                code="CSV_UNREADABLE") from None
        start = line
        line += len(buffer)
        raw = "".join(buffer).rstrip("\n")
        buffer.clear()
        if any(f.strip() for f in fields):
            yield start, raw, [f.strip() for f in fields]


def is_header(fields: list[str]) -> bool:
    first = fields[0].lower() if fields else ""
    if any(ch.isdigit() for ch in first):
        return False
    return any(word in _HEADER_WORDS for word in _WORDS.findall(first))


def read_list(text: str, max_rows: int, kind: str) -> tuple[list[tuple[int, str, list[str]]],
                                                            list[str] | None]:
    """The data rows (and the header, if the first row is one); PayloadTooLarge past the limit.

    `kind` is "typed" (a typed list: lines) or "csv" (a file: data rows).
    """
    rows: list[tuple[int, str, list[str]]] = []
    header: list[str] | None = None
    for row in iter_rows(text):
        if header is None and not rows and is_header(row[2]):
            header = row[2]
            continue
        if len(rows) == max_rows:
            raise too_many_rows(max_rows, kind)
        rows.append(row)
    return rows, header


def too_many_rows(max_rows: int, kind: str) -> PayloadTooLarge:
    if kind == "typed":
        return PayloadTooLarge(
            f"a typed list holds at most {max_rows} lines; this one has more. Upload larger "
            "lists as a CSV file.", code="TOO_MANY_LINES")
    if kind == "preview":
        return PayloadTooLarge(
            f"a preview takes at most {max_rows:,} rows; upload the file to the campaign "
            "(POST /campaigns/{id}/recipients/upload) to check all of it", code="TOO_MANY_ROWS")
    return PayloadTooLarge(
        f"a CSV file holds at most {max_rows:,} recipients (data rows); this one has more. "
        "Split it into several campaigns. Nothing was stored.", code="TOO_MANY_ROWS")


# --- checking and rendering -------------------------------------------------------------------

def parse_rows(rows: Iterable[tuple[int, str, list[str]]], spec: ListContent,
               seen: dict[str, int] | None = None) -> list[LineResult]:
    """A result for every row: the number, its zones, the rendered message, or its errors.

    `seen` (number -> first line) carries duplicate detection across calls on one list.
    """
    seen = {} if seen is None else seen
    results: list[LineResult] = []
    whatsapp = spec.channel in ("whatsapp", "prioritized")
    body = templates.parse_body(spec.body) if whatsapp else None
    sms_default = content.with_opt_out(spec.text, spec.opt_out_text)
    no_zone_note = (f"no time zone is known for this number; the brand's time zone "
                    f"{spec.default_zone} is used for its sending window")
    default_zones = (spec.default_zone,) if spec.default_zone else ()
    normalize = phones.normalize
    for number, raw, fields in rows:
        result = LineResult(number, raw if len(raw) <= INPUT_ECHO_MAX
                            else raw[:INPUT_ECHO_MAX] + "…")
        results.append(result)
        phone = normalize(fields[0]) if fields else phones.PhoneError(
            "INVALID_NUMBER", "the phone number is empty")
        if isinstance(phone, phones.PhoneError):
            result.error(phone.code, phone.message)
        else:
            result.phone, result.country = phone.e164, phone.country
            if phone.zones:
                result.zones = phone.zones
            else:
                result.zones = default_zones
                result.zone_note = no_zone_note
            first = seen.setdefault(phone.e164, number)
            if first != number:
                result.error("DUPLICATE_NUMBER", f"{phone.e164} is already on line {first}")
        if body is not None:
            _whatsapp_line(result, fields, body, spec)
        else:
            _sms_line(result, raw, fields, spec, sms_default)
    return results


def _sms_line(result: LineResult, raw: str, fields: list[str], spec: ListContent,
              sms_default: str) -> None:
    if len(fields) > 1:
        if len(fields) > 2 and '"' not in raw:
            own = raw.split(",", 1)[1].strip()  # unquoted commas: the text exactly as typed
            own = own.rstrip(",").strip()  # empty trailing columns
        else:
            own = ",".join(f for f in fields[1:]).strip().rstrip(",").strip()
    else:
        own = ""
    text = content.with_opt_out(own, spec.opt_out_text) if own else sms_default
    if not (own or spec.text.strip()):
        result.error("EMPTY_MESSAGE", "there is no message text for this recipient")
        return
    _sms_fit(result, text, spec, "the message")
    result.text = text


def _sms_fit(result: LineResult, text: str, spec: ListContent, what: str) -> None:
    info = content.sms_info(text)
    result.encoding, result.segments, result.characters = (info.encoding, info.segments,
                                                           info.characters)
    if spec.allow_multi_segment:
        return
    if info.characters > content.SMS_SINGLE_LIMIT:
        result.error(
            "MESSAGE_TOO_LONG",
            f"{what} with the opt-out text is {info.characters} characters; the limit is "
            f"{content.SMS_SINGLE_LIMIT} (allow multi-segment messages to send it as "
            f"{info.segments} segments)")
    elif info.segments > 1:
        result.error(
            "MESSAGE_TOO_LONG",
            f"{what} with the opt-out text has characters outside the GSM alphabet, so it goes "
            f"as UCS-2 (70 characters a segment) in {info.segments} segments; use plain "
            "characters or allow multi-segment messages")


def _whatsapp_line(result: LineResult, fields: list[str], body: templates.Body,
                   spec: ListContent) -> None:
    wanted = body.variable_count
    values = fields[1:]
    while len(values) > wanted and not values[-1]:
        values.pop()  # empty trailing columns, as spreadsheets export them
    if len(values) < wanted:
        result.error("INSUFFICIENT_VARIABLES",
                     f"the template needs {wanted} variable(s) after the phone; this line gives "
                     f"{len(values)}")
        return
    if len(values) > wanted:
        result.error("TOO_MANY_VARIABLES",
                     f"the template takes {wanted} variable(s) after the phone; this line gives "
                     f"{len(values)}")
        return
    bad = False
    for index, value in enumerate(values, start=1):
        if not value:
            result.error("EMPTY_VARIABLE", "variable {{" + str(index) + "}} is empty")
            bad = True
            continue
        problem = templates.value_error(value)
        if problem:
            result.error("INVALID_VARIABLE", "variable {{" + str(index) + "}} " + problem)
            bad = True
    if bad:
        return
    text = body.render(values)
    result.variables = values
    result.text = text
    if len(text) > WHATSAPP_BODY_MAX:
        result.error("MESSAGE_TOO_LONG", f"the filled-in template is {len(text)} characters; "
                     f"WhatsApp allows {WHATSAPP_BODY_MAX}")
        return
    if spec.channel == "prioritized":
        fallback = content.with_opt_out(text, spec.opt_out_text)
        result.fallback_text = fallback
        _sms_fit(result, fallback, spec, "the SMS fallback")


def parse_sms_rows(rows: Iterable[tuple[int, str, list[str]]],
                   sms: SmsContent) -> list[LineResult]:
    """SMS lines (kept for callers of the walking skeleton)."""
    return parse_rows(rows, ListContent(channel="sms", opt_out_text=sms.opt_out_text,
                                        text=sms.text,
                                        allow_multi_segment=sms.allow_multi_segment))


def parse_list(text: str, spec: ListContent, max_rows: int, kind: str) -> ParsedList:
    """Read and check a whole list (typed or CSV text)."""
    rows, header = read_list(text, max_rows, kind)
    return ParsedList(parse_rows(rows, spec), header)
