"""Message content: SMS encoding and segments, opt-out text, the single-segment limit."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set and its extension table (extension characters cost two septets).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SMS_SINGLE_LIMIT = 140  # the product's whole-message limit, so a message is one segment
OPT_OUT_MAX = 42


@dataclass(frozen=True)
class SmsInfo:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    characters: int


def sms_info(text: str) -> SmsInfo:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    segments = 1 if units <= single else -(-units // multi)
    if units == 0:
        segments = 0
    return SmsInfo(encoding=encoding, units=units, segments=segments, characters=len(text))


def with_opt_out(text: str, opt_out_text: str) -> str:
    """The SMS as sent: the brand's opt-out text appended on its own line."""
    text = text.rstrip()
    if not opt_out_text:
        return text
    return f"{text}\n{opt_out_text}"
