"""At most one send per (campaign, recipient), however SQS delivers (docs/design.md#invariant-3)."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from chalicelib.services import jobs
from chalicelib.store import messages
from local.pumps import LambdaContext, invoke
from local.sandbox import SandboxServer
from tests.conftest import Api, Brand, campaign_body


def _launched_campaign(api: Api, brand: Brand, phones: list[str], rate: float = 50) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        schedule={"send_rate": rate, "window": {"start": "00:00", "end": "24:00"}}))
    cid = str(body["id"])
    api.call("POST", f"/campaigns/{cid}/recipients", brand, body="\n".join(phones),
             content_type="text/plain")
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 200, body
    jobs.launch(brand.brand_id, cid)  # what the control-queue consumer runs
    return cid


def _sqs_event(brand: Brand, cid: str, phones: list[str]) -> dict[str, Any]:
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "r", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:proactive-dev-send",
        "body": json.dumps({"brand_id": brand.brand_id, "campaign_id": cid, "phone": p,
                            "due_at": 0, "retry": 0}),
        "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "awsRegion": "us-east-1",
    } for p in phones]}


def _send_handler() -> Any:
    """The send consumer, invoked as the local stack's pumps do (the IAM check sees its calls)."""
    from app import app

    return lambda event, context: invoke(app, "send_messages", event, context)


def _drain_send_queue(cid: str, seconds: float = 20) -> None:
    """Deliver what the consumers put back on the queue (late for a slot), as Lambda would."""
    import time

    from chalicelib import aws
    from chalicelib.config import get_settings

    sqs, url = aws.client("sqs"), get_settings().send_queue_url
    deadline = time.time() + seconds
    while time.time() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        batch = got.get("Messages") or []
        if not batch:
            if all(m.status not in ("QUEUED", "SCHEDULED", "SENDING")
                   for m in messages.iter_campaign(cid, consistent=True)):
                return
            continue
        event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"],
                              "receiptHandle": m["ReceiptHandle"], "attributes": {},
                              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                              "eventSourceARN": "arn", "awsRegion": "us-east-1"} for m in batch]}
        _send_handler()(event, LambdaContext("send_messages"))
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_a_message_delivered_twice_is_sent_once(api: Api, brand: Brand,
                                                sandbox: SandboxServer) -> None:
    phones = ["+12125550101", "+12125550102"]
    cid = _launched_campaign(api, brand, phones)
    handler = _send_handler()
    first = handler(_sqs_event(brand, cid, phones), LambdaContext("send_messages"))
    second = handler(_sqs_event(brand, cid, phones), LambdaContext("send_messages"))
    assert first == {"batchItemFailures": []} and second == {"batchItemFailures": []}
    _drain_send_queue(cid)
    sent_to = sorted(m["to"] for m in sandbox.sandbox.snapshot())
    assert sent_to == phones
    assert {m.status for m in messages.iter_campaign(cid, consistent=True)} == {"SENT"}


def test_two_consumers_with_the_same_message_at_once_send_it_once(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phones = [f"+1212555{n:04d}" for n in range(110, 118)]
    cid = _launched_campaign(api, brand, phones)
    handler = _send_handler()
    barrier = threading.Barrier(4)
    results: list[Any] = []

    def consume() -> None:
        barrier.wait()
        results.append(handler(_sqs_event(brand, cid, phones), LambdaContext("send_messages")))

    threads = [threading.Thread(target=consume) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == {"batchItemFailures": []} for r in results)
    _drain_send_queue(cid)  # the release at launch and any message late for its slot
    sent_to = sorted(m["to"] for m in sandbox.sandbox.snapshot())
    assert sent_to == sorted(phones)


def test_cancelled_campaign_sends_nothing_more(api: Api, brand: Brand,
                                               sandbox: SandboxServer) -> None:
    phones = ["+12125550121", "+12125550122"]
    cid = _launched_campaign(api, brand, phones)
    status, _ = api.call("POST", f"/campaigns/{cid}/cancel", brand)
    assert status == 200
    _send_handler()(_sqs_event(brand, cid, phones), LambdaContext("send_messages"))
    assert sandbox.sandbox.snapshot() == []
    states = {m.phone: (m.status, m.error_code) for m in messages.iter_campaign(cid, True)}
    assert states == {p: ("SKIPPED", "CANCELLED") for p in phones}


def test_unreadable_message_is_reported_as_a_batch_item_failure(api: Api, brand: Brand,
                                                                sandbox: SandboxServer) -> None:
    event = _sqs_event(brand, "cmp_x", ["+12125550101"])
    event["Records"][0]["body"] = "not json"
    result = _send_handler()(event, LambdaContext("send_messages"))
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_a_batch_s_claims_take_only_the_waiting_messages(
        api: Api, brand: Brand) -> None:
    phones = [f"+1212555{n:04d}" for n in range(130, 136)]
    cid = _launched_campaign(api, brand, phones)
    now = 1_900_000_000.0
    # Given one message claimed by another consumer and one already sent
    assert messages.claim(cid, phones[0], "other", now, 60) is not None
    assert messages.claim(cid, phones[1], "earlier", now, 60) is not None
    assert messages.record_sent(cid, phones[1], "earlier", "SM" + "1" * 32, "sms", now)
    # When a batch claims all six at once
    attempts = {p: f"attempt-{n}" for n, p in enumerate(phones)}
    ours = messages.claim_many(cid, attempts, now, 60)
    # Then it gets the four that were waiting, as stored after its claim, and no other
    assert sorted(ours) == phones[2:]
    assert all(m.status == "SENDING" and m.attempt_id == attempts[p] and m.attempts == 1
               and m.text for p, m in ours.items())
    other, sent = messages.get(cid, phones[0]), messages.get(cid, phones[1])
    assert other is not None and (other.status, other.attempt_id) == ("SENDING", "other")
    assert sent is not None and sent.status == "SENT"
    # and a second claim of the same messages gets none of them
    assert messages.claim_many(cid, {p: "again" for p in phones}, now, 60) == {}
