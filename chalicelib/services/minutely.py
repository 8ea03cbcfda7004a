"""The one-minute schedule: start campaigns whose launch time came, and put messages due within
the release horizon on the send queue with DelaySeconds (DESIGN "Fan-out and deferral")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from chalicelib.config import get_settings
from chalicelib.logs import logger
from chalicelib.services import queues, reconcile_sends
from chalicelib.store import campaigns, messages

CHUNK = 100
# One release at a time in a process: the launch job releases after each of its stages while the
# release schedule may run beside it (locally both run in one process). Two at once each read
# the same rows as SCHEDULED before the other marked them QUEUED and queued them twice (a third
# of the send queue's entries were duplicates: a receive and a refused claim each). On AWS the
# two are different functions and can still meet; the consumer's claim keeps a duplicate entry
# harmless.
_RELEASING = threading.Lock()


def tick(now: float | None = None) -> dict[str, int]:
    """Each step on its own: one that fails (SQS refusing a send) is logged and tried again at
    the next tick, and does not stop the others. The release runs before reconciliation (which
    may take a while: a gateway look-up per ambiguous send) so that due messages are never held
    up by it; a message reconciliation puts back goes on the queue at the next tick."""
    now = time.time() if now is None else now
    outcome: dict[str, int] = {}
    steps: list[tuple[str, Callable[[float], dict[str, int]]]] = [
        ("start", lambda at: {"campaigns_started": start_due_campaigns(at)}),
        ("fanout", lambda at: {"fanouts_resumed": resume_stalled_fanouts(at)}),
        ("release", lambda at: {"messages_released": release_messages(at)}),
        ("reconcile", reconcile_sends.sweep),
    ]
    for name, step in steps:
        try:
            outcome.update(step(now))
        except Exception:  # noqa: BLE001 - the next tick tries again; every step is idempotent
            logger.exception("release schedule step failed; tried again next tick",
                             extra={"step": name})
    return outcome


def start_due_campaigns(now: float) -> int:
    """SCHEDULED -> RUNNING with the fan-out marked as asked for, then the launch job: when the
    job's queue message is lost, resume_stalled_fanouts asks for it again."""
    started = 0
    for brand_id, campaign_id in campaigns.due_launches(now):
        campaign = campaigns.get(brand_id, campaign_id)
        if campaign.status != "SCHEDULED":
            continue
        try:
            campaigns.start_scheduled(campaign, now)
        except Exception:
            logger.info("scheduled campaign changed before it started",
                        extra={"campaign_id": campaign_id})
            continue
        started += 1
        queues.send_job({"type": "launch", "brand_id": brand_id, "campaign_id": campaign_id})
    return started


def resume_stalled_fanouts(now: float) -> int:
    """Ask again for the launch job of RUNNING campaigns whose fan-out was asked for more than
    settings.fanout_grace_seconds ago and has not finished (its queue message was lost, or the
    job stopped half-way and SQS gave up on it). The job is idempotent: it moves only PENDING
    rows, and the send claim guards against a second send."""
    grace = get_settings().fanout_grace_seconds
    resumed = 0
    for brand_id, campaign_id in list(campaigns.stalled_fanouts(now - grace)):
        if not campaigns.ask_fanout_again(brand_id, campaign_id, now):
            campaigns.fanout_done(brand_id, campaign_id)  # cancelled meanwhile: nothing to do
            continue
        logger.warning("launch fan-out stalled; asked for again",
                       extra={"campaign_id": campaign_id})
        queues.send_job({"type": "launch", "brand_id": brand_id, "campaign_id": campaign_id})
        resumed += 1
    return resumed


def release_messages(now: float) -> int:
    """SQS first, then SCHEDULED -> QUEUED: a crash in between only duplicates a queue entry,
    which the consumer's claim makes harmless; the other order could lose the message."""
    asked = time.time()
    with _RELEASING:
        # `now` as of the start of this release, not of the wait for the one before it.
        return _release_due(now + time.time() - asked, get_settings().release_horizon_seconds)


def _release_due(now: float, horizon: float) -> int:
    released = 0
    batch: list[messages.DueMessage] = []
    began = time.time()
    # Each chunk's DelaySeconds from the time it is sent (`now` advanced by the time taken): a
    # release of tens of thousands takes a minute, and a delay counted from its start would make
    # the last chunks late by that much (bench/simulate.py).
    for due in messages.iter_due(now + horizon):
        batch.append(due)
        if len(batch) >= CHUNK:
            released += _release(batch, now + time.time() - began)
            batch = []
    if batch:
        released += _release(batch, now + time.time() - began)
    if released:
        logger.info("messages released to the send queue", extra={"count": released})
    return released


def _release(batch: list[messages.DueMessage], now: float) -> int:
    queues.send_messages([
        queues.Outgoing(
            {"brand_id": m.brand_id, "campaign_id": m.campaign_id, "phone": m.phone,
             "due_at": m.due_at, "retry": 0},
            int(max(0.0, m.due_at - now)),
        )
        for m in batch
    ])
    messages.mark_queued(batch, now)
    return len(batch)
