"""Pure domain behaviour the walking skeleton relies on (no network, no AWS)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from chalicelib.domain import content, phones, recipients, scheduler
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.inputs import CampaignIn, parse_body


@pytest.mark.parametrize("typed", ["12125550123", "+12125550123", "1(212)5550123",
                                   "+1(212)5550123", "+1 212 555 0123", "1.212.555.0123",
                                   "1-212-555-0123"])
def test_every_accepted_form_gives_the_same_number(typed: str) -> None:
    result = phones.normalize(typed)
    assert isinstance(result, phones.Phone)
    assert result.e164 == "+12125550123"
    assert result.zones == ("America/New_York",)


def test_us_number_without_country_code_is_named_as_such() -> None:
    result = phones.normalize("212 555 0123")
    assert isinstance(result, phones.PhoneError)
    assert result.code == "MISSING_COUNTRY_CODE"


def test_excel_scientific_notation_gets_a_clear_error() -> None:
    result = phones.normalize("1.2125550123E+10")
    assert isinstance(result, phones.PhoneError)
    assert "scientific notation" in result.message


def test_typed_list_reports_each_bad_line_and_the_first_line_of_a_duplicate() -> None:
    text = "+1 212 555 0101\nnot a phone\n12125550101\n+1 212 555 0102, Hi Ann"
    results = recipients.parse_sms_rows(recipients.iter_rows(text),
                                        recipients.SmsContent("Hello", "Reply STOP to opt out"))
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].errors[0]["code"] == "INVALID_NUMBER"
    assert results[2].errors[0] == {"code": "DUPLICATE_NUMBER",
                                    "message": "+12125550101 is already on line 1"}
    assert results[3].text == "Hi Ann\nReply STOP to opt out"


def test_sms_over_140_characters_with_opt_out_is_rejected_unless_allowed() -> None:
    long_text = "x" * 125
    rows = list(recipients.iter_rows("+12125550101"))
    strict = recipients.parse_sms_rows(rows, recipients.SmsContent(long_text, "Reply STOP to "
                                                                   "opt out"))
    assert strict[0].errors[0]["code"] == "MESSAGE_TOO_LONG"
    allowed = recipients.parse_sms_rows(rows, recipients.SmsContent(
        long_text, "Reply STOP to opt out", allow_multi_segment=True))
    assert allowed[0].ok and allowed[0].segments == 1


def test_segments_gsm_and_ucs2() -> None:
    assert content.sms_info("a" * 160).segments == 1
    assert content.sms_info("a" * 161).segments == 2
    assert content.sms_info("€" * 80).units == 160
    assert content.sms_info("é" * 10 + "ł").encoding == "UCS-2"
    assert content.sms_info("ł" * 71).segments == 2


def test_schedule_spaces_sends_by_the_rate_and_keeps_the_window() -> None:
    window = scheduler.Window.parse("08:00", "21:00")
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC).timestamp()  # 07:00 in New York
    zones = [["America/New_York"]] * 50 + [["America/Los_Angeles"]] * 50
    due = scheduler.schedule(zones, window, 2.0, start)
    assert all(d is not None for d in due)
    instants = sorted(d for d in due if d is not None)
    assert all(b - a >= 0.5 - 1e-9 for a, b in zip(instants, instants[1:], strict=False))
    for z, d in zip(zones, due, strict=True):
        assert d is not None and scheduler.in_window(z, window, d)
    # New York opens at 13:00 UTC; nobody is sent before it.
    assert min(instants) == datetime(2026, 3, 2, 13, 0, tzinfo=UTC).timestamp()
    assert math.isclose(instants[49] - instants[0], 24.5, abs_tol=1e-3)


def test_unknown_fields_and_wrong_types_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_body(CampaignIn, b'{"name": 5, "channel": "sms", "from_number": "x", '
                               b'"skill": "s", "text": "t", "colour": "red"}')
    fields = {d["field"] for d in err.value.details}
    assert fields == {"name", "colour"}


def test_missing_name_and_bad_json() -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_body(CampaignIn, b'{"channel": "sms", "from_number": "x", "skill": "s", '
                               b'"text": "t"}')
    assert err.value.details[0]["field"] == "name"
    with pytest.raises(ValidationFailed) as bad:
        parse_body(CampaignIn, b"{not json")
    assert bad.value.code == "INVALID_JSON"
