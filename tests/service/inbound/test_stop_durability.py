"""A STOP (or any reply) is never lost to a transient error (issue 11.5): the gateway does not
retry a webhook we answered with an error, so what could not be applied at once is put on the
inbound queue before the webhook answers 200, and the inbound consumer applies it later, once."""

from __future__ import annotations

from typing import Any

from chalicelib.store import conversations, messages, optouts
from local.sandbox import SandboxServer
from tests import awscalls
from tests.conftest import Api, Brand
from tests.service.inbound.conftest import (
    Twilio,
    drain_inbound_queue,
    launch_and_drain,
    launch_and_send,
)

CONSUMER, OTHER = "+12125550181", "+12125550182"


def _writes_to(table: str) -> Any:
    return lambda params: params.get("TableName") == table


def _texts_to(sandbox: SandboxServer, phone: str) -> list[str]:
    return [m["body"] for m in sandbox.sandbox.snapshot() if m["to"].endswith(phone)]


def test_a_stop_throttled_at_the_opt_out_write_is_applied_once_the_fault_clears(
        api: Api, twilio: Twilio, brand: Brand, sandbox: SandboxServer,
        aws: dict[str, str]) -> None:
    with awscalls.faults.inject("dynamodb", "PutItem",
                                when=_writes_to(aws["OPT_OUTS_TABLE"])) as fault:
        status, answer = twilio.reply(CONSUMER, brand.sms_number, "STOP")
        assert status == 200, answer  # the gateway will not retry: we have it, durably
        assert fault.fired >= 1
        assert optouts.get(brand.brand_id, CONSUMER) is None  # not applied yet
        # The consumer tries while the table still throttles: the event stays on the queue,
        # reported as this batch's one failure (the rest of a batch is not redelivered).
        [answer] = drain_inbound_queue()
        assert len(answer["batchItemFailures"]) == 1
        assert optouts.get(brand.brand_id, CONSUMER) is None

    drain_inbound_queue()
    stored = optouts.get(brand.brand_id, CONSUMER)
    assert stored is not None and (stored.source, stored.keyword) == ("keyword", "STOP")
    [confirmation] = _texts_to(sandbox, CONSUMER)
    assert "unsubscribed" in confirmation
    assert drain_inbound_queue() == []  # nothing left behind

    sandbox.sandbox.clear()
    cid = launch_and_drain(api, brand, [CONSUMER, OTHER])
    assert [m["to"] for m in sandbox.sandbox.snapshot()] == [OTHER]
    skipped = messages.get(cid, CONSUMER)
    assert skipped is not None and (skipped.status, skipped.error_code) == ("SKIPPED",
                                                                            "OPTED_OUT")


def test_a_queued_stop_and_the_gateways_retry_of_it_have_effect_once(
        twilio: Twilio, brand: Brand, sandbox: SandboxServer, aws: dict[str, str]) -> None:
    sid = "SM" + "7" * 32
    with awscalls.faults.inject("dynamodb", "PutItem", when=_writes_to(aws["OPT_OUTS_TABLE"])):
        assert twilio.reply(CONSUMER, brand.sms_number, "STOP", sid=sid)[0] == 200
    # The gateway's connection-failure retry of the same message arrives before the consumer
    # runs: it is applied at once; the queued copy then finds it done.
    assert twilio.reply(CONSUMER, brand.sms_number, "STOP", sid=sid)[0] == 200
    [answer] = drain_inbound_queue()
    assert answer["batchItemFailures"] == []
    assert optouts.opted_out(brand.brand_id, [CONSUMER]) == {CONSUMER}
    assert len(_texts_to(sandbox, CONSUMER)) == 1


def test_when_even_the_queue_refuses_the_webhook_answers_503(
        twilio: Twilio, brand: Brand, aws: dict[str, str]) -> None:
    with awscalls.faults.inject("dynamodb", "PutItem", when=_writes_to(aws["OPT_OUTS_TABLE"])), \
            awscalls.faults.inject("sqs", "SendMessage"):
        status, answer = twilio.reply(CONSUMER, brand.sms_number, "STOP")
    assert status == 503, answer
    assert answer["error"]["code"] == "INBOUND_UNAVAILABLE"
    assert optouts.get(brand.brand_id, CONSUMER) is None
    assert drain_inbound_queue() == []


def test_a_reply_throttled_at_the_conversation_write_reaches_the_agent_once(
        api: Api, twilio: Twilio, brand: Brand, aws: dict[str, str]) -> None:
    cid = launch_and_send(api, brand, [CONSUMER])
    with awscalls.faults.inject("dynamodb", "PutItem",
                                when=_writes_to(aws["CONVERSATIONS_TABLE"])):
        status, answer = twilio.reply(CONSUMER, brand.sms_number, "Is it in blue?")
        assert status == 200, answer
    assert conversations.page(brand.brand_id, None, None, 10, None)[0] == []
    drain_inbound_queue()
    [conversation] = conversations.page(brand.brand_id, None, None, 10, None)[0]
    full = conversations.get(brand.brand_id, conversation.conversation_id)
    assert [(e.author, e.text) for e in full.entries][-1] == ("consumer", "Is it in blue?")
    assert [e.author for e in full.entries].count("consumer") == 1
    message = messages.get(cid, CONSUMER)
    assert message is not None and message.status == "RESPONDED"
