"""Webhooks are accepted only when signed by the gateway for the exact public URL."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib import config
from chalicelib.messaging import webhooks
from chalicelib.store import conversations, optouts
from tests.conftest import Brand
from tests.service.inbound.conftest import PUBLIC, Twilio

CONSUMER = "+12125550161"


def test_signed_stop_is_accepted_and_answered_with_empty_twiml(twilio: Twilio,
                                                               brand: Brand) -> None:
    status, body = twilio.reply(CONSUMER, brand.sms_number, "STOP")
    assert status == 200
    assert "<Response>" in body
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == {CONSUMER}


def test_tampered_body_is_refused_and_changes_nothing(twilio: Twilio, brand: Brand) -> None:
    form = twilio.inbound_form(CONSUMER, brand.sms_number, "Hello")
    signature = webhooks.sign("test-token", PUBLIC + webhooks.INBOUND_PATH, form)
    tampered = urlencode({**form, "Body": "STOP"}).encode()
    status, body = twilio.post(webhooks.INBOUND_PATH, form, signature=signature, body=tampered)
    assert status == 403 and body["error"]["code"] == "SIGNATURE_INVALID"
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == set()


@pytest.mark.parametrize("signed_url", [
    "https://api.example.test/webhooks/twilio/inbound",  # without the stage path
    "https://evil.example.test/api/webhooks/twilio/inbound",  # another host
    "http://api.example.test/api/webhooks/twilio/inbound",  # another scheme
])
def test_signature_for_another_url_is_refused(twilio: Twilio, brand: Brand,
                                              signed_url: str) -> None:
    status, body = twilio.reply(CONSUMER, brand.sms_number, "STOP", signed_url=signed_url)
    assert status == 403 and body["error"]["code"] == "SIGNATURE_INVALID"
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == set()


def test_signature_with_another_token_is_refused(twilio: Twilio, brand: Brand) -> None:
    status, _ = twilio.reply(CONSUMER, brand.sms_number, "STOP", token="someone-else")
    assert status == 403
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == set()


def test_missing_signature_header_is_refused(twilio: Twilio, brand: Brand) -> None:
    status, body = twilio.reply(CONSUMER, brand.sms_number, "STOP", signature=None)
    assert status == 403 and "X-Twilio-Signature" in body["error"]["message"]
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == set()


def test_status_callback_without_signature_is_refused(twilio: Twilio, brand: Brand) -> None:
    status, _ = twilio.status("SM" + "0" * 32, "delivered", signature=None)
    assert status == 403


def test_non_ascii_body_is_verified_and_kept_exactly(twilio: Twilio, brand: Brand) -> None:
    text = "¿Me pueden llamar mañana? Merci beaucoup 😊 — 谢谢"
    status, _ = twilio.reply(CONSUMER, brand.sms_number, text)
    assert status == 200
    items, _ = conversations.page(brand.brand_id, None, None, 10, None)
    assert [c.last_text for c in items] == [text]


def test_custom_domain_is_the_url_that_is_verified(twilio: Twilio, brand: Brand,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_BASE_URL", "https://sms.brand.example/")
    config.reset_settings()
    custom = "https://sms.brand.example" + webhooks.INBOUND_PATH
    assert twilio.reply(CONSUMER, brand.sms_number, "Hi", signed_url=custom)[0] == 200
    assert twilio.reply(CONSUMER, brand.sms_number, "Hi")[0] == 403


def test_message_to_a_number_no_brand_owns_is_answered_without_effect(
        twilio: Twilio, brand: Brand) -> None:
    status, _ = twilio.reply(CONSUMER, "+13125550199", "STOP")
    assert status == 200
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == set()


def test_signed_webhook_without_from_names_the_field(twilio: Twilio, brand: Brand) -> None:
    form = twilio.inbound_form(CONSUMER, brand.sms_number, "Hi")
    del form["From"]
    status, body = twilio.post(webhooks.INBOUND_PATH, form)
    assert status == 400 and body["error"]["details"][0]["field"] == "From"


def test_a_body_that_is_not_utf8_fails_the_signature_check(twilio: Twilio, brand: Brand) -> None:
    form = twilio.inbound_form(CONSUMER, brand.sms_number, "caf\xe9")
    raw = urlencode(form, encoding="latin-1").encode()
    status, body = twilio.post(webhooks.INBOUND_PATH, form, body=raw)
    assert status == 403 and body["error"]["code"] == "SIGNATURE_INVALID"


def test_a_picture_reply_shows_its_url_in_the_transcript(twilio: Twilio, brand: Brand) -> None:
    form = twilio.inbound_form(CONSUMER, brand.sms_number, "")
    form.update({"NumMedia": "1", "MediaUrl0": "https://media.example.test/p/1.jpg",
                 "MediaContentType0": "image/jpeg"})
    assert twilio.post(webhooks.INBOUND_PATH, form)[0] == 200
    [conversation] = conversations.page(brand.brand_id, None, None, 10, None)[0]
    assert conversation.last_text == "[media] https://media.example.test/p/1.jpg"
