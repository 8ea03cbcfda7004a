"""Pure rules of brand setup, and phone masking in the JSON logs."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from chalicelib.domain import brand_rules
from chalicelib.logs import MaskingFormatter, logger, message_ref


def test_json_logs_mask_phone_numbers_in_every_field() -> None:
    assert isinstance(logger.registered_formatter, MaskingFormatter)
    out = io.StringIO()
    log = Logger(service="proactive-test", logger_formatter=MaskingFormatter(),
                 logger_handler=logging.StreamHandler(out), level="INFO")
    log.warning("gateway refused +12125550101 (whatsapp:+447700900123)",
                extra={"campaign_id": "cmp_1",
                       "message_id": message_ref("cmp_1", "+12125550101"),
                       "phone": "1 (212) 555-0102", "to": "+12125550103", "code": 21211})
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["message"] == "gateway refused +1212555**** (whatsapp:+44770090****)"
    assert line["campaign_id"] == "cmp_1" and line["message_id"] == "cmp_1/+1212555****"
    assert line["phone"] == "1 (212) 555-****" and line["to"] == "+1212555****"
    assert line["code"] == 21211
    assert "0101" not in json.dumps(line) and "0102" not in json.dumps(line)


@pytest.mark.parametrize(("raw", "channel", "kind", "expected"), [
    ("+1 (212) 555-0150", "sms", None, ("+12125550150", "long_code", 1.0)),
    ("+18005550150", "sms", "toll_free", ("+18005550150", "toll_free", 3.0)),
    ("55501", "sms", "short_code", ("55501", "short_code", 100.0)),
    ("+447911123456", "whatsapp", None, ("+447911123456", "whatsapp", 80.0)),
])
def test_sender_numbers_are_normalised_with_default_rates(raw: str, channel: str,
                                                          kind: str | None,
                                                          expected: tuple[str, str, float]) -> None:
    number = brand_rules.sender_number(raw, channel, kind, None)
    assert isinstance(number, brand_rules.SenderNumber)
    assert (number.number, number.kind, number.rate) == expected


@pytest.mark.parametrize(("raw", "channel", "kind", "field"), [
    ("12125550150", "sms", None, "number"),
    ("+1212", "sms", None, "number"),
    ("+12125550150", "sms", "whatsapp", "kind"),
    ("+18005550150", "sms", "long_code", "kind"),
    ("+12125550150", "sms", "toll_free", "kind"),
    ("5550", "sms", "long_code", "number"),
    ("+12125550150", "sms", "short_code", "number"),
])
def test_bad_sender_numbers_name_the_field(raw: str, channel: str, kind: str | None,
                                           field: str) -> None:
    problem = brand_rules.sender_number(raw, channel, kind, None)
    assert isinstance(problem, tuple) and problem[0] == field


def test_time_zones_must_be_iana() -> None:
    assert brand_rules.is_time_zone("America/New_York")
    assert brand_rules.is_time_zone("UTC")
    for bad in ("Etc/Unknown", "EST5", "America/Nowhere", "", " Europe/London", "../etc"):
        assert not brand_rules.is_time_zone(bad), bad
