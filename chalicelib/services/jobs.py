"""Jobs from the control queue: launch fan-out and cancellation sweep (too big for a request)."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.domain import scheduler
from chalicelib.logging import logger
from chalicelib.services import release
from chalicelib.store import brands, campaigns, messages

NO_WINDOW = "the sending window never opens in all of the number's time zones"


def run(job: dict[str, Any]) -> None:
    kind = job.get("type")
    if kind == "launch":
        launch(job["brand_id"], job["campaign_id"])
    elif kind == "cancel":
        cancel(job["brand_id"], job["campaign_id"])
    else:
        raise ValueError(f"unknown job type {kind!r}")


def launch(brand_id: str, campaign_id: str, now: float | None = None) -> int:
    """Give every PENDING recipient its due instant, then release what is due soon."""
    now = time.time() if now is None else now
    campaign = campaigns.get(brand_id, campaign_id)
    if campaign.status != "RUNNING":
        logger.info("launch job for a campaign that is not running",
                    extra={"campaign_id": campaign_id, "status": campaign.status})
        return 0
    brand = brands.get_brand(brand_id)
    # Only the campaign's list goes out: a line of another list (one replaced or abandoned while
    # it was being stored) is deleted, never scheduled.
    list_id = int(campaign.list_id or 0)
    pending = []
    for m in messages.iter_for_launch(campaign_id):
        if m.status != "PENDING":
            continue
        if messages.in_list(m, list_id):
            pending.append(m)
        elif messages.forget_pending(campaign_id, m.phone, int(m.list_id or 0)):
            logger.info("line of a replaced list deleted at launch",
                        extra={"campaign_id": campaign_id})
    pending.sort(key=lambda m: int(m.line or 0))
    window = scheduler.Window.parse(campaign.window_start, campaign.window_end)
    zones = [scheduler.safe_zones(m.zones or [], m.phone, brand.time_zone) for m in pending]
    due = scheduler.schedule(zones, window, float(campaign.send_rate), now)
    moved = messages.schedule_many(
        campaign_id, [(m.phone, d) for m, d in zip(pending, due, strict=True)], now, NO_WINDOW,
        campaign.skill)
    logger.info("campaign scheduled", extra={"campaign_id": campaign_id, "messages": moved})
    release.release_messages(now)
    campaigns.fanout_done(brand_id, campaign_id)  # else the release schedule asks again
    return moved


def cancel(brand_id: str, campaign_id: str) -> int:
    """Every message still waiting ends SKIPPED, so nothing pending goes out afterwards."""
    now = time.time()
    skipped = 0
    for message in messages.iter_campaign(campaign_id, consistent=True):
        if message.status in ("PENDING", *messages.WAITING) and messages.skip(
                campaign_id, message.phone, "CANCELLED", "the campaign was cancelled", now,
                from_statuses=("PENDING", *messages.WAITING)):
            skipped += 1
    logger.info("campaign cancelled", extra={"campaign_id": campaign_id, "skipped": skipped})
    return skipped
