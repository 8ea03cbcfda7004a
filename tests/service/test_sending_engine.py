"""The send path against moto and the sandbox gateway over HTTP: gateway outcomes (transient,
permanent, opted out, ambiguous), crash recovery by reconciliation, sender limits shared across
campaigns, WhatsApp and Prioritized sends, future launches and long waits."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib import aws
from chalicelib.config import get_settings, reset_settings
from chalicelib.services import dispatch, jobs, minutely, reconcile_sends
from chalicelib.store import messages, optouts
from chalicelib.store.models import CampaignModel, MessageModel, SenderNumberModel
from chalicelib.store.templates import TemplateModel
from local.pumps import LambdaContext, invoke
from local.sandbox import Faults, SandboxServer
from tests.conftest import Api, Brand, campaign_body
from tests.send_faults import after_send
from tests.service.test_send_once import _drain_send_queue, _launched_campaign, _sqs_event


@pytest.fixture(autouse=True)
def clean_faults(sandbox_server: SandboxServer) -> Iterator[None]:
    sandbox_server.sandbox.set_faults(Faults())
    dispatch._CACHE.values.clear()
    yield
    sandbox_server.sandbox.set_faults(Faults())


@pytest.fixture(autouse=True)
def roomy_rate_margin(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # this machine is shared by many test runs: allow sends to reach the gateway later
    monkeypatch.setenv("SEND_RATE_MARGIN_SECONDS", "0.3")
    reset_settings()


def _faults(sandbox: SandboxServer, **settings: Any) -> None:
    sandbox.sandbox.set_faults(Faults(**settings))


def _deliver(brand: Brand, cid: str, phones: list[str], retry: int = 0,
             due_at: float = 0) -> dict[str, Any]:
    from app import app

    event = _sqs_event(brand, cid, phones)
    for record in event["Records"]:
        body = json.loads(record["body"])
        body.update(retry=retry, due_at=due_at)
        record["body"] = json.dumps(body)
    result: dict[str, Any] = invoke(app, "send_messages", event, LambdaContext("send"))
    return result


def _state(cid: str) -> dict[str, MessageModel]:
    return {m.phone: m for m in messages.iter_campaign(cid, consistent=True)}


def _queue_counts() -> dict[str, int]:
    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=get_settings().send_queue_url, AttributeNames=["All"])["Attributes"]
    return {"visible": int(attrs["ApproximateNumberOfMessages"]),
            "delayed": int(attrs["ApproximateNumberOfMessagesDelayed"])}


def _purge_send_queue() -> None:
    aws.client("sqs").purge_queue(QueueUrl=get_settings().send_queue_url)


# --- gateway outcomes ---------------------------------------------------------------------


def test_transient_error_goes_back_on_the_queue_with_a_backoff(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550131"])
    _purge_send_queue()
    _faults(sandbox, rate_limited=1.0)  # 429: documented as not taken, safe to resend
    assert _deliver(brand, cid, ["+12125550131"]) == {"batchItemFailures": []}
    message = _state(cid)["+12125550131"]
    assert (message.status, message.error_code) == ("QUEUED", "20429")
    assert sandbox.sandbox.snapshot() == []
    # on the queue again, with a delay (backoff), not visible at once
    assert _queue_counts() == {"visible": 0, "delayed": 1}


def test_transient_errors_end_failed_with_the_last_error_after_the_last_attempt(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550132"])
    _faults(sandbox, rate_limited=1.0)
    cap = get_settings().max_send_attempts
    for attempt in range(cap):
        assert _state(cid)["+12125550132"].status in ("QUEUED", "SCHEDULED"), attempt
        _deliver(brand, cid, ["+12125550132"])
    message = _state(cid)["+12125550132"]
    assert (message.status, message.error_code) == ("FAILED", "RETRIES_EXHAUSTED")
    assert message.reason is not None and message.reason.startswith(
        f"gave up after {cap} send attempts; the last one: 20429: ")
    assert message.attempts == cap


def test_backoff_grows_exponentially_with_jitter() -> None:
    for retry in range(5):
        delay = dispatch.backoff_seconds(retry)
        assert 0.8 * 5 * 2 ** retry <= delay <= 1.2 * 5 * 2 ** retry
    assert dispatch.backoff_seconds(20) <= 1.2 * dispatch.BACKOFF_MAX_SECONDS


def test_permanent_error_fails_with_the_gateway_code(api: Api, brand: Brand,
                                                     sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550133"])
    _faults(sandbox, number_errors={"+12125550133": 21211})
    _deliver(brand, cid, ["+12125550133"])
    message = _state(cid)["+12125550133"]
    assert (message.status, message.error_code) == ("FAILED", "21211")


def test_carrier_opt_out_blocks_the_consumer_brand_wide_and_skips(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550134"])
    _faults(sandbox, number_errors={"+12125550134": 21610})
    _deliver(brand, cid, ["+12125550134"])
    message = _state(cid)["+12125550134"]
    assert (message.status, message.error_code) == ("SKIPPED", "OPTED_OUT")
    assert optouts.opted_out(brand.brand_id, ["+12125550134"]) == {"+12125550134"}


def test_timeout_after_accept_is_reconciled_not_resent(api: Api, brand: Brand,
                                                       sandbox: SandboxServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_TIMEOUT_SECONDS", "1")
    reset_settings()
    cid = _launched_campaign(api, brand, ["+12125550135"])
    _faults(sandbox, timeout_after_accept=1.0, hang_seconds=2.0)
    _deliver(brand, cid, ["+12125550135"])
    message = _state(cid)["+12125550135"]
    assert (message.status, message.error_code) == ("SENDING", "NO_ANSWER")
    _faults(sandbox)
    # Given the message is left SENDING, when the release schedule runs after the grace
    outcome = reconcile_sends.sweep(time.time() + 60)
    # Then the gateway's copy is found and recorded; nothing was sent twice
    assert outcome["reconciled_sent"] == 1
    got = sandbox.sandbox.snapshot()
    assert len(got) == 1
    message = _state(cid)["+12125550135"]
    assert (message.status, message.sid) == ("SENT", got[0]["sid"])


def test_crash_between_send_and_record_is_reconciled_once(api: Api, brand: Brand,
                                                          sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550136", "+12125550137"])

    def crash(campaign_id: str, phone: str) -> None:
        if phone == "+12125550136":
            raise RuntimeError("consumer died after the gateway accepted")

    with after_send(crash):
        _deliver(brand, cid, ["+12125550136", "+12125550137"])
    assert _state(cid)["+12125550136"].status == "SENDING"
    # the same SQS message delivered again meanwhile does nothing: the claim is still live
    _deliver(brand, cid, ["+12125550136"])
    assert len(sandbox.sandbox.snapshot()) == 2
    # before the claim expires the sweep leaves it alone; after, it reconciles
    assert reconcile_sends.sweep(time.time())["reconciled_sent"] == 0
    assert reconcile_sends.sweep(time.time() + get_settings().claim_lease_seconds + 1)[
        "reconciled_sent"] == 1
    state = _state(cid)
    assert {p: m.status for p, m in state.items()} == {"+12125550136": "SENT",
                                                       "+12125550137": "SENT"}
    sids = {m["to"]: m["sid"] for m in sandbox.sandbox.snapshot()}
    assert state["+12125550136"].sid == sids["+12125550136"]
    assert len(sandbox.sandbox.snapshot()) == 2


def test_expired_claim_the_gateway_never_saw_is_sent_again_once(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550138"])
    _purge_send_queue()
    # a consumer claimed it and died before calling the gateway
    claimed = messages.claim(cid, "+12125550138", "dead-attempt", time.time() - 600, 60)
    assert claimed is not None
    assert minutely.tick()["resent"] == 1  # reconciled: back in the table, due now
    assert minutely.tick()["messages_released"] == 1  # and on the queue at the next tick
    _drain_send_queue(cid)
    got = sandbox.sandbox.snapshot()
    assert [m["to"] for m in got] == ["+12125550138"]
    assert _state(cid)["+12125550138"].status == "SENT"


def test_validity_period_ends_when_the_window_closes(api: Api, brand: Brand,
                                                     sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550139"])
    _deliver(brand, cid, ["+12125550139"])
    (sent,) = sandbox.sandbox.snapshot()
    # window 00:00-24:00 never closes: the longest validity Twilio allows
    assert sent["validity_period"] == dispatch.MAX_VALIDITY_SECONDS
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from chalicelib.domain import scheduler

    window = scheduler.Window.parse("08:00", "21:00")
    opens = datetime(2026, 11, 25, 8, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
    assert scheduler.next_open(["America/New_York"], window, opens - 3600) == opens
    left = scheduler.seconds_until_close(["America/New_York"], window, opens + 3600)
    assert left == 12 * 3600  # one hour after 08:00 the window has 12 hours left


# --- sender limits --------------------------------------------------------------------------


def test_sender_rate_defaults_by_kind_and_can_be_set_per_number(aws: dict[str, str]) -> None:
    for number, kind, rate, expected in (
            ("+12125550170", "long_code", None, 1.0), ("+18885550171", "toll_free", None, 3.0),
            ("+12125550172", "short_code", None, 100.0), ("+12125550173", "whatsapp", None, 80.0),
            ("+12125550174", "long_code", 4, 4.0)):
        SenderNumberModel(number, brand_id="acme", channel="sms", kind=kind, rate=rate).save()
        assert dispatch.sender_rate(number) == expected


def test_campaigns_sharing_a_number_share_its_limit_and_nothing_is_dropped(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    SenderNumberModel(brand.sms_number, brand_id=brand.brand_id, channel="sms",
                      kind="long_code", rate=4).save()
    first = [f"+1212555{n:04d}" for n in range(141, 147)]
    second = [f"+1212555{n:04d}" for n in range(151, 157)]
    cid1 = _launched_campaign(api, brand, first, rate=20)
    cid2 = _launched_campaign(api, brand, second, rate=20)
    threads = [threading.Thread(target=_deliver, args=(brand, cid, phones))
               for cid, phones in ((cid1, first), (cid2, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _drain_send_queue(cid1, seconds=30)
    _drain_send_queue(cid2, seconds=30)
    got = sandbox.sandbox.snapshot()
    assert sorted(m["to"] for m in got) == sorted(first + second)
    instants = sorted(m["received_at"] for m in got)
    # the number's 4/s holds across both campaigns: any 5 consecutive span at least a second
    assert all(instants[i + 4] - instants[i] >= 1.0 for i in range(len(instants) - 4))


# --- WhatsApp and Prioritized ---------------------------------------------------------------


def _whatsapp_campaign(brand: Brand, channel: str, phones: list[str]) -> str:
    now = time.time()
    TemplateModel(brand.brand_id, "tpl_welcome", name="welcome", language="en",
                  category="MARKETING", body="Hi {{1}}, your code is {{2}}", variable_count=2,
                  status="APPROVED", content_sid="HX" + "a" * 32, created_at=now).save()
    SenderNumberModel("+12125550190", brand_id=brand.brand_id, channel="whatsapp",
                      kind="whatsapp").save()
    cid = "cmp_" + uuid.uuid4().hex[:12]
    CampaignModel(brand.brand_id, cid, name="WhatsApp", channel=channel,
                  from_number="+12125550190", skill="sales", template_id="tpl_welcome",
                  fallback_from_number=brand.sms_number if channel == "prioritized" else None,
                  send_rate=20, window_start="00:00", window_end="24:00", status="RUNNING",
                  created_at=now, launched_at=now).save()
    messages.write_all(
        MessageModel(cid, phone, brand_id=brand.brand_id, skill="sales", channel=channel,
                     line=n + 1, text=f"Hi P{n}, your code is {n}", variables=[f"P{n}", str(n)],
                     fallback_text=f"Hi P{n}, your code is {n}\nReply STOP to opt out",
                     zones=["America/New_York"], status="PENDING", created_at=now)
        for n, phone in enumerate(phones))
    jobs.launch(brand.brand_id, cid)
    return cid


def test_whatsapp_campaign_sends_the_approved_template_with_its_variables(
        aws: dict[str, str], brand: Brand, sandbox: SandboxServer) -> None:
    cid = _whatsapp_campaign(brand, "whatsapp", ["+12125550191"])
    _drain_send_queue(cid)
    (sent,) = sandbox.sandbox.snapshot()
    assert sent["to"] == "whatsapp:+12125550191" and sent["from_"] == "whatsapp:+12125550190"
    assert sent["content_sid"] == "HX" + "a" * 32
    assert json.loads(sent["content_variables"]) == {"1": "P0", "2": "0"}
    message = _state(cid)["+12125550191"]
    assert (message.status, message.sent_channel) == ("SENT", "whatsapp")


def test_prioritized_falls_back_to_sms_with_opt_out_for_numbers_not_on_whatsapp(
        aws: dict[str, str], brand: Brand, sandbox: SandboxServer) -> None:
    _faults(sandbox, not_whatsapp=["+12125550193"])
    cid = _whatsapp_campaign(brand, "prioritized", ["+12125550192", "+12125550193"])
    _drain_send_queue(cid)
    got = {m["to"]: m for m in sandbox.sandbox.snapshot()}
    assert set(got) == {"whatsapp:+12125550192", "+12125550193"}
    sms = got["+12125550193"]
    assert sms["from_"] == brand.sms_number
    assert sms["body"] == "Hi P1, your code is 1\nReply STOP to opt out"
    state = _state(cid)
    assert (state["+12125550193"].status, state["+12125550193"].sent_channel) == ("SENT", "sms")
    assert state["+12125550192"].sent_channel == "whatsapp"


def test_whatsapp_template_that_is_not_approved_fails_with_a_reason(
        aws: dict[str, str], brand: Brand, sandbox: SandboxServer) -> None:
    cid = _whatsapp_campaign(brand, "whatsapp", ["+12125550194"])
    TemplateModel(brand.brand_id, "tpl_welcome").update(
        actions=[TemplateModel.status.set("PAUSED")])
    _drain_send_queue(cid)
    message = _state(cid)["+12125550194"]
    assert (message.status, message.error_code) == ("FAILED", "TEMPLATE_UNAVAILABLE")
    assert sandbox.sandbox.snapshot() == []


# --- launch, windows, long waits ----------------------------------------------------------


def test_future_launch_waits_scheduled_until_the_schedule_starts_it(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    launch_at = time.time() + 3600
    from datetime import UTC, datetime

    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(schedule={
        "send_rate": 5, "window": {"start": "00:00", "end": "24:00"},
        "launch_at": datetime.fromtimestamp(launch_at, UTC).isoformat()}))
    assert status == 201, body
    cid = body["id"]
    api.call("POST", f"/campaigns/{cid}/recipients", brand, body="+12125550161",
             content_type="text/plain")
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand,
                            json_body={"consent": True})
    assert status == 200 and body["status"] == "SCHEDULED"
    assert minutely.tick(time.time())["campaigns_started"] == 0
    assert minutely.tick(launch_at + 1)["campaigns_started"] == 1
    assert api.call("GET", f"/campaigns/{cid}", brand)[1]["status"] == "RUNNING"
    # the control-queue job the tick queued
    sqs = aws.client("sqs")
    got = sqs.receive_message(QueueUrl=get_settings().control_queue_url, WaitTimeSeconds=1)
    job = json.loads(got["Messages"][0]["Body"])
    assert job == {"type": "launch", "brand_id": brand.brand_id, "campaign_id": cid}


def test_number_whose_zones_never_share_the_window_is_skipped_with_a_reason(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    # a toll-free number may be anywhere from Guam to Puerto Rico: no hour is 09-10 everywhere
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        schedule={"send_rate": 5, "window": {"start": "09:00", "end": "10:00"}}))
    cid = body["id"]
    api.call("POST", f"/campaigns/{cid}/recipients", brand, body="+1 888 555 0123\n"
             "+1 212 555 0162", content_type="text/plain")
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    jobs.launch(brand.brand_id, cid)
    state = _state(cid)
    skipped = state["+18885550123"]
    assert (skipped.status, skipped.error_code) == ("SKIPPED", "NO_WINDOW")
    assert skipped.reason is not None and "never opens" in skipped.reason
    assert state["+12125550162"].status in ("SCHEDULED", "QUEUED")


def test_a_message_due_in_six_hours_costs_a_few_queue_operations(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    # Given a recipient whose window opens six hours from now
    from chalicelib.domain import scheduler

    now = time.time()
    local = scheduler.utc(now + 6 * 3600).astimezone(ZoneInfo("America/New_York"))
    start = f"{local.hour:02d}:00"
    end = f"{local.hour + 1:02d}:00" if local.hour < 23 else "24:00"
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        schedule={"send_rate": 5, "window": {"start": start, "end": end}}))
    cid = body["id"]
    api.call("POST", f"/campaigns/{cid}/recipients", brand, body="+12125550163",
             content_type="text/plain")
    api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    calls: list[str] = []
    sqs = aws.client("sqs")
    sqs.meta.events.register("before-call.sqs.*",
                             lambda model, **_: calls.append(model.name))
    jobs.launch(brand.brand_id, cid, now=now)
    due = float(_state(cid)["+12125550163"].due_at or 0)
    assert 5 * 3600 <= due - now <= 6 * 3600 + 60
    # When the one-minute schedule runs every 15 minutes of those six hours
    tick = now
    while tick < due - 61:
        minutely.release_messages(tick)
        tick += 900
    assert calls == []  # it waited in the table, not on the queue
    minutely.release_messages(due - 30)
    assert calls == ["SendMessageBatch"]
    # Then the consumer (its clock at the due time) sends it with no queue operation of its
    # own: one send, plus the receive and delete Lambda's poller makes
    offset = due + 1 - time.time()
    body = json.dumps({"brand_id": brand.brand_id, "campaign_id": cid, "phone": "+12125550163",
                       "due_at": due, "retry": 0})
    dispatcher = dispatch.Dispatcher(clock=lambda: time.time() + offset)
    assert dispatcher.handle([("m-1", body)]) == []
    assert calls.count("SendMessageBatch") <= 2  # a busy machine may cost one more trip
    assert _state(cid)["+12125550163"].status == "SENT"


def test_consumer_requeues_a_message_not_yet_due_with_its_remaining_delay(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    cid = _launched_campaign(api, brand, ["+12125550164", "+12125550165"])
    _purge_send_queue()
    now = time.time()
    _deliver(brand, cid, ["+12125550164"], due_at=now + 300)
    assert _queue_counts() == {"visible": 0, "delayed": 1}
    # one due in two hours goes back to the table, not to SQS 8 times over
    _deliver(brand, cid, ["+12125550165"], due_at=now + 7200)
    message = _state(cid)["+12125550165"]
    assert message.status == "SCHEDULED" and abs(float(message.due_at or 0) - (now + 7200)) < 1
    assert _queue_counts() == {"visible": 0, "delayed": 1}
    assert sandbox.sandbox.snapshot() == []


def test_a_stop_stored_while_a_message_waits_for_its_slot_still_stops_it(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    # Given a 0.5/s campaign of two: the second waits ~2 s for its slot after its claim
    phones = ["+12125550181", "+12125550182"]
    cid = _launched_campaign(api, brand, phones, rate=0.5)
    _purge_send_queue()
    dispatcher = dispatch.Dispatcher()
    stopped = threading.Event()

    def sleep_and_stop(seconds: float) -> None:
        # When a send waits for its slot, the second consumer texts STOP meanwhile
        if not stopped.is_set():
            optouts.add(brand.brand_id, phones[1], "keyword", "STOP", time.time())
            stopped.set()
        time.sleep(seconds)

    dispatcher.sleep = sleep_and_stop
    # When both are delivered in one batch
    event = _sqs_event(brand, cid, phones)
    dispatcher.handle([(r["messageId"], r["body"]) for r in event["Records"]])
    # Then only the first reached the gateway; the second ends SKIPPED as opted out
    assert [m["to"] for m in sandbox.sandbox.snapshot()] == [phones[0]]
    state = _state(cid)
    assert (state[phones[1]].status, state[phones[1]].error_code) == ("SKIPPED", "OPTED_OUT")


def test_the_send_queue_is_a_fair_queue_with_the_brand_as_message_group(
        api: Api, brand: Brand) -> None:
    # Given a launched campaign (issue 15.3: one brand's backlog must not delay the others')
    _purge_send_queue()
    cid = _launched_campaign(api, brand, ["+12125550191"])
    # When the consumer's poller receives its queue entry
    got = aws.client("sqs").receive_message(
        QueueUrl=get_settings().send_queue_url, MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["MessageGroupId"])
    entries = [m for m in got.get("Messages") or [] if json.loads(m["Body"])["campaign_id"] == cid]
    # Then it names the brand as its message group (SQS fair queues)
    assert entries and all(m["Attributes"].get("MessageGroupId") == brand.brand_id
                           for m in entries)


def test_launch_spaces_due_instants_as_the_limiters_grant_slots(
        api: Api, brand: Brand) -> None:
    # Given a campaign at 50/s, launched (issue 15.3: due instants 1/rate apart while the
    # limiters grant a slot every slot_interval fell 5% of the elapsed time behind schedule)
    phones = [f"+1212555{n:04d}" for n in range(200, 212)]
    cid = _launched_campaign(api, brand, phones, rate=50)
    due = sorted(float(m.due_at or 0) for m in _state(cid).values())
    # Then consecutive due instants are at least the limiters' spacing apart, and no further
    gap = dispatch.slot_interval(50, get_settings().send_rate_margin_seconds)
    gaps = [b - a for a, b in zip(due, due[1:], strict=False)]
    assert all(gap - 1e-6 <= g <= gap + 1e-3 for g in gaps), (gap, gaps)
