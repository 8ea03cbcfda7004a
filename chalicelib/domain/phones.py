"""Phone numbers as users type them -> E.164, country and every time zone they may be in.

Rule for a number without `+`: its leading digits are taken as the country code
(`16001234567` is +1 600 123 4567, `447700900123` is +44 7700 900123). A number that only makes
sense as a national number (e.g. a 10-digit US number without the leading 1) is reported as
MISSING_COUNTRY_CODE rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import timezone

_FORMATTING = re.compile(r"[\s().\-/]")
_DIGITS = re.compile(r"^\+?\d+$")
UNKNOWN_ZONE = "Etc/Unknown"

_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "the country code does not exist",
    phonenumbers.ValidationResult.TOO_SHORT: "too few digits for its country",
    phonenumbers.ValidationResult.TOO_LONG: "too many digits for its country",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits for its country",
}


@dataclass(frozen=True)
class Phone:
    e164: str
    country: str  # ISO region code, e.g. "US"
    zones: tuple[str, ...]  # every IANA zone the number may be in; empty when unknown


@dataclass(frozen=True)
class PhoneError:
    code: str  # INVALID_NUMBER | MISSING_COUNTRY_CODE
    message: str


def normalize(raw: str) -> Phone | PhoneError:
    text = _FORMATTING.sub("", raw.strip())
    if not text:
        return PhoneError("INVALID_NUMBER", "the phone number is empty")
    if "e+" in text.lower():
        return PhoneError(
            "INVALID_NUMBER",
            f"'{raw.strip()}' looks like a spreadsheet turned the number into scientific "
            "notation; format the column as text and export again",
        )
    if not _DIGITS.match(text):
        return PhoneError("INVALID_NUMBER", f"'{raw.strip()}' contains characters that are not "
                          "digits")
    digits = text.lstrip("+")
    if len(digits) < 8:
        return PhoneError("INVALID_NUMBER", "too few digits for a phone number with country code")
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return PhoneError("INVALID_NUMBER", "not a phone number")
    if not phonenumbers.is_valid_number(parsed):
        if not text.startswith("+") and _looks_national(digits):
            return PhoneError(
                "MISSING_COUNTRY_CODE",
                f"'{raw.strip()}' has no country code; write it with the country code first "
                "(e.g. 1 for the US: 1" + digits + ")",
            )
        reason = _REASONS.get(phonenumbers.is_possible_number_with_reason(parsed),
                              "not an assigned number range for its country")
        return PhoneError("INVALID_NUMBER", f"'{raw.strip()}' is not a valid number: {reason}")
    region = phonenumbers.region_code_for_number(parsed) or "ZZ"
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164=e164, country=region, zones=zones_for(parsed))


def _looks_national(digits: str) -> bool:
    """A 10-digit NANP number without its leading 1 (the common omission)."""
    if len(digits) != 10:
        return False
    try:
        candidate = phonenumbers.parse("+1" + digits, None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(candidate))


def zones_for(parsed: phonenumbers.PhoneNumber) -> tuple[str, ...]:
    zones = timezone.time_zones_for_number(parsed)
    return tuple(z for z in zones if z != UNKNOWN_ZONE)
