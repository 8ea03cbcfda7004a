"""Message content: SMS encoding and segments, opt-out text, the single-segment limit."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# GSM 03.38 basic character set and its extension table (extension characters cost two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION

SMS_SINGLE_LIMIT = 140  # the product's whole-message limit, so a message is one segment
OPT_OUT_MAX = 42
GSM7_SINGLE, GSM7_PART = 160, 153  # septets: one message / each part of a concatenated one
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


@dataclass(frozen=True, slots=True)
class SmsInfo:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    characters: int


@lru_cache(maxsize=4096)
def sms_info(text: str) -> SmsInfo:
    """Encoding and exact segment count, as a handset or Twilio splits the message.

    A part never splits a GSM-7 escape pair (extension characters) nor a UTF-16 surrogate pair,
    so a message can need one more part than units / per-part size suggests.
    """
    chars = set(text)
    if chars <= GSM7_ALL:
        extension = chars & GSM7_EXTENSION
        units = len(text) + sum(text.count(ch) for ch in extension)
        encoding, single, part = "GSM-7", GSM7_SINGLE, GSM7_PART
        wide = extension
    else:
        units = len(text.encode("utf-16-le")) // 2
        encoding, single, part = "UCS-2", UCS2_SINGLE, UCS2_PART
        wide = {ch for ch in chars if ord(ch) > 0xFFFF}
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    elif not wide:
        segments = -(-units // part)
    else:
        segments = _pack(text, part, wide)
    return SmsInfo(encoding=encoding, units=units, segments=segments, characters=len(text))


def _pack(text: str, part: int, wide: set[str]) -> int:
    segments, used = 1, 0
    for ch in text:
        cost = 2 if ch in wide else 1
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return segments


def with_opt_out(text: str, opt_out_text: str) -> str:
    """The SMS as sent: the brand's opt-out text appended on its own line."""
    text = text.rstrip()
    if not opt_out_text:
        return text
    return f"{text}\n{opt_out_text}"
