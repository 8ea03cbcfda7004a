"""The send consumer's decisions without moto: the Dispatcher against in-memory fakes of its ports
(the store operations it uses, the gateway, the send queue, a clock that moves only when the
consumer sleeps). The service tests (tests/service/test_sending_engine.py, test_send_once.py...)
check the same paths on moto with the real store and the sandbox gateway."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from chalicelib.config import get_settings
from chalicelib.messaging.gateway import GatewayError, SentMessage, with_fresh_credentials
from chalicelib.services import dispatch, queues
from chalicelib.store import limits
from chalicelib.store.models import CampaignModel, MessageModel, SenderNumberModel
from chalicelib.store.templates import TemplateModel

BRAND = "brand-a"
CID = "cmp_1"
SMS_NUMBER = "+12125550100"
WA_NUMBER = "+12125550199"
# 2026-01-15 17:00 UTC = 12:00 in New York: inside 08:00-21:00 there
NOON_NY = datetime(2026, 1, 15, 17, 0, tzinfo=UTC).timestamp()
NY = "America/New_York"


class Clock:
    """Fake time: moves only when the consumer sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class Row:
    """A message row as the fake store holds it."""

    phone: str
    status: str = "QUEUED"
    attempts: int = 0
    attempt_id: str | None = None
    error_code: str | None = None
    reason: str | None = None
    sid: str | None = None
    due_at: float | None = None
    text: str = "Hello"
    fallback_text: str | None = None
    variables: list[str] | None = None
    zones: list[str] = field(default_factory=lambda: [NY])


class FakeStore:
    """dispatch.SendStore in memory, with the conditions of the real transitions (a claimed
    message changes only for its attempt)."""

    def __init__(self, campaign: CampaignModel) -> None:
        self.campaign_row = campaign
        self.rows: dict[str, Row] = {}
        self.blocked: set[str] = set()
        self.conversing: set[str] = set()
        self.numbers: dict[str, SenderNumberModel] = {}
        self.templates: dict[str, TemplateModel] = {}
        self.next_at: dict[str, float] = {}
        self.gateway_opt_outs: list[str] = []
        for number, kind in ((campaign.from_number, "short_code"),
                             (campaign.fallback_from_number, "short_code")):
            if number:
                self.numbers[number] = SenderNumberModel(number, brand_id=BRAND, channel="sms",
                                                         kind=kind, rate=100)

    def add(self, phone: str, **values: Any) -> Row:
        self.rows[phone] = Row(phone, **values)
        return self.rows[phone]

    # --- reads ---
    def campaign(self, brand_id: str, campaign_id: str) -> CampaignModel:
        assert (brand_id, campaign_id) == (BRAND, CID)
        return self.campaign_row

    def brand_zone(self, brand_id: str) -> str:
        return NY

    def sender_number(self, number: str) -> SenderNumberModel | None:
        return self.numbers.get(number)

    def template(self, brand_id: str, template_id: str) -> TemplateModel | None:
        return self.templates.get(template_id)

    def opted_out(self, brand_id: str, phones: Iterable[str]) -> set[str]:
        return self.blocked & set(phones)

    def in_open_conversation(self, brand_id: str, phones: Iterable[str]) -> set[str]:
        return self.conversing & set(phones)

    def reserve_slots(self, intervals: Mapping[str, float], count: int,
                      clock: Callable[[], float], max_wait: float,
                      lead: float) -> tuple[float, float, int]:
        """As store/limits.py reserve_within: consecutive slots on every limiter at once."""
        now, gap = clock(), max(intervals.values())
        first = max([now + lead] + [self.next_at[k] for k in intervals if k in self.next_at])
        granted = max(0, min(count, math.floor((now + max_wait - first) / gap) + 1))
        if granted:
            last = first + (granted - 1) * gap
            for key, interval in intervals.items():
                self.next_at[key] = last + interval
        return first, gap, granted

    # --- transitions ---
    def claim(self, campaign_id: str, phone: str, attempt_id: str, now: float,
              lease_seconds: float) -> MessageModel | None:
        row = self.rows.get(phone)
        if row is None or row.status not in ("SCHEDULED", "QUEUED"):
            return None
        row.status, row.attempt_id, row.attempts = "SENDING", attempt_id, row.attempts + 1
        return MessageModel(campaign_id, phone, brand_id=BRAND, skill="sales",
                            channel=self.campaign_row.channel, text=row.text,
                            fallback_text=row.fallback_text, variables=row.variables,
                            zones=row.zones, attempts=row.attempts, error_code=row.error_code,
                            reason=row.reason, status="SENDING", created_at=now)

    def claim_many(self, campaign_id: str, attempts: Mapping[str, str], now: float,
                   lease_seconds: float) -> dict[str, MessageModel]:
        claimed = {phone: self.claim(campaign_id, phone, attempt, now, lease_seconds)
                   for phone, attempt in attempts.items()}
        return {phone: message for phone, message in claimed.items() if message is not None}

    def _claimed(self, phone: str, attempt_id: str) -> Row | None:
        row = self.rows[phone]
        return row if row.status == "SENDING" and row.attempt_id == attempt_id else None

    def _end(self, phone: str, attempt_id: str, status: str, code: str | None = None,
             reason: str | None = None) -> bool:
        row = self._claimed(phone, attempt_id)
        if row is None:
            return False
        row.status, row.error_code, row.reason = status, code, reason
        return True

    def skip(self, campaign_id: str, phone: str, code: str, reason: str, now: float) -> bool:
        row = self.rows[phone]
        if row.status not in ("SCHEDULED", "QUEUED"):
            return False
        row.status, row.error_code, row.reason = "SKIPPED", code, reason
        return True

    def skip_claimed(self, campaign_id: str, phone: str, attempt_id: str, code: str,
                     reason: str, now: float) -> bool:
        return self._end(phone, attempt_id, "SKIPPED", code, reason)

    def reschedule(self, campaign_id: str, phone: str, due_at: float, now: float) -> bool:
        row = self.rows[phone]
        row.status, row.due_at = "SCHEDULED", due_at
        return True

    def release_claim(self, campaign_id: str, phone: str, attempt_id: str, code: str | None,
                      reason: str | None, now: float, due_at: float | None = None,
                      in_queue: bool = True, counted: bool = True) -> bool:
        row = self._claimed(phone, attempt_id)
        if row is None:
            return False
        if not counted:
            row.attempts -= 1
        if code is not None:
            row.error_code, row.reason = code, reason or ""
        row.status = "QUEUED" if in_queue else "SCHEDULED"
        row.due_at = due_at or (None if in_queue else now)
        return True

    def record_sent(self, campaign_id: str, phone: str, attempt_id: str, sid: str,
                    channel: str, now: float, due_at: float | None = None) -> bool:
        row = self._claimed(phone, attempt_id)
        if row is None:
            return False
        row.status, row.sid = "SENT", sid
        return True

    def record_failed(self, campaign_id: str, phone: str, attempt_id: str, code: str,
                      reason: str, now: float) -> bool:
        return self._end(phone, attempt_id, "FAILED", code, reason)

    def record_exhausted(self, campaign_id: str, phone: str, attempt_id: str, attempts: int,
                         last_code: str | None, last_reason: str | None, now: float) -> bool:
        return self._end(phone, attempt_id, "FAILED", "RETRIES_EXHAUSTED",
                         f"gave up after {attempts} send attempts; the last one: "
                         f"{last_code}: {last_reason}")

    def mark_ambiguous(self, campaign_id: str, phone: str, attempt_id: str, code: str,
                       reason: str, now: float, reconcile_after: float) -> bool:
        row = self._claimed(phone, attempt_id)
        if row is None:
            return False
        row.error_code, row.reason, row.due_at = code, reason, now + reconcile_after
        return True

    def record_gateway_opt_out(self, campaign: CampaignModel, phone: str, number: str,
                               now: float) -> None:
        self.gateway_opt_outs.append(phone)
        self.blocked.add(phone)


class FakeGateway:
    """Answers each send from a script per recipient (an exception to raise, else accepted)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[dict[str, Any]] = []
        self.script: dict[str, list[GatewayError]] = {}

    def client(self) -> None:
        return None

    def send(self, **params: Any) -> SentMessage:
        to = params["to"].removeprefix("whatsapp:")
        self.sent.append({**params, "at": self.clock()})
        errors = self.script.get(to)
        if errors:
            raise errors.pop(0)
        return SentMessage(sid=f"SM{len(self.sent):032d}", status="queued")


@dataclass
class World:
    store: FakeStore
    gateway: FakeGateway
    clock: Clock
    queue: list[queues.Outgoing] = field(default_factory=list)

    def deliver(self, phones: Sequence[str], **body: Any) -> list[str]:
        ports = dispatch.Ports(store=self.store, gateway=lambda brand_id: self.gateway,
                               send_queue=self.queue.extend, clock=self.clock,
                               sleep=self.clock.sleep)
        records = [(f"m{n}", json.dumps({"brand_id": BRAND, "campaign_id": CID, "phone": phone,
                                         "due_at": body.get("due_at", self.clock()), **body}))
                   for n, phone in enumerate(phones)]
        consumer = dispatch.Dispatcher(ports=ports, cache=dispatch._Cache(), parallel=False)
        return consumer.handle(records)

    def status(self, phone: str) -> str:
        return self.store.rows[phone].status


def campaign(**values: Any) -> CampaignModel:
    fields: dict[str, Any] = {
        "name": "c", "channel": "sms", "from_number": SMS_NUMBER, "skill": "sales",
        "text": "Hello", "send_rate": 100, "window_start": "08:00", "window_end": "21:00",
        "status": "RUNNING", "created_at": NOON_NY, **values}
    return CampaignModel(BRAND, CID, **fields)


@pytest.fixture
def world() -> World:
    get_settings.cache_clear()
    clock = Clock(NOON_NY)
    return World(FakeStore(campaign()), FakeGateway(clock), clock)


def phones(count: int) -> list[str]:
    return [f"+1212555{1000 + n}" for n in range(count)]


# --- claim -------------------------------------------------------------------------------------

def test_a_due_message_is_claimed_sent_once_and_recorded(world: World) -> None:
    world.store.add("+12125551000")
    assert world.deliver(["+12125551000", "+12125551000"]) == []  # twice in one batch
    assert [(s["to"], s["from_"], s["body"]) for s in world.gateway.sent] == [
        ("+12125551000", SMS_NUMBER, "Hello")]
    row = world.store.rows["+12125551000"]
    assert (row.status, row.sid, row.attempts) == ("SENT", "SM" + "1".zfill(32), 1)
    assert world.queue == []


def test_a_message_claimed_elsewhere_or_already_handled_is_not_sent(world: World) -> None:
    world.store.add("+12125551000", status="SENDING", attempt_id="other")
    world.store.add("+12125551001", status="SENT")
    assert world.deliver(["+12125551000", "+12125551001"]) == []
    assert world.gateway.sent == []
    assert (world.status("+12125551000"), world.status("+12125551001")) == ("SENDING", "SENT")


def test_a_message_not_yet_due_waits_on_the_queue_or_in_the_table(world: World) -> None:
    world.store.add("+12125551000")
    world.store.add("+12125551001")
    now = world.clock()
    world.deliver(["+12125551000"], due_at=now + 300)
    world.deliver(["+12125551001"], due_at=now + 3600)
    assert world.gateway.sent == []
    assert [(o.body["phone"], o.delay_seconds) for o in world.queue] == [("+12125551000", 300)]
    assert world.store.rows["+12125551001"].status == "SCHEDULED"
    assert world.store.rows["+12125551001"].due_at == now + 3600


def test_opted_out_consumers_and_a_cancelled_campaign_are_skipped(world: World) -> None:
    world.store.add("+12125551000")
    world.store.blocked.add("+12125551000")
    world.deliver(["+12125551000"])
    assert (world.status("+12125551000"), world.store.rows["+12125551000"].error_code) == (
        "SKIPPED", "OPTED_OUT")
    world.store.campaign_row.status = "CANCELLED"
    world.store.add("+12125551001")
    world.deliver(["+12125551001"])
    assert world.store.rows["+12125551001"].status == "SKIPPED"
    assert world.gateway.sent == []


def test_a_consumer_in_an_open_conversation_is_held_unless_the_campaign_says_otherwise(
        world: World) -> None:
    world.store.add("+12125551000")
    world.store.conversing.add("+12125551000")
    world.deliver(["+12125551000"])
    assert (world.status("+12125551000"), world.store.rows["+12125551000"].error_code) == (
        "SKIPPED", "OPEN_CONVERSATION")
    assert world.gateway.sent == []
    world.store.campaign_row.hold_open_conversations = False
    world.store.add("+12125551001")
    world.store.conversing.add("+12125551001")
    world.deliver(["+12125551001"])
    assert world.status("+12125551001") == "SENT"


# --- the window ----------------------------------------------------------------------------

def test_outside_the_window_it_waits_for_the_window_to_open(world: World) -> None:
    # 12:00 in New York, 02:00 in Tokyo: the window opens in Tokyo at 08:00 (in 6 h)
    world.store.add("+12125551000", zones=["Asia/Tokyo"])
    world.deliver(["+12125551000"])
    row = world.store.rows["+12125551000"]
    assert world.gateway.sent == [] and world.queue == []
    assert (row.status, row.due_at, row.attempts) == ("SCHEDULED", NOON_NY + 6 * 3600, 0)


def test_a_window_opening_within_the_queue_delay_requeues_the_message(world: World) -> None:
    world.clock.now = NOON_NY - 4 * 3600 - 600  # 07:50 in New York
    world.store.add("+12125551000")
    world.deliver(["+12125551000"])
    assert world.gateway.sent == []
    assert [(o.body["due_at"], o.delay_seconds) for o in world.queue] == [
        (NOON_NY - 4 * 3600, 600)]
    assert world.status("+12125551000") == "QUEUED"


def test_a_window_that_never_opens_in_all_zones_skips_the_message(world: World) -> None:
    world.store.campaign_row.window_start, world.store.campaign_row.window_end = "09:00", "10:00"
    world.store.add("+12125551000", zones=[NY, "Asia/Tokyo"])
    world.deliver(["+12125551000"])
    assert (world.status("+12125551000"), world.store.rows["+12125551000"].error_code) == (
        "SKIPPED", "NO_WINDOW")


# --- rate slots ----------------------------------------------------------------------------

def test_sends_are_spaced_by_the_campaign_rate(world: World) -> None:
    world.store.campaign_row.send_rate = 2
    for phone in phones(4):
        world.store.add(phone)
    world.deliver(phones(4))
    times = [s["at"] for s in world.gateway.sent]
    assert len(times) == 4
    interval = dispatch.slot_interval(2, get_settings().send_rate_margin_seconds)
    assert all(b - a >= interval - 1e-6 for a, b in zip(times, times[1:], strict=False))


def test_what_cannot_go_within_the_budget_is_given_back_to_the_queue(world: World) -> None:
    world.store.campaign_row.send_rate = 1
    for phone in phones(15):
        world.store.add(phone)
    world.deliver(phones(15))
    sent = {s["to"] for s in world.gateway.sent}
    waiting = list(world.queue)
    assert len(sent) + len(waiting) == 15 and 0 < len(waiting) < 15
    assert all(world.status(o.body["phone"]) == "QUEUED" for o in waiting)
    assert all(world.store.rows[o.body["phone"]].attempts == 0 for o in waiting)  # not counted
    assert min(o.body["due_at"] for o in waiting) >= max(s["at"] for s in world.gateway.sent)


def test_a_sender_busy_with_another_campaign_gets_the_next_free_slots(world: World) -> None:
    world.store.next_at[f"sender#{SMS_NUMBER}"] = world.clock() + 60  # booked for a minute
    world.store.add("+12125551000")
    world.deliver(["+12125551000"])
    assert world.gateway.sent == []
    assert [(o.body["due_at"], o.delay_seconds) for o in world.queue] == [
        (world.clock() + 60, 60)]


# --- outcomes ------------------------------------------------------------------------------

def test_a_permanent_error_fails_the_message_with_its_code(world: World) -> None:
    world.store.add("+12125551000")
    world.gateway.script["+12125551000"] = [GatewayError("permanent", "21211", "invalid 'To'")]
    world.deliver(["+12125551000"])
    row = world.store.rows["+12125551000"]
    assert (row.status, row.error_code) == ("FAILED", "21211")
    assert world.queue == []


def test_a_transient_error_requeues_with_backoff(world: World) -> None:
    world.store.add("+12125551000")
    world.gateway.script["+12125551000"] = [GatewayError("transient", "20429", "slow down")]
    world.deliver(["+12125551000"])
    row = world.store.rows["+12125551000"]
    assert (row.status, row.error_code, row.attempts) == ("QUEUED", "20429", 1)
    [again] = world.queue
    assert again.body["retry"] == 1 and 4 <= again.delay_seconds <= 6  # 5 s +-20%
    world.clock.now += again.delay_seconds
    world.queue.clear()
    world.deliver(["+12125551000"], retry=1)
    assert world.status("+12125551000") == "SENT"
    assert world.store.rows["+12125551000"].attempts == 2


def test_an_ambiguous_answer_leaves_the_message_sending_for_reconciliation(
        world: World) -> None:
    world.store.add("+12125551000")
    world.gateway.script["+12125551000"] = [
        GatewayError("ambiguous", "500", "the gateway answered 500 and may have accepted")]
    world.deliver(["+12125551000"])
    row = world.store.rows["+12125551000"]
    assert (row.status, row.error_code) == ("SENDING", "500")
    assert row.due_at == world.clock() + 2 * get_settings().gateway_timeout_seconds
    assert world.queue == []
    # a redelivery meanwhile sends nothing: the claim is still held
    world.deliver(["+12125551000"])
    assert len(world.gateway.sent) == 1


def test_the_carrier_reporting_an_opt_out_skips_and_records_it(world: World) -> None:
    world.store.add("+12125551000")
    world.gateway.script["+12125551000"] = [GatewayError("opted_out", "21610", "unsubscribed")]
    world.deliver(["+12125551000"])
    assert (world.status("+12125551000"), world.store.gateway_opt_outs) == (
        "SKIPPED", ["+12125551000"])


def test_a_401_rereads_the_credentials_once_and_retries_with_the_new_ones() -> None:
    refused = GatewayError("permanent", "20003", "Authenticate")
    refused.__cause__ = TwilioRestException(401, "/Messages", "Authenticate", 20003)
    tokens = ["old"]
    calls: list[str] = []
    rereads: list[str | None] = []

    def request(token: str) -> str:
        calls.append(token)
        if token == "old":
            raise refused
        return f"sent with {token}"

    def reread(ref: str | None, before: float) -> None:
        rereads.append(ref)
        tokens[0] = "new"

    assert with_fresh_credentials("ref", lambda: tokens[0], request, reread) == "sent with new"
    assert (calls, rereads) == (["old", "new"], ["ref"])
    # still refused after the re-read (rotated at the gateway first): transient, not a verdict
    tokens[0] = "old"
    with pytest.raises(GatewayError) as still:
        with_fresh_credentials("ref", lambda: "old", request, lambda ref, before: None)
    assert (still.value.kind, still.value.code) == ("transient", "20003")


# --- fallback, retries, senders ---------------------------------------------------------------

def test_a_number_not_on_whatsapp_gets_the_sms_fallback(world: World) -> None:
    world.store.campaign_row = campaign(channel="prioritized", from_number=WA_NUMBER,
                                        fallback_from_number=SMS_NUMBER, template_id="tpl_1")
    world.store.numbers[WA_NUMBER] = SenderNumberModel(WA_NUMBER, brand_id=BRAND,
                                                       channel="whatsapp", kind="whatsapp")
    world.store.templates["tpl_1"] = TemplateModel(BRAND, "tpl_1", status="APPROVED",
                                                   content_sid="HX1", name="t", language="en",
                                                   category="MARKETING", body="Hi {{1}}",
                                                   created_at=NOON_NY)
    world.store.add("+12125551000", variables=["Ann"], fallback_text="Hi Ann (SMS)")
    world.gateway.script["+12125551000"] = [GatewayError("not_whatsapp", "63024", "no WA")]
    world.deliver(["+12125551000"])
    [fallback] = world.queue
    assert fallback.body["fallback"] is True and world.status("+12125551000") == "QUEUED"
    world.queue.clear()
    world.deliver(["+12125551000"], fallback=True)
    first, second = world.gateway.sent
    assert (first["to"], first["from_"], first["content_sid"],
            json.loads(first["content_variables"])) == (
        "whatsapp:+12125551000", f"whatsapp:{WA_NUMBER}", "HX1", {"1": "Ann"})
    assert (second["to"], second["from_"], second["body"]) == (
        "+12125551000", SMS_NUMBER, "Hi Ann (SMS)")
    assert world.status("+12125551000") == "SENT"


def test_retries_end_when_the_attempts_are_used_up(world: World) -> None:
    cap = get_settings().max_send_attempts
    world.store.add("+12125551000", attempts=cap - 1)
    world.gateway.script["+12125551000"] = [GatewayError("transient", "20429", "slow down")]
    world.deliver(["+12125551000"])
    row = world.store.rows["+12125551000"]
    assert (row.status, row.error_code, world.queue) == ("FAILED", "RETRIES_EXHAUSTED", [])
    assert "20429" in str(row.reason)
    # earlier attempts that ended unknown (crashed consumers) count too: no send at all
    world.store.add("+12125551001", attempts=cap, error_code="NO_ANSWER")
    world.deliver(["+12125551001"])
    assert world.store.rows["+12125551001"].error_code == "RETRIES_EXHAUSTED"
    assert len(world.gateway.sent) == 1


def test_a_sender_no_longer_the_brands_sends_nothing(world: World) -> None:
    world.store.numbers[SMS_NUMBER].brand_id = "another-brand"
    world.store.add("+12125551000")
    world.deliver(["+12125551000"])
    row = world.store.rows["+12125551000"]
    assert (row.status, row.error_code, world.gateway.sent) == (
        "FAILED", "SENDER_NOT_OWNED", [])


def test_a_crash_between_send_and_record_leaves_the_claim_for_reconciliation(
        world: World) -> None:
    world.store.add("+12125551000")
    record_sent = world.store.record_sent

    def dies(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("consumer died between send and record")

    world.store.record_sent = dies  # type: ignore[method-assign]
    assert world.deliver(["+12125551000"]) == []
    world.store.record_sent = record_sent  # type: ignore[method-assign]
    assert (world.status("+12125551000"), len(world.gateway.sent)) == ("SENDING", 1)
    world.deliver(["+12125551000"])  # redelivered: the claim is held, nothing resent
    assert len(world.gateway.sent) == 1


def test_a_reservation_s_first_slot_lies_further_ahead_when_reservations_are_slow() -> None:
    lead = dispatch._Lead()
    assert lead.get() == dispatch.SLOT_LEAD_SECONDS  # nothing seen yet: the usual lead
    lead.observe(0.004)
    assert lead.get() == dispatch.SLOT_LEAD_SECONDS  # a quick table (AWS) keeps it
    for _ in range(20):
        lead.observe(0.2)  # a busy table: the first slot would be past when it is granted
    assert lead.get() == pytest.approx(0.4, abs=0.01)
    for _ in range(20):
        lead.observe(5.0)
    assert lead.get() == dispatch.MAX_SLOT_LEAD_SECONDS
    lead.forget()
    assert lead.get() == dispatch.SLOT_LEAD_SECONDS


class StopsDuringTheWait(FakeStore):
    """Counts the opt-out reads; a consumer's STOP is stored at a given instant."""

    def __init__(self, campaign: CampaignModel, stops: dict[str, float]) -> None:
        super().__init__(campaign)
        self.stops, self.reads = stops, 0

    def opted_out(self, brand_id: str, phones: Iterable[str]) -> set[str]:
        self.reads += 1
        return {p for p in phones if self.stops.get(p, math.inf) <= time.time()}


def test_sends_waiting_for_their_slots_share_the_opt_out_re_reads_and_a_stop_still_counts(
        ) -> None:
    # 20 sends at 10/s wait up to 2 s for their slots, each in its own thread (real time): each
    # was re-checked against the opt-outs 0.5 s before its slot, one read each; now one read
    # serves the brand's sends of the next 0.5 s, and a STOP stored during the wait still stops
    # the sends after it.
    get_settings.cache_clear()
    store = StopsDuringTheWait(campaign(send_rate=10), {})
    numbers = phones(20)
    for phone in numbers:
        store.add(phone)
    began = time.time()
    # 2 -> 16: half a second before the 16th slot (~1.6 s), after the 3rd was sent (~0.25 s)
    store.stops = {numbers[15]: began + 1.0, numbers[2]: began + 1.0}
    gateway = FakeGateway(time.time)
    ports = dispatch.Ports(store=store, gateway=lambda brand_id: gateway,
                           send_queue=lambda out: None)
    records = [(f"m{n}", json.dumps({"brand_id": BRAND, "campaign_id": CID, "phone": phone,
                                     "due_at": began})) for n, phone in enumerate(numbers)]
    assert dispatch.Dispatcher(ports=ports, cache=dispatch._Cache()).handle(records) == []
    sent = [s["to"] for s in gateway.sent]
    assert numbers[15] not in sent and store.rows[numbers[15]].status == "SKIPPED"
    assert numbers[2] in sent  # sent before its STOP arrived
    assert len(sent) == 19
    assert store.reads <= 10  # the batch's own read, then one per 0.2 s (one per send: 16)


class SlowClaims(FakeStore):
    """Each claim takes 0.4 s (a busy table); the campaign is cancelled once they are made."""

    def __init__(self, campaign: CampaignModel, clock: Clock) -> None:
        super().__init__(campaign)
        self.clock = clock

    def claim(self, campaign_id: str, phone: str, attempt_id: str, now: float,
              lease_seconds: float) -> MessageModel | None:
        self.clock.now += 0.4
        claimed = super().claim(campaign_id, phone, attempt_id, now, lease_seconds)
        self.campaign_row = campaign(status="CANCELLED")
        return claimed


def test_a_campaign_cancelled_while_its_batch_is_claimed_books_no_send_slot(world: World) -> None:
    world.store = store = SlowClaims(campaign(), world.clock)
    for phone in phones(3):
        store.add(phone)
    assert world.deliver(phones(3)) == []
    assert world.gateway.sent == []
    assert {world.status(p) for p in phones(3)} == {"SKIPPED"}
    assert store.next_at == {}  # the sender's slots stay free for its other campaigns


class ContendedLimiters(FakeStore):
    """Every reservation meets other consumers' writes until it gives up (limits.MAX_TRIES)."""

    def reserve_slots(self, intervals: Mapping[str, float], count: int,
                      clock: Callable[[], float], max_wait: float,
                      lead: float) -> tuple[float, float, int]:
        raise limits.LimiterContended("too contended")


def test_a_batch_whose_limiters_stay_contended_goes_back_to_the_queue_at_once(
        world: World) -> None:
    world.store = store = ContendedLimiters(campaign())
    for phone in phones(3):
        store.add(phone)
    assert world.deliver(phones(3)) == []  # not a failed batch: its claims would be stuck
    assert world.gateway.sent == []
    assert {world.status(p) for p in phones(3)} == {"QUEUED"}
    assert sorted(o.body["phone"] for o in world.queue) == phones(3)
    assert all(0 < o.delay_seconds <= 1 for o in world.queue)  # tried again a second later
    assert all(store.rows[p].attempts == 0 for p in phones(3))  # not counted as attempts
