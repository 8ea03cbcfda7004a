"""Keywords by text: STOP opts out brand-wide (every number, every channel), START opts back in,
HELP gets the brand's help text; each answered from the number that received it."""

from __future__ import annotations

import time

from chalicelib.domain import keywords
from chalicelib.services import jobs
from chalicelib.store import conversations, messages, optouts
from chalicelib.store.models import BrandModel, SenderNumberModel
from local.sandbox import SandboxServer
from tests.conftest import Api, Brand, campaign_body
from tests.service.inbound.conftest import Twilio, launch_and_send
from tests.service.test_send_once import _drain_send_queue

CONSUMER = "+12125550171"


def _replies_to(sandbox: SandboxServer, phone: str) -> list[dict[str, str]]:
    return [{"from": m["from_"], "to": m["to"], "body": m["body"]}
            for m in sandbox.sandbox.snapshot() if m["to"].endswith(phone)]


def test_every_opt_out_keyword_opts_out_and_confirms(twilio: Twilio, brand: Brand,
                                                     sandbox: SandboxServer) -> None:
    for n, word in enumerate(keywords.OPT_OUT):
        consumer = f"+1212555{200 + n:04d}"
        assert twilio.reply(consumer, brand.sms_number, f" {word.lower()}! ")[0] == 200
        stored = optouts.get(brand.brand_id, consumer)
        assert stored is not None, word
        assert (stored.source, stored.keyword, stored.number) == ("keyword", word,
                                                                  brand.sms_number)
        assert abs(float(stored.created_at) - time.time()) < 60
        [reply] = _replies_to(sandbox, consumer)
        assert reply["from"] == brand.sms_number and "unsubscribed" in reply["body"]
        assert "START" in reply["body"]


def test_every_opt_in_keyword_opts_back_in_and_confirms(twilio: Twilio, brand: Brand,
                                                        sandbox: SandboxServer) -> None:
    for n, word in enumerate(keywords.OPT_IN):
        consumer = f"+1212555{300 + n:04d}"
        twilio.reply(consumer, brand.sms_number, "STOP")
        assert optouts.opted_out(brand.brand_id, [consumer]) == {consumer}
        assert twilio.reply(consumer, brand.sms_number, word.capitalize())[0] == 200
        assert optouts.opted_out(brand.brand_id, [consumer]) == set(), word
        replies = _replies_to(sandbox, consumer)
        assert len(replies) == 2 and "subscribed again" in replies[1]["body"]


def test_every_help_keyword_gets_the_brands_help_text(twilio: Twilio, brand: Brand,
                                                      sandbox: SandboxServer) -> None:
    BrandModel(brand.brand_id).update(actions=[
        BrandModel.help_text.set("Acme: call 1-800-555-0199 or reply STOP to opt out.")])
    for n, word in enumerate(keywords.HELP):
        consumer = f"+1212555{400 + n:04d}"
        assert twilio.reply(consumer, brand.sms_number, f"{word.lower()}?")[0] == 200
        assert _replies_to(sandbox, consumer) == [{
            "from": brand.sms_number, "to": consumer,
            "body": "Acme: call 1-800-555-0199 or reply STOP to opt out."}]
        assert optouts.opted_out(brand.brand_id, [consumer]) == set()
    assert conversations.page(brand.brand_id, None, None, 10, None)[0] == []


def test_sentences_with_a_keyword_are_replies_not_keywords(twilio: Twilio, brand: Brand,
                                                          sandbox: SandboxServer) -> None:
    texts = ["please stop texting me at work", "Stop it", "yes please", "help me choose a size"]
    for n, text in enumerate(texts):
        consumer = f"+1212555{500 + n:04d}"
        assert twilio.reply(consumer, brand.sms_number, text)[0] == 200
        assert optouts.opted_out(brand.brand_id, [consumer]) == set()
        assert _replies_to(sandbox, consumer) == []  # no confirmation: an agent answers
    items = conversations.page(brand.brand_id, None, None, 10, None)[0]
    assert sorted(c.last_text or "" for c in items) == sorted(texts)
    assert {c.status for c in items} == {"open"}


def test_stop_to_brand_a_does_not_opt_out_of_brand_b(twilio: Twilio, brand: Brand,
                                                     other_brand: Brand) -> None:
    twilio.reply(CONSUMER, brand.sms_number, "STOP")
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == {CONSUMER}
    assert optouts.opted_out(other_brand.brand_id, [CONSUMER]) == set()


def test_stop_on_whatsapp_opts_out_of_sms_too(twilio: Twilio, brand: Brand,
                                              sandbox: SandboxServer) -> None:
    SenderNumberModel("+12125550190", brand_id=brand.brand_id, channel="whatsapp",
                      kind="whatsapp", rate=80).save()
    assert twilio.reply(f"whatsapp:{CONSUMER}", "whatsapp:+12125550190", "Stop")[0] == 200
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == {CONSUMER}
    [reply] = _replies_to(sandbox, CONSUMER)
    assert reply["from"] == "whatsapp:+12125550190" and reply["to"] == f"whatsapp:{CONSUMER}"


def test_a_number_whose_gateway_answers_keywords_gets_no_second_answer(
        api: Api, twilio: Twilio, brand: Brand, sandbox: SandboxServer) -> None:
    status, _ = api.call("PATCH", f"/numbers/%2B{brand.sms_number[1:]}", brand, role="admin",
                         json_body={"gateway_answers_keywords": True})
    assert status == 200
    for word in ("STOP", "HELP", "START", "STOP"):
        assert twilio.reply(CONSUMER, brand.sms_number, word)[0] == 200
    # recorded as always (the last word was STOP), answered by the gateway only
    stored = optouts.get(brand.brand_id, CONSUMER)
    assert stored is not None and stored.keyword == "STOP"
    assert _replies_to(sandbox, CONSUMER) == []


def test_stop_to_one_number_blocks_the_brands_other_numbers(api: Api, twilio: Twilio,
                                                            brand: Brand,
                                                            sandbox: SandboxServer) -> None:
    second = "+12125550191"
    SenderNumberModel(second, brand_id=brand.brand_id, channel="sms", rate=50).save()
    twilio.reply(CONSUMER, brand.sms_number, "STOP")
    sandbox.sandbox.clear()
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        from_number=second, schedule={"send_rate": 50, "window": {"start": "00:00",
                                                                  "end": "24:00"}}))
    cid = body["id"]
    api.call("POST", f"/campaigns/{cid}/recipients", brand,
             body=f"{CONSUMER}\n+12125550172", content_type="text/plain")
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid)
    assert [m["to"] for m in sandbox.sandbox.snapshot()] == ["+12125550172"]
    skipped = messages.get(cid, CONSUMER)
    assert skipped is not None and (skipped.status, skipped.error_code) == ("SKIPPED",
                                                                            "OPTED_OUT")


def test_a_retried_stop_webhook_has_effect_once(twilio: Twilio, brand: Brand,
                                                sandbox: SandboxServer) -> None:
    sid = "SM" + "5" * 32
    for _ in range(3):
        assert twilio.reply(CONSUMER, brand.sms_number, "STOP", sid=sid)[0] == 200
    assert len(_replies_to(sandbox, CONSUMER)) == 1


def test_a_retried_reply_joins_the_conversation_once(api: Api, twilio: Twilio,
                                                     brand: Brand) -> None:
    sid = "SM" + "6" * 32
    for _ in range(2):
        assert twilio.reply(CONSUMER, brand.sms_number, "Is it in blue?", sid=sid)[0] == 200
    [conversation] = conversations.page(brand.brand_id, None, None, 10, None)[0]
    full = conversations.get(brand.brand_id, conversation.conversation_id)
    assert [e.text for e in full.entries] == ["Is it in blue?"]


def test_stop_records_the_campaign_it_answered(api: Api, twilio: Twilio, brand: Brand) -> None:
    cid = launch_and_send(api, brand, [CONSUMER])
    twilio.reply(CONSUMER, brand.sms_number, "STOP")
    stored = optouts.get(brand.brand_id, CONSUMER)
    assert stored is not None and stored.campaign_id == cid
    message = messages.get(cid, CONSUMER)
    assert message is not None and message.status == "SENT"  # a keyword is not a response
