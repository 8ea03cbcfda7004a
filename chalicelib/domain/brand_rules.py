"""Rules of brand setup that need no AWS: time zones, sender numbers, skill ids."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

import phonenumbers

OPT_OUT_TEXT_MAX = 42  # characters reserved for the opt-out text in a 140-character SMS
MAX_SENDER_RATE = 1000.0
SKILL_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
# Messages per second a sender of each kind may send when the admin gives no rate (Twilio's
# published defaults: US long code 1/s, toll-free 3/s, short code 100/s, WhatsApp 80/s).
SENDER_RATE_DEFAULTS = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0,
                        "whatsapp": 80.0}
KINDS_BY_CHANNEL = {"sms": ("long_code", "toll_free", "short_code"), "whatsapp": ("whatsapp",)}
_SHORT_CODE = re.compile(r"^\d{3,8}$")


def is_time_zone(name: str) -> bool:
    if not name or name.startswith("Etc/Unknown") or name != name.strip():
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class SenderNumber:
    number: str
    channel: str
    kind: str
    rate: float


def sender_number(raw: str, channel: str, kind: str | None,
                  rate: float | None) -> SenderNumber | tuple[str, str]:
    """A validated sender number, or (field, message) saying what is wrong."""
    kind = kind or ("whatsapp" if channel == "whatsapp" else "long_code")
    if kind not in KINDS_BY_CHANNEL[channel]:
        return "kind", (f"a {channel} number must be of kind "
                        + " or ".join(KINDS_BY_CHANNEL[channel]))
    text = raw.strip()
    if kind == "short_code":
        if not _SHORT_CODE.match(text):
            return "number", "a short code is 3 to 8 digits, e.g. 55501"
        number = text
    else:
        if not text.startswith("+"):
            return "number", f"'{text}' must be in E.164 form: + then country code and number"
        digits = re.sub(r"[\s().-]", "", text)
        try:
            parsed = phonenumbers.parse(digits, None)
        except phonenumbers.NumberParseException:
            return "number", f"'{text}' is not a phone number"
        if not phonenumbers.is_valid_number(parsed):
            return "number", f"'{text}' is not a valid phone number"
        number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        is_toll_free = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.TOLL_FREE
        if kind == "toll_free" and not is_toll_free:
            return "kind", f"{number} is not a toll-free number"
        if kind == "long_code" and is_toll_free:
            return "kind", f"{number} is a toll-free number: use kind toll_free"
    return SenderNumber(number, channel, kind, rate or SENDER_RATE_DEFAULTS[kind])


def skill_id_from_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40]
    return slug or "skill"
