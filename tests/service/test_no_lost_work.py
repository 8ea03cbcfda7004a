"""Issue 11 points 3, 4, 7 and 8a: no work is lost between a table write and a queue message,
retries are bounded, an ambiguous answer is never resent blind, and one send invocation keeps
inside its Lambda timeout. SQS faults go through tests/awscalls.py (botocore), gateway faults
through the sandbox; nothing of ours is patched."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app import app
from chalicelib import aws
from chalicelib.config import get_settings, reset_settings
from chalicelib.services import dispatch, jobs, minutely
from chalicelib.store import messages
from chalicelib.store.models import SenderNumberModel
from local.pumps import LambdaContext
from local.sandbox import Faults, SandboxServer
from tests import awscalls
from tests.conftest import Api, Brand, campaign_body
from tests.service.test_send_once import _drain_send_queue, _launched_campaign, _sqs_event

FINAL = set(messages.TERMINAL)


@pytest.fixture(autouse=True)
def quick_settings(aws: dict[str, str], sandbox_server: SandboxServer,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # An ambiguous send is reconciled 2 s after it (2 x the gateway timeout); a stalled launch
    # fan-out is asked for again after 1 s; sends may reach the gateway a bit late (busy host).
    monkeypatch.setenv("GATEWAY_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("FANOUT_GRACE_SECONDS", "1")
    monkeypatch.setenv("SEND_RATE_MARGIN_SECONDS", "0.3")
    reset_settings()
    sandbox_server.sandbox.set_faults(Faults())
    dispatch._CACHE.values.clear()
    yield
    sandbox_server.sandbox.set_faults(Faults())


def _control_queue(params: dict[str, Any]) -> bool:
    return bool(params.get("QueueUrl") == get_settings().control_queue_url)


def _send_queue(params: dict[str, Any]) -> bool:
    return bool(params.get("QueueUrl") == get_settings().send_queue_url)


def _pump(queue_url: str, handler: str, context_seconds: float = 900) -> int:
    """Deliver one batch of `queue_url` to `handler` as Lambda would; delete what succeeded."""
    sqs = aws.client("sqs")
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    batch = got.get("Messages") or []
    if not batch:
        return 0
    event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"],
                          "receiptHandle": m["ReceiptHandle"], "attributes": {},
                          "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                          "eventSourceARN": "arn", "awsRegion": "us-east-1"} for m in batch]}
    try:
        result = app.handler_map[handler](event, LambdaContext(handler, context_seconds))
    except Exception:  # noqa: BLE001 - as Lambda: the batch stays for SQS to deliver again
        return len(batch)
    failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
    for m in batch:
        if m["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return len(batch)


def _settle(cid: str, seconds: float = 60) -> dict[str, messages.MessageModel]:
    """Run what AWS would run (the one-minute release schedule, the control and send queue
    consumers) until every message of the campaign is in a final state, or time is up."""
    settings = get_settings()
    deadline = time.time() + seconds
    state: dict[str, messages.MessageModel] = {}
    while time.time() < deadline:
        minutely.tick()
        _pump(settings.control_queue_url, "run_jobs")
        while _pump(settings.send_queue_url, "send_messages"):
            pass
        state = {m.phone: m for m in messages.iter_campaign(cid, consistent=True)}
        if state and all(m.status in FINAL for m in state.values()):
            return state
        time.sleep(0.5)
    return state


def _sent_once(sandbox: SandboxServer, state: dict[str, messages.MessageModel]) -> None:
    """Every recipient SENT, each exactly once at the gateway, with the gateway's id."""
    got = sandbox.sandbox.snapshot()
    per_phone = Counter(m["to"] for m in got)
    assert {p: m.status for p, m in state.items()} == dict.fromkeys(state, "SENT")
    assert per_phone == Counter(list(state)), per_phone
    assert {p: m.sid for p, m in state.items()} == {m["to"]: m["sid"] for m in got}


def _new_campaign(api: Api, brand: Brand, phones: list[str], **schedule: Any) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(schedule={
        "send_rate": 50, "window": {"start": "00:00", "end": "24:00"}, **schedule}))
    assert status == 201, body
    cid = str(body["id"])
    status, body = api.call("POST", f"/campaigns/{cid}/recipients", brand,
                            body="\n".join(phones), content_type="text/plain")
    assert status == 200, body
    return cid


# --- 3. no work lost between a table write and a queue message ------------------------------


def test_launch_whose_job_message_is_lost_still_sends_to_everyone_once(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phones = ["+12125550141", "+12125550142", "+12125550143"]
    cid = _new_campaign(api, brand, phones)
    # When the control queue refuses the launch job right after the campaign became RUNNING
    with awscalls.faults.inject("sqs", "SendMessageBatch", times=1, when=_control_queue) as fault:
        status, body = api.call("POST", f"/campaigns/{cid}/launch", brand,
                                json_body={"consent": True})
    assert fault.fired == 1
    # Then the launch stands (no 500, no 409 on a retry needed) ...
    assert status == 200 and body["status"] == "RUNNING", body
    time.sleep(1.1)  # the fan-out grace
    # ... and the release schedule asks for the fan-out again: everyone is sent once
    _sent_once(sandbox, _settle(cid))


def test_scheduled_start_whose_job_message_is_lost_still_sends_to_everyone_once(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phones = ["+12125550144", "+12125550145"]
    launch_at = time.time() + 120
    cid = _new_campaign(api, brand, phones,
                        launch_at=datetime.fromtimestamp(launch_at, UTC).isoformat())
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 200 and body["status"] == "SCHEDULED", body
    # When the schedule starts it and the control queue refuses the launch job
    with awscalls.faults.inject("sqs", "SendMessageBatch", times=1, when=_control_queue) as fault:
        minutely.tick(launch_at + 1)
    assert fault.fired == 1
    assert api.call("GET", f"/campaigns/{cid}", brand)[1]["status"] == "RUNNING"
    # Then a later tick asks for it again, and everyone is sent once
    minutely.tick(launch_at + 10)
    _sent_once(sandbox, _settle(cid))


def test_release_refused_by_the_queue_is_released_again(api: Api, brand: Brand,
                                                        sandbox: SandboxServer) -> None:
    phones = ["+12125550146", "+12125550147"]
    cid = _new_campaign(api, brand, phones)
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    # When the send queue refuses the release made by the launch job
    with awscalls.faults.inject("sqs", "SendMessageBatch", times=1, when=_send_queue) as fault:
        _pump(get_settings().control_queue_url, "run_jobs")
    assert fault.fired == 1
    assert {m.status for m in messages.iter_campaign(cid, consistent=True)} == {"SCHEDULED"}
    _sent_once(sandbox, _settle(cid))


def test_resend_after_reconciliation_refused_by_the_queue_is_not_lost(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phone = "+12125550148"
    cid = _launched_campaign(api, brand, [phone])
    aws.client("sqs").purge_queue(QueueUrl=get_settings().send_queue_url)
    # a consumer claimed it and died before calling the gateway
    assert messages.claim(cid, phone, "dead-attempt", time.time() - 600, 60) is not None
    # When the reconciliation finds the gateway never got it and the queue refuses the resend
    assert minutely.tick()["resent"] == 1
    with awscalls.faults.inject("sqs", "SendMessageBatch", times=1, when=_send_queue) as fault:
        minutely.tick()
    assert fault.fired == 1
    # Then it is not left QUEUED with nothing on the queue: the next tick sends it, once
    _sent_once(sandbox, _settle(cid))


# --- 4. bounded retries, no blind resend after an ambiguous answer --------------------------


def test_a_502_after_the_gateway_accepted_is_looked_up_not_resent(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phones = ["+12125550151", "+12125550152"]
    cid = _launched_campaign(api, brand, phones)
    # When the gateway takes the messages but answers 502
    sandbox.sandbox.set_faults(Faults(bad_gateway_after_accept=1.0))
    while _pump(get_settings().send_queue_url, "send_messages"):
        pass
    assert len(sandbox.sandbox.snapshot()) == 2
    sandbox.sandbox.set_faults(Faults())
    # Then each is found at the gateway and recorded SENT with its id; none is sent twice
    _sent_once(sandbox, _settle(cid))


def test_a_send_the_gateway_never_takes_ends_failed_after_the_retry_cap(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phone = "+12125550153"
    cid = _launched_campaign(api, brand, [phone])
    # When every send is answered 500 and never taken (looked up, then tried again)
    sandbox.sandbox.set_faults(Faults(server_error=1.0))
    state = _settle(cid, seconds=90)
    # Then it ends FAILED with a reason the user can read, after the documented cap
    message = state[phone]
    cap = get_settings().max_send_attempts
    assert (message.status, message.error_code) == ("FAILED", messages.RETRIES_EXHAUSTED)
    assert message.reason and message.reason.startswith(f"gave up after {cap} send attempts")
    assert "20500" in message.reason
    assert sandbox.sandbox.snapshot() == []


def test_a_consumer_that_keeps_dying_before_the_send_stops_after_the_retry_cap(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phone = "+12125550154"
    cid = _launched_campaign(api, brand, [phone])
    aws.client("sqs").purge_queue(QueueUrl=get_settings().send_queue_url)
    cap = get_settings().max_send_attempts
    outcomes = []
    for attempt in range(cap + 1):
        # a consumer claims it and dies before calling the gateway; the schedule reconciles
        if messages.claim(cid, phone, f"dead-{attempt}", time.time() - 600, 60) is None:
            break
        outcomes.append(minutely.tick())
    message = messages.get(cid, phone)
    assert message is not None
    assert (message.status, message.error_code) == ("FAILED", messages.RETRIES_EXHAUSTED)
    assert len(outcomes) == cap and outcomes[-1]["retries_exhausted"] == 1
    assert sandbox.sandbox.snapshot() == []


# --- 7. one invocation stays inside its Lambda timeout --------------------------------------


def test_a_batch_across_five_busy_senders_returns_within_its_deadline(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    senders = [f"+1212555017{n}" for n in range(1, 6)]
    for number in senders:
        SenderNumberModel(number, brand_id=brand.brand_id, channel="sms", kind="long_code",
                          rate=1).save()
    campaigns: dict[str, list[str]] = {}
    for index, number in enumerate(senders):
        phones = [f"+121255502{index}{n}" for n in (1, 2)]
        status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
            from_number=number,
            schedule={"send_rate": 50, "window": {"start": "00:00", "end": "24:00"}}))
        assert status == 201, body
        cid = str(body["id"])
        api.call("POST", f"/campaigns/{cid}/recipients", brand, body="\n".join(phones),
                 content_type="text/plain")
        assert api.call("POST", f"/campaigns/{cid}/launch", brand,
                        json_body={"consent": True})[0] == 200
        jobs.launch(brand.brand_id, cid)
        campaigns[cid] = phones
    aws.client("sqs").purge_queue(QueueUrl=get_settings().send_queue_url)
    # Given one batch of 10 messages for 5 senders that each send 1 message a second (at least
    # 5 s one sender after the other), delivered to a function with a 4.5 s timeout
    records: list[dict[str, Any]] = []
    for cid, phones in campaigns.items():
        records += _sqs_event(brand, cid, phones)["Records"]
    context = LambdaContext("send_messages", timeout_seconds=4.5)
    result = app.handler_map["send_messages"]({"Records": records}, context)
    # Then the invocation returns before the timeout, with nothing failed back to SQS ...
    assert context.get_remaining_time_in_millis() > 0
    assert result == {"batchItemFailures": []}
    # ... and what did not fit is back on the queue: every message is sent, once
    for cid in campaigns:
        _drain_send_queue(cid)
    got = Counter(m["to"] for m in sandbox.sandbox.snapshot())
    assert got == Counter(p for phones in campaigns.values() for p in phones)
    for cid in campaigns:
        assert {m.status for m in messages.iter_campaign(cid, consistent=True)} == {"SENT"}


# --- 7b. releases that overlap put each message on the queue once -----------------------------


def test_releases_running_at_once_queue_each_message_once(api: Api, brand: Brand) -> None:
    """The launch job releases after each of its stages while the release schedule runs too
    (locally both in one process): each read the same rows as SCHEDULED before the other marked
    them, and a third of the send queue's entries were duplicates, each costing a receive and a
    refused claim."""
    phones = [f"+1212555{n:04d}" for n in range(3000, 3100)]
    cid = _new_campaign(api, brand, phones)
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    now = time.time()
    messages.schedule_many(cid, [(p, now) for p in phones], now, "", "sales")
    start = threading.Barrier(2)

    def release() -> None:
        start.wait()
        minutely.release_messages(time.time())

    releasers = [threading.Thread(target=release) for _ in range(2)]
    for thread in releasers:
        thread.start()
    for thread in releasers:
        thread.join()
    sqs, url = aws.client("sqs"), get_settings().send_queue_url
    queued: Counter[str] = Counter()
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=0).get("Messages") or []:
        for m in batch:
            body = json.loads(m["Body"])
            if body["campaign_id"] == cid:
                queued[body["phone"]] += 1
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert queued == Counter(phones)
    assert {m.status for m in messages.iter_campaign(cid, consistent=True)} == {"QUEUED"}


# --- 8a. a message parked again by a consumer is not marked QUEUED --------------------------


def test_a_message_parked_again_while_released_stays_findable(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    phone = "+12125550155"
    cid = _new_campaign(api, brand, [phone])
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    now = time.time()
    # Given the releaser read the message as SCHEDULED at its due instant and queued it ...
    messages.schedule_many(cid, [(phone, now)], now, "", "sales")
    (due,) = [d for d in messages.iter_due(now + 60) if d.campaign_id == cid]
    # ... and a consumer took that queue entry before the releaser marked it, found the window
    # closed and parked it again in the table for tomorrow
    assert messages.claim(cid, phone, "consumer", now, 60) is not None
    tomorrow = now + 86400
    assert messages.release_claim(cid, phone, "consumer", None, None, now, due_at=tomorrow,
                                  in_queue=False)
    # When the releaser marks what it released
    messages.mark_queued([due], now)
    # Then the message still waits where the release schedule finds it, at its new instant
    message = messages.get(cid, phone)
    assert message is not None and (message.status, message.due_at) == ("SCHEDULED", tomorrow)
    assert [d.phone for d in messages.iter_due(tomorrow) if d.campaign_id == cid] == [phone]


# --- 8b. a zone the runtime does not know --------------------------------------------------


def test_a_zone_missing_from_the_runtime_does_not_fail_the_launch(
        api: Api, brand: Brand, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture) -> None:
    phones = ["+12125550156", "+12125550157"]
    cid = _new_campaign(api, brand, phones)
    # Given one number's zone (from the number data) is missing from the runtime's database
    odd = messages.get(cid, phones[1])
    assert odd is not None
    odd.update(actions=[messages.MessageModel.zones.set(["America/Nowhere_New"])])
    # When the campaign is launched
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    _pump(get_settings().control_queue_url, "run_jobs")
    # Then the whole list is scheduled, and both are sent once; the fallback is logged
    assert {m.status for m in messages.iter_campaign(cid, consistent=True)} <= {
        "QUEUED", "SCHEDULED"}
    _sent_once(sandbox, _settle(cid))
    # (a structured log line: its fields are attributes of the record)
    warnings = [r for r in caplog.records
                if getattr(r, "unknown_zones", None) == ["America/Nowhere_New"]]
    assert warnings and warnings[0].levelname == "WARNING"
    assert getattr(warnings[0], "country", None) == "US"
