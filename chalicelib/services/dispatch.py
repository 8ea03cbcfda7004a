"""The send consumer: one SQS batch of messages due about now -> gateway calls.

Per message, in order (DESIGN "Send"): campaign still running? consumer opted out? due? Then
claim (conditional write with an attempt id; it returns the stored message, so no extra read),
check the window in every zone of the number, reserve a send slot on the campaign's and the
sender's rate limiters, wait for the slot, send, record. Returns the SQS message ids that must be
retried (partial batch failure).

Gateway outcomes: transient -> back on the queue with exponential backoff and jitter; permanent
-> FAILED with the code; 21610 -> opted out brand-wide and SKIPPED; not on WhatsApp -> a
prioritized campaign sends the SMS fallback; ambiguous (no answer, or a 5xx) -> left SENDING and
reconciled with the gateway (services/reconcile_sends.py), never resent blind. Every claim that
was a send attempt counts; after settings.max_send_attempts the message ends FAILED
(RETRIES_EXHAUSTED) with the last error.

One invocation has one deadline (the Lambda context's remaining time less DEADLINE_MARGIN_SECONDS)
shared by every campaign and sender in the batch: send slots are reserved only as far as a send
can still finish before it, the senders' groups wait for their slots at the same time, and what
cannot go in time is given back to the queue at once, due at its next free slot.

The Dispatcher decides; it touches the world only through its ports (`Ports`): the store
operations it uses (`SendStore`, by default `StoreOps` over chalicelib/store), the gateway of a
brand, the send queue, the clock and sleep. Unit tests run it against in-memory fakes
(tests/unit/test_dispatch_unit.py); the local stack and tests may wrap the default ports
(`use_ports`), e.g. to play a consumer that dies between the send and its record.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib import send_metrics
from chalicelib.config import get_settings, on_reset
from chalicelib.domain import scheduler
from chalicelib.logs import logger
from chalicelib.messaging.gateway import NOT_WHATSAPP_CODES, GatewayError, SentMessage
from chalicelib.services import analytics, gateways, queues
from chalicelib.store import (
    brands,
    campaigns,
    conversations,
    limits,
    messages,
    optouts,
    templates,
)
from chalicelib.store.models import CampaignModel, MessageModel, SenderNumberModel
from chalicelib.store.templates import TemplateModel

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 900.0
EARLY_TOLERANCE_SECONDS = 1.0  # a message this close to due is held in the consumer, not requeued
# Slots are spaced so that a send reaching the gateway up to the rate margin (settings,
# SEND_RATE_MARGIN_SECONDS, default 0.05 s) after its slot still keeps every interval of T seconds
# at or below ceil(rate * T) sends (slot_interval). A send may start at most START_TOLERANCE of
# that margin late (else it takes a new slot), leaving the rest for the request to travel.
START_TOLERANCE = 0.4
SLOT_LEAD_SECONDS = 0.05  # the first slot of a reservation, so its thread is there in time
MAX_SLOT_LEAD_SECONDS = 1.0
LATE_RETRIES = 3  # a send late for its slot reserves a new one this many times, then requeues
SENDER_RATE_DEFAULTS = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0, "whatsapp": 80.0}
MAX_VALIDITY_SECONDS = 36000
LAUNCH_SLACK = 0.005  # due instants this much further apart than slots: time to catch up
OPT_OUT_RECHECK_SECONDS = 0.5  # a send waiting longer re-reads the opt-out this long before
# ... checked this long before the slot, against a read made at most OPT_OUT_RECHECK_SECONDS
# before it: one read serves the sends of the next 0.2 s (bench/simulate.py: one read per send
# was a third of the AWS requests per message).
OPT_OUT_CHECK_LEAD_SECONDS = 0.3
SEND_BUDGET_SECONDS = 10.0  # how long one invocation may wait for slots (Lambda timeout is 30 s)
# Kept free at the end of an invocation: recording outcomes, giving back, re-queueing.
DEADLINE_MARGIN_SECONDS = 2.0
DEFAULT_REMAINING_SECONDS = 30.0  # no Lambda context (a direct call): the send function's timeout
STATUS_FRESH_SECONDS = 1.0  # a send goes only if the campaign was seen RUNNING this recently
CACHE_SECONDS = 30.0  # brand time zone and sender limits, per Lambda container
NOT_WHATSAPP = {str(c) for c in NOT_WHATSAPP_CODES}



# --- the ports: what the Dispatcher uses of the world -----------------------------------------

class SendStore(Protocol):
    """The store operations of the send consumer (chalicelib/store names them; StoreOps below)."""

    def campaign(self, brand_id: str, campaign_id: str) -> CampaignModel: ...
    def brand_zone(self, brand_id: str) -> str: ...
    def sender_number(self, number: str) -> SenderNumberModel | None: ...
    def template(self, brand_id: str, template_id: str) -> TemplateModel | None: ...
    def opted_out(self, brand_id: str, phones: Iterable[str]) -> set[str]: ...
    def in_open_conversation(self, brand_id: str, phones: Iterable[str]) -> set[str]: ...
    def reserve_slots(self, intervals: Mapping[str, float], count: int,
                      clock: Callable[[], float], max_wait: float,
                      lead: float) -> tuple[float, float, int]: ...
    def claim_many(self, campaign_id: str, attempts: Mapping[str, str], now: float,
                   lease_seconds: float) -> dict[str, MessageModel]: ...
    def skip(self, campaign_id: str, phone: str, code: str, reason: str, now: float) -> bool: ...
    def skip_claimed(self, campaign_id: str, phone: str, attempt_id: str, code: str,
                     reason: str, now: float) -> bool: ...
    def reschedule(self, campaign_id: str, phone: str, due_at: float, now: float) -> bool: ...
    def release_claim(self, campaign_id: str, phone: str, attempt_id: str, code: str | None,
                      reason: str | None, now: float, due_at: float | None = None,
                      in_queue: bool = True, counted: bool = True) -> bool: ...
    def record_sent(self, campaign_id: str, phone: str, attempt_id: str, sid: str,
                    channel: str, now: float, due_at: float | None = None) -> bool: ...
    def record_failed(self, campaign_id: str, phone: str, attempt_id: str, code: str,
                      reason: str, now: float) -> bool: ...
    def record_exhausted(self, campaign_id: str, phone: str, attempt_id: str, attempts: int,
                         last_code: str | None, last_reason: str | None, now: float) -> bool: ...
    def mark_ambiguous(self, campaign_id: str, phone: str, attempt_id: str, code: str,
                       reason: str, now: float, reconcile_after: float) -> bool: ...
    def record_gateway_opt_out(self, campaign: CampaignModel, phone: str, number: str,
                               now: float) -> None: ...


class StoreOps:
    """SendStore over chalicelib/store (DynamoDB)."""

    def campaign(self, brand_id: str, campaign_id: str) -> CampaignModel:
        return campaigns.get(brand_id, campaign_id)

    def brand_zone(self, brand_id: str) -> str:
        return str(brands.get_brand(brand_id).time_zone)

    def sender_number(self, number: str) -> SenderNumberModel | None:
        return brands.get_sender_number(number)

    def template(self, brand_id: str, template_id: str) -> TemplateModel | None:
        return templates.get_template(brand_id, template_id)

    def opted_out(self, brand_id: str, phones: Iterable[str]) -> set[str]:
        return optouts.opted_out(brand_id, phones)

    def in_open_conversation(self, brand_id: str, phones: Iterable[str]) -> set[str]:
        return conversations.open_among(brand_id, phones)

    def reserve_slots(self, intervals: Mapping[str, float], count: int,
                      clock: Callable[[], float], max_wait: float,
                      lead: float) -> tuple[float, float, int]:
        return limits.reserve_within(intervals, count, clock, max_wait, lead)

    claim_many = staticmethod(messages.claim_many)
    skip = staticmethod(messages.skip)
    skip_claimed = staticmethod(messages.skip_claimed)
    reschedule = staticmethod(messages.reschedule)
    release_claim = staticmethod(messages.release_claim)
    record_sent = staticmethod(messages.record_sent)
    record_failed = staticmethod(messages.record_failed)
    record_exhausted = staticmethod(messages.record_exhausted)
    mark_ambiguous = staticmethod(messages.mark_ambiguous)

    def record_gateway_opt_out(self, campaign: CampaignModel, phone: str, number: str,
                               now: float) -> None:
        """The carrier says the consumer opted out: brand-wide, and counted once."""
        _, new_opt_out = optouts.record(campaign.brand_id, phone, source="gateway", now=now,
                                        number=number, campaign_id=campaign.campaign_id)
        if new_opt_out:
            analytics.record_opt_out(campaign.brand_id, campaign.skill, campaign.campaign_id,
                                     now, idempotency_key=f"optout#{campaign.brand_id}#"
                                                          f"{phone}#{now:.3f}")


class SendGateway(Protocol):
    """A brand's gateway (messaging/gateway.py Gateway)."""

    def client(self) -> Any: ...
    def send(self, *, to: str, from_: str, body: str | None = None,
             status_callback: str | None = None, validity_seconds: int | None = None,
             content_sid: str | None = None,
             content_variables: str | None = None) -> SentMessage: ...


@dataclass(frozen=True)
class Ports:
    store: SendStore = field(default_factory=StoreOps)
    gateway: Callable[[str], SendGateway] = gateways.for_brand  # by brand id
    send_queue: Callable[[Sequence[queues.Outgoing]], None] = queues.send_messages
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


_ports: list[Callable[[], Ports]] = [Ports]


def default_ports() -> Ports:
    return _ports[-1]()


def use_ports(factory: Callable[[], Ports]) -> Callable[[], None]:
    """Build the consumer's ports with `factory` from now on (the local stack and tests wrap the
    defaults this way, e.g. a store whose record_sent fails, to play a consumer dying between
    the send and its record); returns the function that undoes it."""
    _ports.append(factory)

    def undo() -> None:
        if factory in _ports:
            _ports.remove(factory)
    return undo


@dataclass(frozen=True)
class QueuedMessage:
    receipt: str  # the SQS message id, for batchItemFailures
    brand_id: str
    campaign_id: str
    phone: str
    due_at: float
    retry: int = 0
    fallback: bool = False  # prioritized: the number is not on WhatsApp, send the SMS

    @classmethod
    def parse(cls, message_id: str, body: str) -> QueuedMessage:
        data = json.loads(body)
        return cls(message_id, data["brand_id"], data["campaign_id"], data["phone"],
                   float(data.get("due_at") or 0), int(data.get("retry") or 0),
                   bool(data.get("fallback")))

    def body(self, retry: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"brand_id": self.brand_id, "campaign_id": self.campaign_id,
                                "phone": self.phone, "due_at": self.due_at,
                                "retry": self.retry if retry is None else retry}
        if self.fallback:
            body["fallback"] = True
        return body


@dataclass(frozen=True)
class Claimed:
    item: QueuedMessage
    message: MessageModel
    attempt: str
    claimed_at: float
    zones: list[str]
    channel: str  # "sms" or "whatsapp": what this attempt sends
    sender: str  # the from-number whose limit applies


class _Cache:
    """Per-container cache of slow-changing reads (brand zone, sender limits)."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[float, Any]] = {}
        self.lock = threading.Lock()

    def get(self, key: str, load: Callable[[], Any], now: float) -> Any:
        with self.lock:
            hit = self.values.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        value = load()
        with self.lock:
            self.values[key] = (now, value)
        return value

    def forget(self, key: str | None = None) -> None:
        with self.lock:
            if key is None:
                self.values.clear()
            else:
                self.values.pop(key, None)


_CACHE = _Cache()


class _Lead:
    """How far ahead of now a reservation's first slot lies: SLOT_LEAD_SECONDS, or twice the
    time recent reservations took when that is longer. A first slot nearer than the
    reservation's own round trip is already past when its thread gets it: on a busy table
    (locally, moto on one core) most sends missed their first slot and each took a new one,
    contending for the limiter with every consumer (2,000 sends: 1,285 single-slot reservations,
    4.5 tries each)."""

    def __init__(self) -> None:
        self.seconds = 0.0  # moving average of a reservation's round trip
        self.lock = threading.Lock()

    def observe(self, took: float) -> None:
        with self.lock:
            self.seconds = took if not self.seconds else 0.8 * self.seconds + 0.2 * took

    def get(self) -> float:
        with self.lock:
            return min(MAX_SLOT_LEAD_SECONDS, max(SLOT_LEAD_SECONDS, 2.0 * self.seconds))

    def forget(self) -> None:
        with self.lock:
            self.seconds = 0.0


_LEAD = _Lead()
on_reset(_LEAD.forget)


def forget_cached_reads() -> None:
    """Forget the cached brand zones, sender limits and owners (the settings changed)."""
    _CACHE.forget()


on_reset(forget_cached_reads)


def sender_rate(number: str, store: SendStore | None = None) -> float:
    """Messages per second `number` may send: its own setting, else its kind's default."""
    sender = (store or StoreOps()).sender_number(number)
    if sender is not None and sender.rate:
        return float(sender.rate)
    kind = sender.kind if sender is not None else "long_code"
    return SENDER_RATE_DEFAULTS.get(kind, 1.0)


NOT_OWNED = "{number} is no longer a sender number of this brand; nothing was sent from it"


def sender_of_brand(number: str, brand_id: str, now: float, store: SendStore | None = None,
                    cache: _Cache = _CACHE) -> bool:
    """Whether `number` still belongs to the brand (cached like the sender limits): a safety
    net behind launch's check and the refusal to remove a number a campaign uses."""
    def owner() -> str | None:
        sender = (store or StoreOps()).sender_number(number)
        return sender.brand_id if sender is not None else None
    key = f"owner#{number}"
    if cache.get(key, owner, now) == brand_id:
        return True
    # Only a "yes" is trusted from the cache: a "no" is read again, so a number given to the
    # brand since (or a cache filled by another stage's data) never fails a send.
    cache.forget(key)
    return bool(cache.get(key, owner, now) == brand_id)


class Dispatcher:
    def __init__(self, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None,
                 remaining_seconds: float = DEFAULT_REMAINING_SECONDS, *,
                 ports: Ports | None = None, cache: _Cache | None = None,
                 parallel: bool = True) -> None:
        ports = ports or default_ports()
        if clock is not None or sleep is not None:
            ports = replace(ports, clock=clock or ports.clock, sleep=sleep or ports.sleep)
        self.ports = ports
        self.store = ports.store
        self.clock = ports.clock
        self.sleep = ports.sleep
        self.cache = _CACHE if cache is None else cache
        # One thread per send, each waiting for its slot; False: one after another (unit tests
        # on a fake clock).
        self.parallel = parallel
        # The one deadline of this invocation: every send is over (answered or timed out) by it.
        self.deadline = self.clock() + remaining_seconds - DEADLINE_MARGIN_SECONDS
        self.pool: ThreadPoolExecutor | None = None
        self.requeue: list[queues.Outgoing] = []
        self.lock = threading.Lock()
        self.settings = get_settings()
        self.status_seen: dict[str, tuple[float, str]] = {}
        self.status_reads: dict[str, threading.Lock] = {}
        # Per brand: the consumers whose sends wait for their slots, and their opt-outs as read.
        self.waiting: dict[str, set[str]] = defaultdict(set)
        self.optouts_seen: dict[str, tuple[float, frozenset[str], frozenset[str]]] = {}
        self.optout_reads: dict[str, threading.Lock] = {}
        self.tolerance = START_TOLERANCE * self.settings.send_rate_margin_seconds

    def handle(self, records: Sequence[tuple[str, str]]) -> list[str]:
        failures: list[str] = []
        parsed: list[QueuedMessage] = []
        for message_id, body in records:
            try:
                parsed.append(QueuedMessage.parse(message_id, body))
            except (ValueError, KeyError, TypeError):
                logger.error("unreadable send message dropped to DLQ", extra={"body": body[:200]})
                failures.append(message_id)
        by_campaign: dict[tuple[str, str], list[QueuedMessage]] = defaultdict(list)
        for item in parsed:
            by_campaign[(item.brand_id, item.campaign_id)].append(item)
        # One pool for the whole batch: the campaigns' and senders' sends wait for their slots at
        # the same time, not one group after another.
        pool = (ThreadPoolExecutor(max_workers=max(1, len(parsed))) if self.parallel
                else contextlib.nullcontext())
        with pool as self.pool:
            for (brand_id, campaign_id), items in by_campaign.items():
                try:
                    self._campaign_batch(brand_id, campaign_id, items)
                except Exception:
                    logger.exception("send batch failed", extra={"campaign_id": campaign_id})
                    failures.extend(i.receipt for i in items)
        self.pool = None
        if self.requeue:
            self.ports.send_queue(self.requeue)
            self.requeue = []
        return failures

    # --- before the send ----------------------------------------------------------------------

    def _campaign_batch(self, brand_id: str, campaign_id: str,
                        items: list[QueuedMessage]) -> None:
        now = self.clock()
        store = self.store
        campaign = store.campaign(brand_id, campaign_id)
        self.status_seen[campaign_id] = (now, campaign.status)
        if campaign.status != "RUNNING":
            reason = {"CANCELLED": "the campaign was cancelled"}.get(
                campaign.status, f"the campaign is {campaign.status}")
            for item in items:
                store.skip(campaign_id, item.phone, campaign.status, reason, now)
            return
        blocked = store.opted_out(brand_id, [i.phone for i in items])
        held = (store.in_open_conversation(brand_id, [i.phone for i in items])
                if campaign.hold_open_conversations is not False else set())
        window = scheduler.Window.parse(campaign.window_start, campaign.window_end)
        brand_zone = self.cache.get(f"zone#{brand_id}", lambda: store.brand_zone(brand_id), now)
        to_claim: dict[str, QueuedMessage] = {}
        for item in items:
            if item.phone in to_claim:
                continue  # the same message twice in one batch: the claim would refuse it anyway
            if item.phone in blocked:
                store.skip(campaign_id, item.phone, "OPTED_OUT",
                              "the consumer opted out of this brand's messages", now)
            elif item.due_at > now + EARLY_TOLERANCE_SECONDS:
                self._wait_longer(item, item.due_at, now)
            elif item.phone in held:
                store.skip(campaign_id, item.phone, "OPEN_CONVERSATION",
                              "the consumer is in an open conversation with the brand", now)
            else:
                to_claim[item.phone] = item
        attempt_ids = {phone: uuid.uuid4().hex for phone in to_claim}
        # The batch's claims together (messages.claim_many); those not returned are not ours:
        # already handled (a duplicate delivery), claimed elsewhere or removed.
        ours = store.claim_many(campaign_id, attempt_ids, now,
                                self.settings.claim_lease_seconds) if to_claim else {}
        ready: list[Claimed] = []
        for phone, item in to_claim.items():
            message = ours.get(phone)
            if message is None:
                continue
            attempt = attempt_ids[phone]
            attempts = int(message.attempts or 0)
            if attempts > self.settings.max_send_attempts:
                # Earlier attempts ended unknown (crashed, or not at the gateway after an
                # ambiguous answer) as many times as allowed: stop cycling.
                store.record_exhausted(campaign_id, item.phone, attempt, attempts - 1,
                                       message.error_code, message.reason, now)
                continue
            zones = list(scheduler.safe_zones(message.zones or [], item.phone, brand_zone))
            if not scheduler.in_window(zones, window, now):
                self._outside_window(item, attempt, zones, window, now)
                continue
            channel, sender = self._route(campaign, message, item)
            if not sender_of_brand(sender, campaign.brand_id, now, store, self.cache):
                store.record_failed(campaign_id, item.phone, attempt, "SENDER_NOT_OWNED",
                                    NOT_OWNED.format(number=sender), now)
                continue
            ready.append(Claimed(item, message, attempt, now, zones, channel, sender))
        by_sender: dict[str, list[Claimed]] = defaultdict(list)
        for claimed in ready:
            by_sender[claimed.sender].append(claimed)
        for sender, group in by_sender.items():
            self._send_paced(campaign, sender, group, window)

    @staticmethod
    def _route(campaign: CampaignModel, message: MessageModel,
               item: QueuedMessage) -> tuple[str, str]:
        """(channel, from-number) of this attempt."""
        if campaign.channel == "sms":
            return "sms", campaign.from_number
        if (campaign.channel == "prioritized" and campaign.fallback_from_number
                and (item.fallback or (message.error_code or "") in NOT_WHATSAPP)):
            return "sms", campaign.fallback_from_number
        return "whatsapp", campaign.from_number

    def _outside_window(self, item: QueuedMessage, attempt: str, zones: list[str],
                        window: scheduler.Window, now: float) -> None:
        opens = scheduler.next_open(zones, window, now)
        cid = item.campaign_id
        if opens is None:
            self.store.skip_claimed(cid, item.phone, attempt, "NO_WINDOW",
                                    "the sending window never opens in all of the number's "
                                    "time zones", now)
        elif opens - now <= queues.MAX_DELAY_SECONDS:
            if self.store.release_claim(cid, item.phone, attempt, None, None, now,
                                        due_at=opens, counted=False):
                self._requeue(queues.Outgoing({**item.body(), "due_at": opens},
                                              math.ceil(opens - now)))
        else:
            self.store.release_claim(cid, item.phone, attempt, None, None, now, due_at=opens,
                                     in_queue=False, counted=False)

    def _send_paced(self, campaign: CampaignModel, sender: str, ready: list[Claimed],
                    window: scheduler.Window) -> None:
        now = self.clock()
        rate = float(self.cache.get(f"rate#{sender}", lambda: sender_rate(sender, self.store),
                                    now))
        margin = self.settings.send_rate_margin_seconds
        intervals = {
            f"campaign#{campaign.campaign_id}": slot_interval(float(campaign.send_rate), margin),
            f"sender#{sender}": slot_interval(rate, margin)}
        # Built (credentials read) before the first slot, so no send starts late for it.
        self.ports.gateway(campaign.brand_id).client()
        # The status as of now: the sends of the next second need no read of their own (a read
        # just before a slot, behind a busy table, made the send miss it). Stopped since the
        # batch was read: no slot of the sender is booked for sends that will not go.
        if not self._still_running(campaign, self.clock() + STATUS_FRESH_SECONDS / 2):
            for claimed in ready:
                self.store.skip_claimed(claimed.item.campaign_id, claimed.item.phone,
                                        claimed.attempt, "CANCELLED",
                                        "the campaign was cancelled", self.clock())
            return
        budget = self._budget()
        try:
            first, gap, granted = (self._reserve(intervals, len(ready), budget) if budget >= 0
                                   else (self.clock(), 0.0, 0))
        except limits.LimiterContended:
            # The limiters stayed too busy to book: the claims go back to the queue for a
            # second later (a failed batch would leave them claimed until their lease expires).
            first, gap, granted = self.clock() + 1.0, 0.0, 0
        # Over the limit (the sender is busy with other campaigns, or this batch is bigger than
        # the budget or the invocation's time): the rest waits for its turn on the queue at
        # once; never dropped.
        for index, claimed in enumerate(ready[granted:]):
            due = first + (granted + index) * gap
            self._give_back(claimed, due, "waiting for the sender's or campaign's send rate")
        # One thread per message, each waiting for its own slot: a slow gateway answer must not
        # make the next message late for its slot. The batch's pool is shared by every group.
        with self.lock:
            self.waiting[campaign.brand_id].update(c.item.phone for c in ready[:granted])
        for index, claimed in enumerate(ready[:granted]):
            self._submit(self._send_at, first + index * gap, campaign, claimed, window,
                         intervals)

    def _reserve(self, intervals: Mapping[str, float], count: int,
                 budget: float) -> tuple[float, float, int]:
        began = time.monotonic()
        try:
            return self.store.reserve_slots(intervals, count, self.clock, budget, _LEAD.get())
        finally:
            _LEAD.observe(time.monotonic() - began)

    def _budget(self) -> float:
        """How far from now a send slot may lie: the send must be answered (or time out) before
        the invocation's deadline, and no slot is further than SEND_BUDGET_SECONDS."""
        left = self.deadline - self.settings.gateway_timeout_seconds - self.clock()
        return min(SEND_BUDGET_SECONDS, left)

    def _submit(self, *call: Any) -> None:
        if self.pool is None:  # called outside handle() (tests of one campaign's batch)
            call[0](*call[1:])
            return
        self.pool.submit(*call)

    def _give_back(self, claimed: Claimed, due: float, reason: str | None) -> None:
        """Release the claim (nothing was sent) and put the message back on the queue."""
        item, now = claimed.item, self.clock()
        if self.store.release_claim(item.campaign_id, item.phone, claimed.attempt, None, reason,
                                    now, due_at=max(due, now), counted=False):
            self._requeue(queues.Outgoing({**item.body(), "due_at": max(due, now)},
                                          math.ceil(max(0.0, due - now))))

    def _still_running(self, campaign: CampaignModel, at: float) -> bool:
        """The campaign's status as it will be seen at `at` (a send slot): read again unless it
        was read at most STATUS_FRESH_SECONDS before `at`. Called before the slot, so the read
        never makes a send late; cancel is honoured within STATUS_FRESH_SECONDS of the send, at
        the cost of about one read per second per consumer."""
        cid = campaign.campaign_id
        with self.lock:
            seen_at, status = self.status_seen.get(cid, (0.0, ""))
            reading = self.status_reads.setdefault(cid, threading.Lock())
        if at - seen_at > STATUS_FRESH_SECONDS:
            with reading:  # one read at a time per campaign: the threads waiting share it
                with self.lock:
                    seen_at, status = self.status_seen.get(cid, (0.0, ""))
                if at - seen_at > STATUS_FRESH_SECONDS:
                    now = self.clock()
                    status = self.store.campaign(campaign.brand_id, cid).status
                    with self.lock:
                        self.status_seen[cid] = (now, status)
        return status == "RUNNING"

    def _may_still_send(self, slot: float, campaign: CampaignModel, claimed: Claimed) -> bool:
        """The checks due before a send slot, done ahead of it (reads after the slot would make
        the send late): the opt-out again when the wait was long (a STOP stored meanwhile
        counts), and the campaign's status. False: the claim was settled here (SKIPPED)."""
        item = claimed.item
        if slot - self.clock() > OPT_OUT_RECHECK_SECONDS:
            self.sleep(max(0.0, slot - OPT_OUT_CHECK_LEAD_SECONDS - self.clock()))
            if self._opted_out_since(campaign.brand_id, item.phone,
                                     slot - OPT_OUT_RECHECK_SECONDS):
                self.store.skip_claimed(item.campaign_id, item.phone, claimed.attempt,
                                        "OPTED_OUT",
                                        "the consumer opted out of this brand's messages",
                                        self.clock())
                return False
        if not self._still_running(campaign, slot):
            self.store.skip_claimed(item.campaign_id, item.phone, claimed.attempt, "CANCELLED",
                                    "the campaign was cancelled", self.clock())
            return False
        return True

    def _opted_out_since(self, brand_id: str, phone: str, since: float) -> bool:
        """Whether the consumer opted out of the brand, as read at `since` or later: one read (a
        batch of keys) of every consumer this invocation still waits to send to serves all the
        brand's sends due within the next OPT_OUT_RECHECK_SECONDS, instead of one read per send
        (a batch of 100 waits up to 10 s for its slots: ~1 read per message)."""
        with self.lock:
            reading = self.optout_reads.setdefault(brand_id, threading.Lock())
        with reading:  # one read at a time per brand: the threads waiting share it
            with self.lock:
                read_at, covered, blocked = self.optouts_seen.get(
                    brand_id, (-math.inf, frozenset(), frozenset()))
                phones = self.waiting[brand_id] | {phone}
            if read_at < since or phone not in covered:
                read_at = self.clock()
                blocked = frozenset(self.store.opted_out(brand_id, sorted(phones)))
                with self.lock:
                    self.optouts_seen[brand_id] = (read_at, frozenset(phones), blocked)
        return phone in blocked

    def _send_at(self, slot: float, campaign: CampaignModel, claimed: Claimed,
                 window: scheduler.Window, intervals: dict[str, float]) -> None:
        try:
            for _ in range(LATE_RETRIES + 1):
                if not self._may_still_send(slot, campaign, claimed):
                    return
                wait = slot - self.clock()
                if wait > 0:
                    self.sleep(wait)
                if self.clock() - slot <= self.tolerance:
                    break
                # Late for the slot (a busy machine): sending now could exceed the rate. Take
                # a new slot rather than a trip through the queue.
                budget = self._budget()
                try:
                    first, _, granted = (self._reserve(intervals, 1, budget) if budget >= 0
                                         else (self.clock(), 0.0, 0))
                except limits.LimiterContended:
                    first, granted = self.clock() + 1.0, 0
                if not granted:
                    self._give_back(claimed, first, "waiting for a send slot")
                    return
                slot = first
            else:
                self._give_back(claimed, self.clock(), "waiting for a send slot")
                return
            now = self.clock()
            lease_left = claimed.claimed_at + self.settings.claim_lease_seconds - now
            if (lease_left < self.settings.gateway_timeout_seconds + 1
                    or now + self.settings.gateway_timeout_seconds > self.deadline
                    or not scheduler.in_window(claimed.zones, window, now)):
                # The claim is about to expire, the invocation's time is nearly up, or the
                # window closed while waiting: give it back untouched.
                self._give_back(claimed, now, "waiting for a send slot")
                return
            send_metrics.slot_lateness(now - slot)
            self._send_one(campaign, claimed, window, now)
        except Exception:
            # The claim stays; the message is reconciled rather than resent blind.
            logger.exception("send failed", extra={"campaign_id": campaign.campaign_id})
        finally:
            with self.lock:
                self.waiting[campaign.brand_id].discard(claimed.item.phone)

    def _requeue(self, outgoing: queues.Outgoing) -> None:
        send_metrics.requeued()
        with self.lock:
            self.requeue.append(outgoing)

    # --- the send -----------------------------------------------------------------------------

    def _send_one(self, campaign: CampaignModel, claimed: Claimed, window: scheduler.Window,
                  now: float) -> None:
        item, message = claimed.item, claimed.message
        # The provider drops the message when the window closes (Twilio allows at most 10 h).
        validity = int(min(MAX_VALIDITY_SECONDS,
                           scheduler.seconds_until_close(claimed.zones, window, now)))
        base = self.settings.webhook_base_url
        callback = f"{base}/webhooks/twilio/status" if base else None
        cid = campaign.campaign_id
        gateway = self.ports.gateway(campaign.brand_id)  # the brand's own account, if it has one
        try:
            if claimed.channel == "whatsapp":
                content_sid = _content_sid(self.store, campaign)
                variables = {str(i + 1): v for i, v in enumerate(message.variables or [])}
                sent = gateway.send(
                    to=f"whatsapp:{item.phone}", from_=f"whatsapp:{claimed.sender}",
                    content_sid=content_sid, content_variables=json.dumps(variables),
                    status_callback=callback, validity_seconds=validity)
            else:
                body = message.text or ""
                if campaign.channel == "prioritized":
                    body = message.fallback_text or message.text or ""
                sent = gateway.send(to=item.phone, from_=claimed.sender, body=body,
                                    status_callback=callback, validity_seconds=validity)
        except GatewayError as error:
            send_metrics.failed(error.code, self.clock() - now)
            self._gateway_failed(campaign, claimed, error)
            return
        send_metrics.sent(self.clock() - now)
        if not self.store.record_sent(cid, item.phone, claimed.attempt, sent.sid,
                                      claimed.channel, self.clock(), due_at=item.due_at or None):
            logger.warning("sent but the claim was lost", extra={"campaign_id": cid,
                                                                 "sid": sent.sid})

    def _gateway_failed(self, campaign: CampaignModel, claimed: Claimed,
                        error: GatewayError) -> None:
        now, store = self.clock(), self.store
        item, attempt, cid = claimed.item, claimed.attempt, campaign.campaign_id
        log = {"campaign_id": cid, "code": error.code, "kind": error.kind}
        if error.kind == "transient":
            attempts = int(claimed.message.attempts or 1)
            if attempts >= self.settings.max_send_attempts:
                store.record_exhausted(cid, item.phone, attempt, attempts, error.code,
                                       error.message, now)
                return
            delay = backoff_seconds(attempts - 1)
            if store.release_claim(cid, item.phone, attempt, error.code, error.message, now,
                                   due_at=now + delay):
                self._requeue(queues.Outgoing(item.body(retry=item.retry + 1), math.ceil(delay)))
            logger.info("transient gateway error, retrying", extra=log)
        elif error.kind == "opted_out":
            store.record_gateway_opt_out(campaign, item.phone, claimed.sender, now)
            store.skip_claimed(cid, item.phone, attempt, "OPTED_OUT",
                               f"the carrier reports the consumer opted out ({error.code})", now)
        elif error.kind == "not_whatsapp" and (campaign.channel == "prioritized"
                                               and campaign.fallback_from_number
                                               and claimed.channel == "whatsapp"):
            # The number cannot receive WhatsApp: the same content goes by SMS, paced by the
            # fallback number's limit (the next pass routes it there by this error code).
            if store.release_claim(cid, item.phone, attempt, error.code,
                                   "not on WhatsApp; sending the SMS fallback", now):
                self._requeue(queues.Outgoing({**item.body(), "fallback": True}, 0))
        elif error.kind == "ambiguous":
            # The gateway may have taken it: stays SENDING; reconciled (looked up) before any
            # resend, once the request can no longer be in flight.
            store.mark_ambiguous(cid, item.phone, attempt, error.code, error.message, now,
                                 reconcile_after=2 * self.settings.gateway_timeout_seconds)
            logger.warning("ambiguous send outcome; left for reconciliation", extra=log)
        else:
            store.record_failed(cid, item.phone, attempt, error.code, error.message, now)

    def _wait_longer(self, item: QueuedMessage, due_at: float, now: float) -> None:
        delay = due_at - now
        if delay <= queues.MAX_DELAY_SECONDS:
            self._requeue(queues.Outgoing({**item.body(), "due_at": due_at},
                                          math.ceil(delay)))
        else:
            self.store.reschedule(item.campaign_id, item.phone, due_at, now)


def _content_sid(store: SendStore, campaign: CampaignModel) -> str:
    template = store.template(campaign.brand_id, campaign.template_id or "")
    if template is None or template.status != "APPROVED" or not template.content_sid:
        state = "missing" if template is None else template.status
        raise GatewayError("permanent", "TEMPLATE_UNAVAILABLE",
                           f"the campaign's WhatsApp template is {state}")
    return str(template.content_sid)


def backoff_seconds(retry: int) -> float:
    """Exponential backoff with jitter: 5 s, 10 s, 20 s... (+-20%), at most 15 minutes."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** retry)
    return float(ceiling * random.uniform(0.8, 1.2))


def slot_interval(rate: float, margin: float = 0.05) -> float:
    """Seconds between send slots for `rate` messages/second.

    With sends reaching the gateway up to `margin` seconds after their slot, any ceil(rate) + 1
    consecutive sends still span at least one second: no second holds more than ceil(rate).
    """
    return 1.0 / rate + margin / max(1, math.ceil(rate))


def launch_rate(campaign_rate: float, sender: str | None, margin: float) -> float:
    """The rate a launch spaces a campaign's due instants at: the campaign's, at most its
    sender's, at the limiters' own spacing (slot_interval) plus LAUNCH_SLACK. A campaign paced
    faster than its slots can be granted falls behind its schedule by the difference for as long
    as it runs (5% of the elapsed time at the default margin), and one paced at exactly the
    slots' rate never recovers a slot it lost (a late thread, a retry); found by
    bench/simulate.py."""
    rate = campaign_rate if not sender else min(campaign_rate, sender_rate(sender))
    return 1.0 / (slot_interval(rate, margin) * (1.0 + LAUNCH_SLACK))


def handle_batch(records: Sequence[tuple[str, str]],
                 remaining_seconds: float = DEFAULT_REMAINING_SECONDS) -> list[str]:
    """`remaining_seconds`: what the Lambda context has left (get_remaining_time_in_millis)."""
    return Dispatcher(remaining_seconds=remaining_seconds).handle(records)
