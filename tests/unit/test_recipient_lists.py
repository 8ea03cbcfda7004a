"""Phone numbers, segments and the list parser: properties, fuzzing, and the awkward cases."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone

from chalicelib.domain import content, phones, recipients, templates
from chalicelib.domain.errors import DomainError

NYC_LINES = st.integers(min_value=100, max_value=199)
AREA = st.sampled_from([212, 415, 602, 907, 305, 312, 646])
EXCHANGE = st.integers(min_value=201, max_value=999)
SUBSCRIBER = st.integers(min_value=0, max_value=9999)


def _forms(area: int, exchange: int, line: int) -> list[str]:
    d = f"{area}{exchange}{line:04d}"
    return [f"1{d}", f"+1{d}", f"1({area}){exchange}{line:04d}", f"+1({area}){exchange}{line:04d}",
            f"+1 {area} {exchange} {line:04d}", f"1.{area}.{exchange}.{line:04d}",
            f"1-{area}-{exchange}-{line:04d}", f" +1 ({area}) {exchange}-{line:04d} ",
            f"001{d}"]


@given(AREA, EXCHANGE, SUBSCRIBER)
def test_every_accepted_form_of_a_number_gives_the_same_e164(area: int, exchange: int,
                                                             line: int) -> None:
    results = {phones.normalize(form) for form in _forms(area, exchange, line)}
    assert len(results) == 1, results
    only = results.pop()
    library = phonenumbers.parse(f"+1{area}{exchange}{line:04d}", None)
    if phonenumbers.is_valid_number(library):
        assert isinstance(only, phones.Phone)
        assert only.e164 == phonenumbers.format_number(library, phonenumbers.PhoneNumberFormat.E164)
    else:
        assert isinstance(only, phones.PhoneError) and only.code == "INVALID_NUMBER"


@settings(max_examples=300)
@given(st.text(alphabet="0123456789", min_size=8, max_size=15))
def test_fast_path_agrees_with_phonenumbers_on_any_digits(digits: str) -> None:
    ours = phones.normalize("+" + digits)
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        assert isinstance(ours, phones.PhoneError)
        return
    if not phonenumbers.is_valid_number(parsed):
        assert isinstance(ours, phones.PhoneError) and ours.code == "INVALID_NUMBER"
        return
    assert isinstance(ours, phones.Phone)
    assert ours.e164 == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    assert ours.country == phonenumbers.region_code_for_number(parsed)
    assert ours.zones == tuple(z for z in timezone.time_zones_for_number(parsed)
                               if z != "Etc/Unknown")


@pytest.mark.parametrize("typed,e164,country", [
    ("447400123456", "+447400123456", "GB"),
    ("+44 7400 123456", "+447400123456", "GB"),
    ("0044 7400 123456", "+447400123456", "GB"),
    ("+91 98765 43210", "+919876543210", "IN"),
    ("919876543210", "+919876543210", "IN"),
    ("+39 06 1234 5678", "+390612345678", "IT"),
])
def test_any_country_with_its_code_first(typed: str, e164: str, country: str) -> None:
    result = phones.normalize(typed)
    assert isinstance(result, phones.Phone) and (result.e164, result.country) == (e164, country)


@pytest.mark.parametrize("typed,code,words", [
    ("212 555 0123", "MISSING_COUNTRY_CODE", "+12125550123"),
    ("07400 123456", "MISSING_COUNTRY_CODE", "national"),
    # Singapore +65 9876 5432 as written, or +1 659 876 5432 (Alabama) without its 1.
    ("6598765432", "MISSING_COUNTRY_CODE", "ambiguous"),
    ("1.2125550123E+10", "INVALID_NUMBER", "scientific notation"),
    ("+1 600 123 4567", "INVALID_NUMBER", "not a valid number"),
    ("+44 7700 900123", "INVALID_NUMBER", "not a valid number"),  # Ofcom's drama range
    ("+999 1234 5678", "INVALID_NUMBER", "country code"),
    ("12345", "INVALID_NUMBER", "too few digits"),
    ("+1 212 555 O123", "INVALID_NUMBER", "not digits"),
    ("", "INVALID_NUMBER", "empty"),
])
def test_bad_numbers_say_which_rule_failed(typed: str, code: str, words: str) -> None:
    result = phones.normalize(typed)
    assert isinstance(result, phones.PhoneError), result
    assert result.code == code and words in result.message, result.message


def test_the_same_digits_with_a_plus_are_not_ambiguous() -> None:
    singapore = phones.normalize("+6598765432")
    assert isinstance(singapore, phones.Phone) and singapore.country == "SG"


def test_zones_keep_every_zone_of_the_number() -> None:
    alaska = phones.normalize("+1 907 555 0123")
    assert isinstance(alaska, phones.Phone) and len(alaska.zones) >= 2


GSM_TEXT = st.text(alphabet=sorted(content.GSM7_BASIC | content.GSM7_EXTENSION), max_size=500)


@given(GSM_TEXT)
def test_gsm_segments_fit_their_parts(text: str) -> None:
    info = content.sms_info(text)
    assert info.encoding == "GSM-7"
    units = len(text) + sum(1 for ch in text if ch in content.GSM7_EXTENSION)
    assert info.units == units
    if units == 0:
        assert info.segments == 0
    elif units <= 160:
        assert info.segments == 1
    else:
        assert info.segments * 153 >= units and (info.segments - 1) * 153 < units + \
            info.segments  # at most one septet lost per part to an escape pair


@given(st.text(min_size=1, max_size=300).filter(lambda t: not set(t) <= content.GSM7_ALL))
def test_ucs2_segments(text: str) -> None:
    info = content.sms_info(text)
    units = len(text.encode("utf-16-le")) // 2
    assert info.encoding == "UCS-2" and info.units == units
    assert info.segments == (1 if units <= 70 else info.segments)
    if units > 70:
        assert info.segments * 67 >= units


def test_segment_edges() -> None:
    assert content.sms_info("a" * 160).segments == 1
    assert content.sms_info("a" * 161).segments == 2
    assert content.sms_info("a" * 306).segments == 2
    assert content.sms_info("a" * 307).segments == 3
    # 152 plain septets then an escape pair: the pair cannot be split, so it starts part 2.
    assert content.sms_info("a" * 152 + "€" + "a" * 10).segments == 2
    assert content.sms_info("ł" * 70).segments == 1
    assert content.sms_info("ł" * 71).segments == 2


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_no_csv_bytes_crash_the_parser(data: bytes) -> None:
    spec = recipients.ListContent(channel="whatsapp", opt_out_text="Reply STOP",
                                  default_zone="America/New_York", body="Hi {{1}}")
    try:
        parsed = recipients.parse_list(recipients.decode(data), spec, 1000, "csv")
    except DomainError as error:  # the file as a whole gets a clear error
        assert error.status in (413, 422) and error.message
        return
    for result in parsed.results:
        assert result.line >= 1
        assert result.ok or all(e["code"] and e["message"] for e in result.errors)


@settings(max_examples=200)
@given(st.text(max_size=1000))
def test_no_text_crashes_the_parser(text: str) -> None:
    spec = recipients.ListContent(channel="prioritized", opt_out_text="Reply STOP",
                                  default_zone="America/New_York", body="Hi {{1}} {{2}}")
    try:
        recipients.parse_list(text, spec, 1000, "csv")
    except DomainError as error:
        assert error.status in (413, 422)


def _whatsapp(text: str, body: str = "Hi {{1}}, order {{2}} is ready",
              channel: str = "whatsapp") -> recipients.ParsedList:
    spec = recipients.ListContent(channel=channel, opt_out_text="Reply STOP to opt out",
                                  default_zone="America/Chicago", body=body)
    return recipients.parse_list(text, spec, 100_000, "csv")


def test_a_real_csv_file() -> None:
    data = ("\ufeffPhone,Name,Order\r\n"
            '+1 212 555 0101,"Doe, Jane",A-1\r\n'
            "12125550102,Bo,A-2,,\r\n"
            "\r\n"
            '+1 212 555 0103,"Multi\r\nline",A-3\r\n'
            "+1 212 555 0104,Al\r\n").encode()
    parsed = _whatsapp(recipients.decode(data))
    assert parsed.header == ["Phone", "Name", "Order"]
    by_line = {r.line: r for r in parsed.results}
    assert by_line[2].text == "Hi Doe, Jane, order A-1 is ready"
    assert by_line[3].ok and by_line[3].variables == ["Bo", "A-2"]
    assert by_line[5].ok and by_line[5].variables == ["Multi\nline", "A-3"] or \
        by_line[5].errors[0]["code"] == "INVALID_VARIABLE"
    assert by_line[7].errors[0]["code"] == "INSUFFICIENT_VARIABLES"


@pytest.mark.parametrize("line,code", [
    ("+12125550101,Ann", "INSUFFICIENT_VARIABLES"),
    ("+12125550101,Ann,A-1,extra", "TOO_MANY_VARIABLES"),
    ("+12125550101,,A-1", "EMPTY_VARIABLE"),
    ("+12125550101,Ann\tB,A-1", "INVALID_VARIABLE"),
    ("+12125550101,Ann," + "x" * 1100, "MESSAGE_TOO_LONG"),
    ("2125550101,Ann,A-1", "MISSING_COUNTRY_CODE"),
])
def test_whatsapp_line_errors(line: str, code: str) -> None:
    result = _whatsapp(line).results[0]
    assert [e["code"] for e in result.errors] == [code], result.errors


def test_prioritized_renders_the_sms_fallback_with_opt_out_and_checks_its_length() -> None:
    ok = _whatsapp("+12125550101,Ann,A-1", channel="prioritized").results[0]
    assert ok.fallback_text == "Hi Ann, order A-1 is ready\nReply STOP to opt out"
    assert ok.segments == 1 and ok.encoding == "GSM-7"
    long = _whatsapp("+12125550101,Ann," + "x" * 150, channel="prioritized").results[0]
    assert long.errors[0]["code"] == "MESSAGE_TOO_LONG"
    assert "SMS fallback" in long.errors[0]["message"]


def test_a_number_with_no_known_zone_uses_the_brand_zone_and_says_so() -> None:
    result = _whatsapp("+800 1234 5678,Ann,A-1").results[0]  # international freephone
    assert result.ok, result.errors
    assert result.zones == ("America/Chicago",) and "America/Chicago" in str(result.zone_note)


def test_duplicates_after_normalisation_name_the_first_line() -> None:
    results = _whatsapp("+1 212 555 0101,A,1\n12125550101,B,2\n1(212)555-0101,C,3").results
    assert results[0].ok
    assert [r.errors[0]["message"] for r in results[1:]] == [
        "+12125550101 is already on line 1"] * 2


def test_sms_text_with_unquoted_commas_is_kept_as_typed() -> None:
    spec = recipients.ListContent(channel="sms", opt_out_text="Reply STOP", text="Default")
    results = recipients.parse_list("+12125550101, Hi Ann, 30% for you\n+12125550102",
                                    spec, 100, "typed").results
    assert results[0].text == "Hi Ann, 30% for you\nReply STOP"
    assert results[1].text == "Default\nReply STOP"


def test_ucs2_text_under_140_characters_that_needs_two_segments_is_too_long() -> None:
    spec = recipients.ListContent(channel="sms", opt_out_text="Reply STOP", text="ł" * 80)
    result = recipients.parse_list("+12125550101", spec, 100, "typed").results[0]
    assert result.encoding == "UCS-2" and result.segments == 2
    assert result.errors[0]["code"] == "MESSAGE_TOO_LONG"


def test_limits_are_clear_errors() -> None:
    spec = recipients.ListContent(channel="sms", opt_out_text="", text="Hi")
    lines = "\n".join(f"+1212555{n:04d}" for n in range(101))
    with pytest.raises(DomainError) as typed:
        recipients.parse_list(lines, spec, recipients.TYPED_LIST_MAX_LINES, "typed")
    assert typed.value.status == 413 and typed.value.code == "TOO_MANY_LINES"
    with pytest.raises(DomainError) as utf:
        recipients.decode(b"+12125550101\n\xff\xfe")
    assert utf.value.status == 422 and "line 2" in utf.value.message


@pytest.mark.parametrize("body,ok", [
    ("Hi {{1}}, your order {{2}} is ready", True),
    ("No variables at all", True),
    ("Hi {{2}}", False),
    ("Hi {{1}} and {{3}}", False),
    ("Hi {{name}}", False),
    ("Hi {{0}}", False),
    ("x" * 1025, False),
])
def test_template_bodies(body: str, ok: bool) -> None:
    assert (templates.body_errors(body) == []) is ok


@pytest.mark.parametrize("variables,fallback", [(None, None), (["Ann", "A-1"], "Hi\nStop")])
def test_hand_written_message_items_match_the_model(variables: list[str] | None,
                                                     fallback: str | None) -> None:
    from chalicelib.store.messages import pending_message
    from chalicelib.store.models import MessageModel

    fields: dict[str, object] = dict(brand_id="b", skill="sales", channel="prioritized", line=7,
                                     text="Hi", variables=variables, fallback_text=fallback,
                                     zones=["America/New_York"], country="US", list_id=3)
    model = MessageModel("cmp_1", "+12125550101", status="PENDING", created_at=1700000000.25,
                         updated_at=1700000000.25, **fields)  # type: ignore[arg-type]
    assert pending_message("cmp_1", "+12125550101", now=1700000000.25,
                           **fields) == model.serialize()  # type: ignore[arg-type]
