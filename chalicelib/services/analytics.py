"""Brand and campaign analytics, read from the pre-aggregated counters (never from messages), and
opt-outs counted as they happen.

Every read is a handful of requests whatever the number of messages: the brand's quarter-hour
counters for the range (one Query over its day items, all skills at once), or the campaign's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from chalicelib.domain import analytics
from chalicelib.domain.analytics import DateRange
from chalicelib.domain.errors import field_error
from chalicelib.services.auth import Principal
from chalicelib.store import brands, campaigns, messages, metrics
from chalicelib.store.models import BrandModel, CampaignModel


def record_opt_out(brand_id: str, skill: str | None, campaign_id: str | None, at: float,
                   idempotency_key: str | None = None, phone: str | None = None) -> bool:
    """Count the opt-out of the consumer `phone` who received a message of `campaign_id` (the
    latest within the look-back period): the message is marked, and the messages stream counts
    it in the message's figures (services/metrics.py), exactly once per consumer and message
    however often they opt out and back in. Returns False when nothing was counted: no campaign
    or phone (the consumer received nothing, or the gateway refused the message), or counted
    before. `skill` and `idempotency_key` are kept for callers; the message carries its skill,
    and the mark itself is what makes a retry count once."""
    del skill, idempotency_key
    if not campaign_id or not phone:
        return False
    return messages.mark_opted_out(brand_id, campaign_id, phone, analytics.RECEIVED_STATUSES, at)


def _report(rng: DateRange, days: Iterable[tuple[str, Mapping[str, int]]]) -> dict[str, Any]:
    rolled = analytics.roll_up(days, rng)
    return {"range": rng.to_dict(), "totals": rolled.totals, "rates": analytics.rates(
        rolled.totals), "not_reported": analytics.not_reported(rolled.totals),
        **analytics.breakdown(rolled.totals), "series": rolled.series}


def _onboarded(brand: BrandModel) -> date | None:
    """The brand's onboarding day in its time zone: where "since onboarding" starts."""
    if brand.created_at is None:
        return None
    return analytics.today_in(brand.time_zone, float(brand.created_at))


def brand_analytics(principal: Principal, range_name: str | None = None,
                    first: str | None = None, last: str | None = None,
                    skills: str | None = None, now: float | None = None) -> dict[str, Any]:
    brand = brands.get_brand(principal.brand_id)
    rng = analytics.resolve_range(range_name, first, last, brand.time_zone,
                                  time.time() if now is None else now,
                                  onboarded=_onboarded(brand))
    wanted = analytics.parse_skills(skills)
    if wanted is not None:
        known = {s.skill_id for s in brands.brand_skills(principal.brand_id)}
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise field_error("skills", f"{', '.join(unknown)}: not a skill of this brand")
    low, high = rng.utc_days()
    days = ((day, counters) for day, skill, counters in
            metrics.brand_days(principal.brand_id, low, high)
            if wanted is None or skill in wanted)
    report = _report(rng, days)
    report["skills"] = wanted
    return report


def campaign_range(campaign: CampaignModel, time_zone: str, now: float) -> DateRange:
    """A campaign's whole life by default: from its launch (or creation) to today."""
    today = analytics.today_in(time_zone, now)
    began = campaign.launched_at or campaign.launch_at or campaign.created_at
    return DateRange(min(today, analytics.today_in(time_zone, float(began))), today, time_zone)


def campaign_analytics(principal: Principal, campaign_id: str, range_name: str | None = None,
                       first: str | None = None, last: str | None = None,
                       now: float | None = None) -> dict[str, Any]:
    campaign = campaigns.get(principal.brand_id, campaign_id)
    brand = brands.get_brand(principal.brand_id)
    now = time.time() if now is None else now
    if range_name or first or last:
        rng = analytics.resolve_range(range_name, first, last, brand.time_zone, now,
                                      onboarded=_onboarded(brand))
    else:
        rng = campaign_range(campaign, brand.time_zone, now)
    low, high = rng.utc_days()
    report = _report(rng, metrics.campaign_days(campaign_id, low, high))
    counts = metrics.read_counters(*metrics.campaign_key(campaign_id))
    report["campaign"] = {"id": campaign.campaign_id, "name": campaign.name,
                          "status": campaign.status, "skill": campaign.skill,
                          **campaign_metrics(campaign, counts)}
    return report


def campaign_metrics(campaign: CampaignModel, counts: Mapping[str, int]) -> dict[str, Any]:
    """Headline numbers of a campaign over its whole life, from its status counters."""
    totals = analytics.totals_from_status_counts(counts)
    return {"recipients": int(campaign.recipients_total or 0), **totals,
            **analytics.rates(totals), "not_reported": analytics.not_reported(totals)}


def landing_metrics(campaign: CampaignModel, counts: Mapping[str, int]) -> dict[str, Any]:
    """The `metrics` of a campaign in GET /campaigns (landing page)."""
    full = campaign_metrics(campaign, counts)
    return {k: full[k] for k in ("recipients", "sent", "failed", "success_rate", "response_rate",
                                 "opted_out", "opt_out_rate")}


def summary(principal: Principal, now: float | None = None) -> dict[str, Any]:
    """The brand's headline: last 30 days (brand time zone) and its campaigns by status."""
    report = brand_analytics(principal, "last_30_days", now=now)
    by_status: Counter[str] = Counter(c.status for c in campaigns.iter_brand(principal.brand_id))
    return {
        "range": report["range"],
        "totals": report["totals"],
        "rates": report["rates"],
        "campaigns": {"total": sum(by_status.values()), **dict(sorted(by_status.items()))},
    }
