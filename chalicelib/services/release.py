"""The one-minute schedule: start campaigns whose launch time came, and put messages due within
the release horizon on the send queue with DelaySeconds (DESIGN "Fan-out and deferral")."""

from __future__ import annotations

import time

from chalicelib.config import get_settings
from chalicelib.logging import logger
from chalicelib.services import queues, reconcile_sends
from chalicelib.store import campaigns, messages
from chalicelib.store.models import CampaignModel

CHUNK = 100


def tick(now: float | None = None) -> dict[str, int]:
    now = time.time() if now is None else now
    started = start_due_campaigns(now)
    released = release_messages(now)
    swept = reconcile_sends.sweep(now)
    return {"campaigns_started": started, "messages_released": released, **swept}


def start_due_campaigns(now: float) -> int:
    started = 0
    for brand_id, campaign_id in campaigns.due_launches(now):
        campaign = campaigns.get(brand_id, campaign_id)
        if campaign.status != "SCHEDULED":
            continue
        try:
            campaigns.update(
                campaign,
                [CampaignModel.status.set("RUNNING"), CampaignModel.launched_at.set(now),
                 CampaignModel.launch_shard.remove(), CampaignModel.updated_at.set(now)],
                CampaignModel.status == "SCHEDULED", "campaign changed meanwhile")
        except Exception:
            logger.info("scheduled campaign changed before it started",
                        extra={"campaign_id": campaign_id})
            continue
        queues.send_job({"type": "launch", "brand_id": brand_id, "campaign_id": campaign_id})
        started += 1
    return started


def release_messages(now: float) -> int:
    """SQS first, then SCHEDULED -> QUEUED: a crash in between only duplicates a queue entry,
    which the consumer's claim makes harmless; the other order could lose the message."""
    horizon = get_settings().release_horizon_seconds
    released = 0
    batch: list[messages.DueMessage] = []
    for due in messages.iter_due(now + horizon):
        batch.append(due)
        if len(batch) >= CHUNK:
            released += _release(batch, now)
            batch = []
    if batch:
        released += _release(batch, now)
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
