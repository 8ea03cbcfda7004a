"""Replies become conversations routed to the campaign's skill with the outbound message as
context, published on EventBridge; agents read, answer and close them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.store import messages
from chalicelib.store.models import BrandModel, MessageModel
from local.sandbox import SandboxServer
from tests.conftest import Api, Brand
from tests.service.inbound.conftest import Twilio, launch_and_send

ANN, BOB = "+12125550181", "+12125550182"
TEXT = "Winter sale: 20% off this week\nReply STOP to opt out"


def _only_conversation(api: Api, brand: Brand, role: str = "agent") -> dict[str, Any]:
    status, page = api.call("GET", "/conversations", brand, role=role)
    assert status == 200, page
    [item] = page["items"]
    status, full = api.call("GET", f"/conversations/{item['id']}", brand, role=role)
    assert status == 200, full
    return dict(full)


def test_a_reply_opens_a_conversation_on_the_campaigns_skill_with_its_message_as_context(
        api: Api, twilio: Twilio, brand: Brand,
        events_queue: Callable[[], list[dict[str, Any]]]) -> None:
    cid = launch_and_send(api, brand, [ANN, BOB], skill="sales")
    assert twilio.reply(ANN, brand.sms_number, "Does it include boots?")[0] == 200

    conversation = _only_conversation(api, brand)
    assert conversation["skill"] == "sales" and conversation["campaign_id"] == cid
    assert conversation["campaign_name"] == "Winter sale"
    assert conversation["phone"] == ANN and conversation["status"] == "open"
    assert conversation["context"]["text"] == TEXT
    assert [(e["author"], e["text"]) for e in conversation["transcript"]] == [
        ("outbound", TEXT), ("consumer", "Does it include boots?")]
    answered = messages.get(cid, ANN)
    assert answered is not None and answered.status == "RESPONDED" and answered.responded_at
    untouched = messages.get(cid, BOB)
    assert untouched is not None and untouched.status == "SENT"

    [event] = events_queue()
    assert event["source"] == "proactive" and event["detail-type"] == "ConversationCreated"
    detail = event["detail"]
    assert (detail["brand_id"], detail["skill"], detail["campaign_id"], detail["phone"]) == (
        brand.brand_id, "sales", cid, ANN)
    assert detail["conversation_id"] == conversation["id"]
    assert detail["brand_number"] == brand.sms_number and detail["channel"] == "sms"
    assert [e["text"] for e in detail["transcript"]] == [TEXT, "Does it include boots?"]
    assert detail["message"]["text"] == "Does it include boots?"


def test_later_replies_join_the_open_conversation_and_respond_once(
        api: Api, twilio: Twilio, brand: Brand,
        events_queue: Callable[[], list[dict[str, Any]]]) -> None:
    cid = launch_and_send(api, brand, [ANN])
    twilio.reply(ANN, brand.sms_number, "Does it include boots?")
    first = messages.get(cid, ANN)
    assert first is not None
    twilio.reply(ANN, brand.sms_number, "Size 42 please")
    conversation = _only_conversation(api, brand)
    assert [e["text"] for e in conversation["transcript"]] == [
        TEXT, "Does it include boots?", "Size 42 please"]
    again = messages.get(cid, ANN)
    assert again is not None and again.responded_at == first.responded_at  # once

    created, joined = events_queue()
    assert (created["detail-type"], joined["detail-type"]) == ("ConversationCreated",
                                                               "ConsumerMessage")
    assert joined["detail"]["message"]["text"] == "Size 42 please"
    assert [e["text"] for e in joined["detail"]["transcript"]] == [
        TEXT, "Does it include boots?", "Size 42 please"]
    assert joined["detail"]["skill"] == "sales" and joined["detail"]["campaign_id"] == cid


def test_a_reply_without_a_campaign_in_the_look_back_goes_to_the_default_skill(
        api: Api, twilio: Twilio, brand: Brand) -> None:
    cid = launch_and_send(api, brand, [ANN], skill="sales")
    old = time.time() - 31 * 86400
    MessageModel(cid, ANN).update(actions=[MessageModel.sent_at.set(old)])
    twilio.reply(ANN, brand.sms_number, "Who is this?")
    conversation = _only_conversation(api, brand)
    assert conversation["skill"] == "support"  # the brand's default skill
    assert conversation["campaign_id"] is None and conversation["context"] is None
    message = messages.get(cid, ANN)
    assert message is not None and message.status == "SENT"


def test_the_look_back_period_is_the_brands(api: Api, twilio: Twilio, brand: Brand) -> None:
    cid = launch_and_send(api, brand, [ANN], skill="sales")
    MessageModel(cid, ANN).update(actions=[MessageModel.sent_at.set(time.time() - 40 * 86400)])
    BrandModel(brand.brand_id).update(actions=[BrandModel.lookback_days.set(60)])
    twilio.reply(ANN, brand.sms_number, "Still on?")
    assert _only_conversation(api, brand)["skill"] == "sales"


def test_another_brands_campaign_is_not_the_context(api: Api, twilio: Twilio, brand: Brand,
                                                    other_brand: Brand) -> None:
    launch_and_send(api, other_brand, [ANN], from_number=other_brand.sms_number)
    twilio.reply(ANN, brand.sms_number, "Hello?")
    conversation = _only_conversation(api, brand)
    assert conversation["campaign_id"] is None and conversation["skill"] == "support"
    assert api.call("GET", "/conversations", other_brand, role="agent")[1]["items"] == []


def test_agent_lists_by_skill_answers_from_the_campaign_number_and_closes(
        api: Api, twilio: Twilio, brand: Brand, sandbox: SandboxServer) -> None:
    launch_and_send(api, brand, [ANN, BOB], skill="sales")
    twilio.reply(ANN, brand.sms_number, "Does it include boots?")
    sandbox.sandbox.clear()

    status, sales = api.call("GET", "/conversations?skill=sales&status=open", brand,
                             role="agent")
    assert status == 200 and [c["phone"] for c in sales["items"]] == [ANN]
    assert api.call("GET", "/conversations?skill=support", brand, role="agent")[1][
        "items"] == []
    cnv = sales["items"][0]["id"]

    status, answered = api.call("POST", f"/conversations/{cnv}/messages", brand,
                                role="agent", json_body={"text": "Yes, boots too!"})
    assert status == 200, answered
    assert [(m["from_"], m["to"], m["body"]) for m in sandbox.sandbox.snapshot()] == [
        (brand.sms_number, ANN, "Yes, boots too!")]
    last = answered["transcript"][-1]
    assert (last["author"], last["text"]) == ("agent", "Yes, boots too!")
    assert last["sid"].startswith("SM")

    status, closed = api.call("POST", f"/conversations/{cnv}/close", brand, role="agent_manager")
    assert status == 200 and closed["status"] == "closed" and closed["closed_at"]
    assert api.call("GET", "/conversations?status=open", brand, role="agent")[1]["items"] == []
    status, body = api.call("POST", f"/conversations/{cnv}/messages", brand, role="agent",
                            json_body={"text": "one more"})
    assert status == 409, body

    # the consumer's next reply opens a new conversation
    twilio.reply(ANN, brand.sms_number, "Thanks!")
    status, page = api.call("GET", "/conversations?status=open", brand, role="agent")
    assert [c["last_text"] for c in page["items"]] == ["Thanks!"] and page["items"][0][
        "id"] != cnv


def test_agents_still_cannot_use_campaigns_and_other_brands_get_404(
        api: Api, twilio: Twilio, brand: Brand, other_brand: Brand) -> None:
    twilio.reply(ANN, brand.sms_number, "Hello?")
    cnv = _only_conversation(api, brand)["id"]
    for role in ("agent", "agent_manager"):
        assert api.call("GET", "/campaigns", brand, role=role)[0] == 403
        assert api.call("GET", f"/conversations/{cnv}", brand, role=role)[0] == 200
    assert api.call("GET", f"/conversations/{cnv}", other_brand, role="agent")[0] == 404
    assert api.call("POST", f"/conversations/{cnv}/close", other_brand, role="agent")[0] == 404
    assert api.call("GET", "/conversations", None)[0] == 401


def test_agent_answer_is_refused_once_the_consumer_opted_out(
        api: Api, twilio: Twilio, brand: Brand, sandbox: SandboxServer) -> None:
    twilio.reply(ANN, brand.sms_number, "Hello?")
    cnv = _only_conversation(api, brand)["id"]
    assert api.call("PUT", f"/optouts/{ANN}", brand, role="admin")[0] == 201
    sandbox.sandbox.clear()
    status, body = api.call("POST", f"/conversations/{cnv}/messages", brand, role="agent",
                            json_body={"text": "Are you there?"})
    assert status == 409 and sandbox.sandbox.snapshot() == []


def test_agent_answer_body_is_validated(api: Api, twilio: Twilio, brand: Brand) -> None:
    twilio.reply(ANN, brand.sms_number, "Hello?")
    cnv = _only_conversation(api, brand)["id"]
    status, body = api.call("POST", f"/conversations/{cnv}/messages", brand, role="agent",
                            json_body={"text": ""})
    assert status == 400 and body["error"]["details"][0]["field"] == "text"
    status, body = api.call("GET", "/conversations?status=pending", brand, role="agent")
    assert status == 400 and body["error"]["details"][0]["field"] == "status"


def test_stop_closes_the_open_conversation(api: Api, twilio: Twilio, brand: Brand) -> None:
    twilio.reply(ANN, brand.sms_number, "Hello?")
    twilio.reply(ANN, brand.sms_number, "STOP")
    conversation = _only_conversation(api, brand)
    assert conversation["status"] == "closed" and conversation["closed_by"] == (
        "consumer opted out")


def test_a_reply_to_a_newer_campaign_goes_to_that_campaigns_skill(
        api: Api, twilio: Twilio, brand: Brand) -> None:
    first = launch_and_send(api, brand, [ANN], skill="sales")
    twilio.reply(ANN, brand.sms_number, "Nice sale")
    # (a campaign that does not hold consumers in an open conversation, issue 14.11)
    second = launch_and_send(api, brand, [ANN], skill="support", name="Service notice",
                             text="Your warranty ends soon",
                             schedule={"hold_open_conversations": False})
    twilio.reply(ANN, brand.sms_number, "How do I extend it?")
    status, page = api.call("GET", "/conversations", brand, role="agent")
    newest, older = page["items"]
    assert (newest["skill"], newest["campaign_id"], newest["status"]) == ("support", second,
                                                                          "open")
    assert (older["skill"], older["campaign_id"], older["status"]) == ("sales", first, "closed")
    status, full = api.call("GET", f"/conversations/{newest['id']}", brand, role="agent")
    assert full["context"]["text"].startswith("Your warranty ends soon")


def test_whatsapp_reply_is_answered_on_whatsapp_from_the_number_it_was_sent_to(
        api: Api, twilio: Twilio, brand: Brand, sandbox: SandboxServer) -> None:
    from chalicelib.store.models import SenderNumberModel

    SenderNumberModel("+12125550190", brand_id=brand.brand_id, channel="whatsapp",
                      kind="whatsapp", rate=80).save()
    twilio.reply(f"whatsapp:{ANN}", "whatsapp:+12125550190", "Hola, ¿tienen tallas grandes?")
    conversation = _only_conversation(api, brand)
    assert conversation["channel"] == "whatsapp" and conversation["phone"] == ANN
    sandbox.sandbox.clear()
    status, _ = api.call("POST", f"/conversations/{conversation['id']}/messages", brand,
                         role="agent", json_body={"text": "¡Sí, hasta la XXL!"})
    assert status == 200
    assert [(m["from_"], m["to"]) for m in sandbox.sandbox.snapshot()] == [
        ("whatsapp:+12125550190", f"whatsapp:{ANN}")]
