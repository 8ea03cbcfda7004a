"""Phone numbers as users type them -> E.164, country and every time zone they may be in.

The rule for the country code (docs/api.md, "Recipients and templates"):
- `+` or `00` first: what follows starts with the country code (`+44 7911 123456`,
  `0044 7911 123456`).
- Digits only, no `+`: the leading digits are still the country code (`16001234567` is
  +1 600 123 4567, `447911123456` is +44 7911 123456), because every list line must carry one.
- A leading single `0` is a national trunk prefix (`07911 123456`): MISSING_COUNTRY_CODE.
- Without `+`, a 10-digit string that is a valid US/Canada number once `1` is put in front is the
  common omission of the `1`: MISSING_COUNTRY_CODE. If the same digits are also a valid number of
  another country read as written (`6598765432`: Singapore +65 9876 5432, or +1 659 876 5432 in
  Alabama) the line is ambiguous and is refused the same way, naming both readings; a `+`
  settles it.

Speed (bench/recipients.py): a list is mostly one country, so the common form (+1 and ten digits)
skips phonenumbers' text parser, validity and type are computed once (the library's is_valid and
time_zones_for_number each recompute them), and zone lists are looked up by prefix and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberType, timezone
from phonenumbers import phonenumberutil as _util
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.re_util import re_compile
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

UNKNOWN_ZONE = "Etc/Unknown"
# Characters people put in numbers that carry no meaning: spaces, dots, dashes, slashes, brackets.
_FORMATTING = str.maketrans("", "", " \t\u00a0().-/\u2010\u2011\u2012\u2013\u2014")
_NON_DIGIT = re.compile(r"[^0-9]")
_SCIENTIFIC = re.compile(r"^[0-9]+(\.[0-9]+)?[eE]\+?[0-9]+$")
_number_type_helper: Any = getattr(_util, "_number_type_helper")  # noqa: B009 - private API
_GEOGRAPHICAL = _util.is_number_type_geographical

_REASONS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "the country code does not exist",
    phonenumbers.ValidationResult.TOO_SHORT: "too few digits for its country",
    phonenumbers.ValidationResult.TOO_LONG: "too many digits for its country",
    phonenumbers.ValidationResult.INVALID_LENGTH: "wrong number of digits for its country",
}


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    country: str  # ISO region code, e.g. "US"; "001" for non-geographic numbers (+800...)
    zones: tuple[str, ...]  # every IANA zone the number may be in; empty when unknown


@dataclass(frozen=True, slots=True)
class PhoneError:
    code: str  # INVALID_NUMBER | MISSING_COUNTRY_CODE
    message: str


def normalize(raw: str) -> Phone | PhoneError:
    text = raw.strip()
    if not text:
        return PhoneError("INVALID_NUMBER", "the phone number is empty")
    compact = text.translate(_FORMATTING)
    if compact.startswith("+"):
        international, digits = True, compact[1:]
    elif compact.startswith("00"):
        international, digits = True, compact[2:]
    else:
        international, digits = False, compact
    if not digits.isdigit() or not digits.isascii():
        return _not_digits(text, compact)
    if not international and digits[0] == "0":
        return PhoneError("MISSING_COUNTRY_CODE", f"'{text}' is written as a national number "
                          "(leading 0); write it with its country code instead of the 0, "
                          "e.g. +44 for the UK")
    if len(digits) < 8:
        return PhoneError("INVALID_NUMBER", f"'{text}' has too few digits for a phone number "
                          "with its country code")
    if len(digits) > 17:
        return PhoneError("INVALID_NUMBER", f"'{text}' has too many digits for a phone number")
    result = _lookup(digits)
    if not international and len(digits) == 10 and digits[0] != "1":
        nanp = _lookup("1" + digits)
        if isinstance(nanp, Phone):
            if isinstance(result, Phone):
                return PhoneError(
                    "MISSING_COUNTRY_CODE",
                    f"'{text}' is ambiguous: {result.e164} ({result.country}) as written, or "
                    f"{nanp.e164} ({nanp.country}) if the leading 1 was left out; write it "
                    "with '+' and its country code")
            return PhoneError(
                "MISSING_COUNTRY_CODE",
                f"'{text}' has no country code; write it with the country code first "
                f"(e.g. 1 for the US: {nanp.e164})")
    if isinstance(result, PhoneError):
        return PhoneError(result.code, f"'{text}' {result.message}")
    return result


def _not_digits(text: str, compact: str) -> PhoneError:
    if _SCIENTIFIC.match(compact):
        return PhoneError(
            "INVALID_NUMBER",
            f"'{text}' looks like a spreadsheet turned the number into scientific notation "
            "(its last digits are lost); format the column as text and export again")
    if "+" in compact[1:]:
        return PhoneError("INVALID_NUMBER", f"'{text}' has a '+' that is not at the start")
    bad = sorted({c for c in compact.lstrip("+") if not ("0" <= c <= "9")})
    return PhoneError("INVALID_NUMBER", f"'{text}' contains characters that are not digits: "
                      + " ".join(repr(c) for c in bad[:5]))


@lru_cache(maxsize=65536)
def _lookup(digits: str) -> Phone | PhoneError:
    """`digits` start with the country code. Cached: duplicates and re-checks cost nothing."""
    if len(digits) == 11 and digits[0] == "1" and digits[1] in "23456789":
        # The common form, built as phonenumbers.parse would build it, without its text parser.
        number = PhoneNumber(country_code=1, national_number=int(digits[1:]))
    else:
        try:
            number = phonenumbers.parse("+" + digits, None)
        except phonenumbers.NumberParseException:
            return PhoneError("INVALID_NUMBER", "is not a phone number: the country code "
                              "does not exist")
    nsn = phonenumbers.national_significant_number(number)
    country_code = int(number.country_code or 0)
    region, kind = _region_and_type(country_code, nsn)
    if kind == PhoneNumberType.UNKNOWN:
        reason = _REASONS.get(phonenumbers.is_possible_number_with_reason(number),
                              "not an assigned number range for its country")
        return PhoneError("INVALID_NUMBER", f"is not a valid number: {reason}")
    e164 = f"+{country_code}{nsn}"
    if _GEOGRAPHICAL(kind, country_code):
        zones = _zones_by_prefix(e164[1:1 + TIMEZONE_LONGEST_PREFIX])
    else:
        zones = _zones_by_prefix(str(country_code))
    return Phone(e164=e164, country=region or "ZZ", zones=zones)


def _region_and_type(country_code: int, nsn: str) -> tuple[str | None, int]:
    """phonenumbers' region_code_for_number and number_type in one pass (the library finds a
    NANP number's region by checking its type, then checks the type again)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions:
        return None, PhoneNumberType.UNKNOWN
    if len(regions) == 1:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
        if metadata is None:
            return None, PhoneNumberType.UNKNOWN
        return regions[0], _number_type_helper(nsn, metadata)
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re_compile(metadata.leading_digits).match(nsn):
                return region, _number_type_helper(nsn, metadata)
            continue
        kind = _number_type_helper(nsn, metadata)
        if kind != PhoneNumberType.UNKNOWN:
            return region, kind
    return None, PhoneNumberType.UNKNOWN


@lru_cache(maxsize=16384)
def _zones_by_prefix(digits: str) -> tuple[str, ...]:
    """The zones of the longest prefix of `digits` in phonenumbers' time zone data."""
    for length in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
        zones = TIMEZONE_DATA.get(digits[:length])
        if zones is not None:
            return tuple(z for z in zones if z != UNKNOWN_ZONE)
    return ()


def zones_for(parsed: PhoneNumber) -> tuple[str, ...]:
    zones = timezone.time_zones_for_number(parsed)
    return tuple(z for z in zones if z != UNKNOWN_ZONE)


def digits_of(raw: str) -> str:
    return _NON_DIGIT.sub("", raw)
