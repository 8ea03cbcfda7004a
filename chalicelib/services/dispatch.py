"""The send consumer: one SQS batch of messages due about now -> gateway calls.

Per message, in order (DESIGN "Send"): campaign still running? consumer opted out? due and inside
the window now? Then claim (conditional write with an attempt id), wait for the rate slot, send,
record. Returns the SQS message ids that must be retried (partial batch failure).
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain import scheduler
from chalicelib.logging import logger
from chalicelib.messaging.gateway import GatewayError, get_gateway
from chalicelib.services import queues
from chalicelib.store import brands, campaigns, limits, messages, optouts
from chalicelib.store.models import CampaignModel, MessageModel

CLAIM_LEASE_SECONDS = 120.0
MAX_ATTEMPTS = 5
EARLY_TOLERANCE_SECONDS = 1.0  # a message this close to due is held in the consumer, not requeued
# Slots are spaced so that a send reaching the gateway up to LATE_MARGIN_SECONDS after its slot
# still keeps every interval of T seconds at or below ceil(rate * T) sends (slot_interval). A send
# may start at most START_TOLERANCE_SECONDS late (else it is requeued), leaving the rest of the
# margin for the request to travel.
LATE_MARGIN_SECONDS = 0.05
START_TOLERANCE_SECONDS = 0.02
SENDER_RATE_DEFAULTS = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0, "whatsapp": 80.0}
SEND_BUDGET_SECONDS = 10.0  # how long one invocation may wait for slots (Lambda timeout is 30 s)


@dataclass(frozen=True)
class QueuedMessage:
    receipt: str  # the SQS message id, for batchItemFailures
    brand_id: str
    campaign_id: str
    phone: str
    due_at: float
    retry: int = 0

    @classmethod
    def parse(cls, message_id: str, body: str) -> QueuedMessage:
        data = json.loads(body)
        return cls(message_id, data["brand_id"], data["campaign_id"], data["phone"],
                   float(data.get("due_at") or 0), int(data.get("retry") or 0))

    def body(self, retry: int | None = None) -> dict[str, Any]:
        return {"brand_id": self.brand_id, "campaign_id": self.campaign_id, "phone": self.phone,
                "due_at": self.due_at, "retry": self.retry if retry is None else retry}


class Dispatcher:
    def __init__(self, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock = clock
        self.sleep = sleep
        self.requeue: list[queues.Outgoing] = []
        self.lock = threading.Lock()

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
        for (brand_id, campaign_id), items in by_campaign.items():
            try:
                self._campaign_batch(brand_id, campaign_id, items)
            except Exception:
                logger.exception("send batch failed", extra={"campaign_id": campaign_id})
                failures.extend(i.receipt for i in items)
        if self.requeue:
            queues.send_messages(self.requeue)
            self.requeue = []
        return failures

    def _campaign_batch(self, brand_id: str, campaign_id: str,
                        items: list[QueuedMessage]) -> None:
        now = self.clock()
        campaign = campaigns.get(brand_id, campaign_id)
        if campaign.status != "RUNNING":
            reason = {"CANCELLED": "the campaign was cancelled"}.get(
                campaign.status, f"the campaign is {campaign.status}")
            for item in items:
                messages.skip(campaign_id, item.phone, campaign.status, reason, now)
            return
        blocked = optouts.opted_out(brand_id, [i.phone for i in items])
        window = scheduler.Window.parse(campaign.window_start, campaign.window_end)
        brand = brands.get_brand(brand_id)
        intervals = self._intervals(campaign)
        room = max(1, int(SEND_BUDGET_SECONDS / max(intervals.values())))
        ready: list[tuple[QueuedMessage, MessageModel, str]] = []
        for item in items:
            if item.phone in blocked:
                messages.skip(campaign_id, item.phone, "OPTED_OUT",
                              "the consumer opted out of this brand's messages", now)
                continue
            if item.due_at > now + EARLY_TOLERANCE_SECONDS:
                self._wait_longer(item, item.due_at, now)
                continue
            message = messages.get(campaign_id, item.phone)
            if message is None or message.status not in messages.WAITING:
                continue  # already handled (a duplicate delivery) or removed
            zones = list(message.zones or []) or [brand.time_zone]
            if not scheduler.in_window(zones, window, now):
                opens = scheduler.next_open(zones, window, now)
                if opens is None:
                    messages.skip(campaign_id, item.phone, "NO_WINDOW",
                                  "the sending window never opens in all of the number's "
                                  "time zones", now)
                else:
                    self._wait_longer(item, opens, now)
                continue
            if len(ready) >= room:
                self._wait_longer(item, now + len(ready) * max(intervals.values()), now)
                continue
            attempt = uuid.uuid4().hex
            if messages.claim(campaign_id, item.phone, attempt, now, CLAIM_LEASE_SECONDS):
                ready.append((item, message, attempt))
        if ready:
            self._send_paced(campaign, ready, window, brand.time_zone, intervals)

    @staticmethod
    def _intervals(campaign: CampaignModel) -> dict[str, float]:
        """Seconds between sends for each limiter: the campaign's rate and its sender's."""
        sender = brands.get_sender_number(campaign.from_number)
        if sender is not None and sender.rate:
            sender_rate = float(sender.rate)
        else:
            kind = sender.kind if sender is not None else "long_code"
            sender_rate = SENDER_RATE_DEFAULTS.get(kind, 1.0)
        return {f"campaign#{campaign.campaign_id}": slot_interval(float(campaign.send_rate)),
                f"sender#{campaign.from_number}": slot_interval(sender_rate)}

    def _send_paced(self, campaign: CampaignModel,
                    ready: list[tuple[QueuedMessage, MessageModel, str]],
                    window: scheduler.Window, brand_zone: str,
                    intervals: dict[str, float]) -> None:
        get_gateway()  # built before the first slot, so no send starts late for it
        first, gap = limits.reserve(intervals, len(ready), self.clock)
        # One thread per message, each waiting for its own slot: a slow gateway answer must not
        # make the next message late for its slot.
        with ThreadPoolExecutor(max_workers=len(ready)) as pool:
            for index, (item, message, attempt) in enumerate(ready):
                pool.submit(self._send_at, first + index * gap, campaign, item, message, attempt,
                            window, brand_zone)

    def _send_at(self, slot: float, campaign: CampaignModel, item: QueuedMessage,
                 message: MessageModel, attempt: str, window: scheduler.Window,
                 brand_zone: str) -> None:
        try:
            wait = slot - self.clock()
            if wait > 0:
                self.sleep(wait)
            now = self.clock()
            zones = list(message.zones or []) or [brand_zone]
            if now - slot > START_TOLERANCE_SECONDS or not scheduler.in_window(zones, window, now):
                # Too late for the slot (sending now could exceed the rate) or the window closed
                # while waiting: give it back untouched, it goes on a later slot.
                messages.release_claim(campaign.campaign_id, item.phone, attempt, "RESCHEDULED",
                                       "waiting for a send slot", now)
                self._requeue(queues.Outgoing(item.body(), 0))
                return
            self._send_one(campaign, item, message, attempt, zones, window, now)
        except Exception:
            # The claim stays; the message is reconciled rather than resent blind.
            logger.exception("send failed", extra={"campaign_id": campaign.campaign_id})

    def _requeue(self, outgoing: queues.Outgoing) -> None:
        with self.lock:
            self.requeue.append(outgoing)

    def _send_one(self, campaign: CampaignModel, item: QueuedMessage, message: MessageModel,
                  attempt: str, zones: list[str], window: scheduler.Window, now: float) -> None:
        settings = get_settings()
        validity = int(scheduler.seconds_until_close(zones, window, now))
        callback = (f"{settings.public_base_url}/webhooks/twilio/status"
                    if settings.public_base_url else None)
        cid = campaign.campaign_id
        try:
            sent = get_gateway().send(to=item.phone, from_=campaign.from_number,
                                      body=message.text or "", status_callback=callback,
                                      validity_seconds=validity)
        except GatewayError as error:
            self._gateway_failed(campaign, item, attempt, error)
            return
        if not messages.record_sent(cid, item.phone, attempt, sent.sid, "sms", self.clock()):
            logger.warning("sent but the claim was lost", extra={"campaign_id": cid,
                                                                 "sid": sent.sid})

    def _gateway_failed(self, campaign: CampaignModel, item: QueuedMessage, attempt: str,
                        error: GatewayError) -> None:
        now = self.clock()
        cid = campaign.campaign_id
        log = {"campaign_id": cid, "code": error.code, "kind": error.kind}
        if error.kind == "transient":
            if item.retry + 1 >= MAX_ATTEMPTS:
                messages.record_failed(cid, item.phone, attempt, error.code,
                                       f"gave up after {MAX_ATTEMPTS} attempts: {error.message}",
                                       now)
                return
            messages.release_claim(cid, item.phone, attempt, error.code, error.message, now)
            backoff = min(900.0, 2 ** item.retry * 5) * random.uniform(0.8, 1.2)
            self._requeue(queues.Outgoing(item.body(retry=item.retry + 1), int(backoff)))
            logger.info("transient gateway error, retrying", extra=log)
        elif error.kind == "opted_out":
            optouts.add(campaign.brand_id, item.phone, "gateway", None, now)
            messages.skip(cid, item.phone, "OPTED_OUT",
                          f"the carrier reports the consumer opted out ({error.code})", now,
                          from_statuses=("SENDING",))
        elif error.kind == "ambiguous":
            # The gateway may have accepted it: leave it SENDING; never resend blind.
            logger.warning("ambiguous send outcome; left for reconciliation", extra=log)
        else:
            messages.record_failed(cid, item.phone, attempt, error.code, error.message, now)

    def _wait_longer(self, item: QueuedMessage, due_at: float, now: float) -> None:
        delay = due_at - now
        if delay <= queues.MAX_DELAY_SECONDS:
            self._requeue(queues.Outgoing({**item.body(), "due_at": due_at},
                                                int(delay + 0.999)))
        else:
            messages.reschedule(item.campaign_id, item.phone, due_at, now)


def slot_interval(rate: float) -> float:
    """Seconds between send slots for `rate` messages/second.

    With sends starting up to LATE_MARGIN_SECONDS after their slot, any ceil(rate) + 1
    consecutive sends still span at least one second: no second holds more than ceil(rate).
    """
    return 1.0 / rate + LATE_MARGIN_SECONDS / max(1, math.ceil(rate))


def handle_batch(records: Sequence[tuple[str, str]]) -> list[str]:
    return Dispatcher().handle(records)
