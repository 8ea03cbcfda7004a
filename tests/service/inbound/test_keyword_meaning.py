"""A reply is a keyword only when it means one (issue 11.6): START/UNSTOP/YES opt back in only a
consumer who is opted out; for anyone else they are ordinary replies. An admin's opt-out is not
lifted by a keyword unless the brand allows it."""

from __future__ import annotations

import pytest

from chalicelib.domain import keywords
from chalicelib.store import conversations, messages, optouts
from local.sandbox import SandboxServer
from tests.conftest import Api, Brand
from tests.service.inbound.conftest import Twilio, launch_and_send

CONSUMER = "+12125550161"
OFFER = "Reply YES for 20% off"


def _texts_to(sandbox: SandboxServer, phone: str) -> list[str]:
    return [m["body"] for m in sandbox.sandbox.snapshot() if m["to"].endswith(phone)]


def _transcripts(brand: Brand) -> list[list[tuple[str, str]]]:
    found = conversations.page(brand.brand_id, None, None, 10, None)[0]
    return [[(e.author, e.text) for e in conversations.get(brand.brand_id,
                                                           c.conversation_id).entries]
            for c in found]


def test_yes_to_an_offer_is_a_reply_to_the_agent_not_an_opt_in(
        api: Api, twilio: Twilio, brand: Brand, sandbox: SandboxServer) -> None:
    cid = launch_and_send(api, brand, [CONSUMER], text=f"Winter sale: {OFFER}")
    assert twilio.reply(CONSUMER, brand.sms_number, "Yes!")[0] == 200
    [transcript] = _transcripts(brand)
    assert transcript[-1] == ("consumer", "Yes!")
    assert OFFER in transcript[0][1]  # the agent sees what the consumer answered
    message = messages.get(cid, CONSUMER)
    assert message is not None and message.status == "RESPONDED"
    # Only the campaign message went to the consumer: no "you are subscribed again".
    assert len(_texts_to(sandbox, CONSUMER)) == 1
    assert optouts.get(brand.brand_id, CONSUMER) is None


@pytest.mark.parametrize("word", keywords.OPT_IN)
def test_an_opt_in_keyword_from_someone_not_opted_out_is_an_ordinary_reply(
        twilio: Twilio, brand: Brand, sandbox: SandboxServer, word: str) -> None:
    assert twilio.reply(CONSUMER, brand.sms_number, word.lower())[0] == 200
    assert _transcripts(brand) == [[("consumer", word.lower())]]
    assert _texts_to(sandbox, CONSUMER) == []


def test_a_keyword_does_not_lift_an_admins_opt_out(api: Api, twilio: Twilio, brand: Brand,
                                                   sandbox: SandboxServer) -> None:
    assert api.call("PUT", f"/optouts/{CONSUMER}", brand, role="admin")[0] == 201
    for word in keywords.OPT_IN:
        assert twilio.reply(CONSUMER, brand.sms_number, word)[0] == 200
    stored = optouts.get(brand.brand_id, CONSUMER)
    assert stored is not None and stored.source == "admin"
    assert not any("subscribed again" in text for text in _texts_to(sandbox, CONSUMER))
    # A person sees that the consumer asked (the conversation), and that the opt-out is an
    # admin's (the opt-outs API).
    [transcript] = _transcripts(brand)
    assert [text for _, text in transcript] == list(keywords.OPT_IN)
    status, listed = api.call("GET", f"/optouts?phone=%2B{CONSUMER[1:]}", brand, role="admin")
    assert status == 200 and [i["source"] for i in listed["items"]] == ["admin"]


def test_a_brand_may_let_a_keyword_lift_an_admins_opt_out(api: Api, twilio: Twilio,
                                                          brand: Brand,
                                                          sandbox: SandboxServer) -> None:
    status, read = api.call("GET", "/brand", brand)
    assert status == 200 and read["keyword_lifts_admin_optouts"] is False  # the default
    status, saved = api.call("PUT", "/brand", brand, role="admin",
                             json_body={"keyword_lifts_admin_optouts": True})
    assert status == 200 and saved["keyword_lifts_admin_optouts"] is True
    api.call("PUT", f"/optouts/{CONSUMER}", brand, role="admin")
    assert twilio.reply(CONSUMER, brand.sms_number, "START")[0] == 200
    assert optouts.get(brand.brand_id, CONSUMER) is None
    [confirmation] = _texts_to(sandbox, CONSUMER)
    assert "subscribed again" in confirmation


def test_a_keyword_lifts_the_consumers_own_and_the_carriers_opt_outs(
        twilio: Twilio, brand: Brand, sandbox: SandboxServer) -> None:
    import time

    optouts.record(brand.brand_id, CONSUMER, source="gateway", now=time.time())
    assert twilio.reply(CONSUMER, brand.sms_number, "UNSTOP")[0] == 200
    assert optouts.get(brand.brand_id, CONSUMER) is None
    assert ["subscribed again" in text for text in _texts_to(sandbox, CONSUMER)] == [True]


@pytest.mark.parametrize("value", ["yes", 1, None, "true"])
def test_the_setting_takes_true_or_false_only(api: Api, brand: Brand, value: object) -> None:
    status, answer = api.call("PUT", "/brand", brand, role="admin",
                              json_body={"keyword_lifts_admin_optouts": value})
    assert status == 400, answer
    assert "keyword_lifts_admin_optouts" in answer["error"]["message"], answer
