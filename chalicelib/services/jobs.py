"""Jobs from the control queue: launch fan-out and cancellation sweep (too big for a request)."""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain import scheduler
from chalicelib.logs import logger
from chalicelib.services import dispatch, minutely
from chalicelib.store import brands, campaigns, messages
from chalicelib.store.models import BrandModel, CampaignModel

NO_WINDOW = "the sending window never opens in all of the number's time zones"
# The fan-out in stages: first the messages due within this many seconds are written and
# released, then 4x as far each time, so the first sends never wait for a large campaign's
# last rows to be written (100,000 rows took ~25 s to write before the first release).
FIRST_STAGE_SECONDS = 2.0
# The first due instant lies this far after the schedule is made: time to write and release the
# first stage, so that the first message is on the queue when it is due, not after.
LAUNCH_LEAD_SECONDS = 1.0


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
    began = time.time()
    start = began if now is None else now

    def clock() -> float:  # the job's clock: `now` advanced by the time the job has taken
        return start + time.time() - began

    with _lease_renewed(brand_id, campaign_id):
        campaign = campaigns.get(brand_id, campaign_id)
        if campaign.status != "RUNNING":
            logger.info("launch job for a campaign that is not running",
                        extra={"campaign_id": campaign_id, "status": campaign.status})
            return 0
        moved = _fan_out(campaign, brands.get_brand(brand_id), clock)
    logger.info("campaign scheduled", extra={"campaign_id": campaign_id, "messages": moved})
    campaigns.fanout_done(brand_id, campaign_id)  # else the release schedule asks again
    return moved


@contextlib.contextmanager
def _lease_renewed(brand_id: str, campaign_id: str) -> Iterator[None]:
    """While the fan-out runs, its lease (the instant it was last asked for) is renewed a few
    times per grace period, so the release schedule does not ask for it again while it is
    alive: a 100,000-row fan-out outlived the grace locally, and a second launch job ran beside
    the first. When the job dies, so does the renewal, and the fan-out is asked for again."""
    every = get_settings().fanout_grace_seconds / 4
    stop = threading.Event()

    def renew() -> None:
        while True:  # at once (the job may have waited on its queue), then every `every`
            try:
                if not campaigns.fanout_alive(brand_id, campaign_id, time.time()):
                    return  # cancelled meanwhile
            except Exception:  # a missed renewal only risks a second, idempotent job
                logger.exception("fan-out lease not renewed", extra={"campaign_id": campaign_id})
            if stop.wait(every):
                return

    renewer = threading.Thread(target=renew, name="fanout-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()


def _fan_out(campaign: CampaignModel, brand: BrandModel, clock: Callable[[], float]) -> int:
    campaign_id = campaign.campaign_id
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
    rate = dispatch.launch_rate(float(campaign.send_rate), campaign.from_number,
                                get_settings().send_rate_margin_seconds)
    due = scheduler.schedule(zones, window, rate, clock() + LAUNCH_LEAD_SECONDS)
    # Soonest first; None (the window never opens) last.
    plan = sorted(zip((m.phone for m in pending), due, strict=True),
                  key=lambda p: (p[1] is None, p[1] or 0.0))
    instants = [d for _, d in plan if d is not None]
    horizon = get_settings().release_horizon_seconds
    moved, done, reach = 0, 0, LAUNCH_LEAD_SECONDS + FIRST_STAGE_SECONDS
    while done < len(plan):
        at = clock()
        stop = (len(plan) if reach > horizon
                else max(done + 1, bisect.bisect_left(instants, at + reach)))
        moved += messages.schedule_many(campaign_id, plan[done:stop], at, NO_WINDOW,
                                        campaign.skill)
        minutely.release_messages(clock())
        done, reach = stop, reach * 4
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
