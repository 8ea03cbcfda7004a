"""Stream -> counters: every analytics figure equals a recount of known messages, and stays
exact when Lambda delivers records again or splits a batch (docs/design.md#invariant-6)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import analytics
from chalicelib.services import analytics as analytics_service
from chalicelib.services import recount
from chalicelib.services.auth import Principal
from chalicelib.store import metrics
from tests import awscalls
from tests.conftest import Api, Brand
from tests.service.analytics.conftest import (
    FIGURES,
    Planned,
    Stream,
    at,
    deliver,
    new_campaign,
    play,
    set_time_zone,
)

KOLKATA = "Asia/Kolkata"
FINALS = ["SENT", "DELIVERED", "RESPONDED", "UNDELIVERED", "FAILED", "SKIPPED", "SCHEDULED",
          "RESPONDED", "DELIVERED"]


def _plan(brand: Brand) -> list[Planned]:
    """27 messages in two skills over three Kolkata days, several right around local midnight
    (18:30 UTC), with every outcome."""
    sales = new_campaign(brand.brand_id, "cmp_sales", "sales", created_at=at("2026-03-01T00:00"))
    support = new_campaign(brand.brand_id, "cmp_support", "support",
                           created_at=at("2026-03-01T00:00"))
    instants = ["2026-03-01T18:29:59", "2026-03-01T18:30:00", "2026-03-02T03:00:00",
                "2026-03-02T18:20:00", "2026-03-02T18:45:00", "2026-03-03T09:15:00",
                "2026-03-03T18:29:00", "2026-03-01T12:00:00", "2026-03-02T23:59:00"]
    plan = []
    for n in range(27):
        campaign, skill = (sales, "sales") if n % 3 else (support, "support")
        plan.append(Planned(campaign, brand.brand_id, skill, f"+1212555{n + 200:04d}",
                            FINALS[n % len(FINALS)], at(instants[(n * 4) % len(instants)])))
    return plan


def _recount(plan: list[Planned], days: set[str], skills: set[str] | None = None
             ) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for m in plan:
        if m.local_day(KOLKATA) in days and (skills is None or m.skill in skills):
            totals.update(FIGURES[m.final])
    return {k: totals[k] for k in ("sent", "delivered_gateway", "delivered", "failed",
                                   "responded")}


def _figures(body: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in body["totals"].items() if k != "opted_out"}


def test_every_figure_equals_a_recount_of_known_messages(api: Api, brand: Brand,
                                                         stream: Stream) -> None:
    set_time_zone(brand.brand_id, KOLKATA)
    plan = _plan(brand)
    for m in plan:
        play(m)
    deliver(stream.read_new())

    status, body = api.call("GET", "/analytics?from=2026-03-01&to=2026-03-04", brand)
    assert status == 200, body
    assert _figures(body) == _recount(plan, {"2026-03-01", "2026-03-02", "2026-03-03",
                                             "2026-03-04"})
    assert body["range"] == {"from": "2026-03-01", "to": "2026-03-04", "time_zone": KOLKATA,
                             "granularity": "day", "name": None}
    # series add up to the totals, day by Kolkata day
    for figure in ("sent", "delivered", "failed", "responded"):
        assert sum(row[figure] for row in body["series"]) == body["totals"][figure]
    for row in body["series"]:
        day = row["start"][:10]
        assert row["sent"] == _recount(plan, {day})["sent"], day
    assert body["series"][0]["start"] == "2026-03-01T00:00:00+05:30"
    # delivery status: sent = delivered to the gateway + failed; response status partitions
    # the messages delivered to the gateway
    t, ds = body["totals"], body["delivery_status"]
    assert ds["sent"] == t["sent"] == ds["delivered_gateway"] + ds["failed"]
    assert body["response_status"]["responded"] + body["response_status"][
        "not_responded"] == t["delivered_gateway"]
    assert body["rates"]["success_rate"] == round(t["delivered_gateway"] / t["sent"], 4)
    assert body["rates"]["response_rate"] == round(t["responded"] / t["delivered_gateway"], 4)

    # one skill, one day (hourly series)
    status, one = api.call("GET", "/analytics?from=2026-03-02&to=2026-03-02&skills=sales", brand)
    assert status == 200, one
    assert _figures(one) == _recount(plan, {"2026-03-02"}, {"sales"})
    assert one["range"]["granularity"] == "hour" and len(one["series"]) == 24
    assert sum(row["sent"] for row in one["series"]) == one["totals"]["sent"]

    # the campaign's own analytics and the landing page's numbers agree with a recount
    status, campaign = api.call("GET", "/campaigns/cmp_support/analytics?from=2026-03-01"
                                "&to=2026-03-04", brand)
    assert status == 200, campaign
    support_only = [m for m in plan if m.skill == "support"]
    assert _figures(campaign) == _recount(support_only, {"2026-03-01", "2026-03-02",
                                                         "2026-03-03", "2026-03-04"})
    assert campaign["campaign"]["sent"] == campaign["totals"]["sent"]
    # and nothing differs from a full recount of the table
    assert recount.reconcile_all().differences == []


def test_replayed_and_split_batches_count_each_record_once(brand: Brand, stream: Stream) -> None:
    plan = _plan(brand)
    for m in plan:
        play(m)
    records = stream.read_new()
    half = len(records) // 2
    # Lambda: a batch fails after a partial success, is bisected and retried, then redelivered.
    deliver(records[:half])
    deliver(records[half // 2:])
    deliver(records[half:])
    deliver(records)
    once = {key: counters for key, counters in metrics.iter_all()}
    deliver(records + records[:3])  # a record twice in one batch, too
    assert {key: counters for key, counters in metrics.iter_all()} == once
    assert recount.reconcile_all().differences == []
    sales = metrics.read_counters(*metrics.campaign_key("cmp_sales"))
    finals = Counter(m.final for m in plan if m.campaign_id == "cmp_sales")
    assert {k: v for k, v in sales.items() if v} == dict(finals)


def test_sent_then_delivered_then_responded_is_one_of_each(api: Api, brand: Brand,
                                                           stream: Stream) -> None:
    new_campaign(brand.brand_id, "cmp_one", "sales", created_at=at("2026-03-01T00:00"))
    play(Planned("cmp_one", brand.brand_id, "sales", "+12125550299", "RESPONDED",
                 at("2026-03-02T15:00:00")))
    deliver(stream.read_new())
    status, body = api.call("GET", "/analytics?from=2026-03-02&to=2026-03-02", brand)
    assert body["totals"] == {"sent": 1, "delivered_gateway": 1, "delivered": 1, "failed": 0,
                              "responded": 1, "opted_out": 0}
    assert body["rates"]["response_rate"] == 1.0


def test_quick_ranges_follow_each_brands_time_zone(brand: Brand, other_brand: Brand,
                                                   stream: Stream) -> None:
    set_time_zone(brand.brand_id, KOLKATA)
    set_time_zone(other_brand.brand_id, "America/Los_Angeles")
    for b in (brand, other_brand):
        cid = new_campaign(b.brand_id, f"cmp_{b.brand_id}", "sales",
                           created_at=at("2026-03-01T00:00"))
        # Kolkata: 23:50 on 1 March and 00:20 on 2 March; Los Angeles: both on 1 March
        play(Planned(cid, b.brand_id, "sales", "+12125550301", "SENT", at("2026-03-01T18:20")))
        play(Planned(cid, b.brand_id, "sales", "+12125550302", "DELIVERED",
                     at("2026-03-01T18:50")))
    deliver(stream.read_new())
    now = at("2026-03-01T19:00")  # 00:30 on 2 March in Kolkata, 11:00 on 1 March in LA

    def today(b: Brand) -> dict[str, Any]:
        return analytics_service.brand_analytics(Principal(b.brand_id, "admin", "k", ""),
                                                 "today", now=now)

    kolkata, los_angeles = today(brand), today(other_brand)
    assert kolkata["range"]["from"] == "2026-03-02" and kolkata["totals"]["sent"] == 1
    assert los_angeles["range"]["from"] == "2026-03-01" and los_angeles["totals"]["sent"] == 2
    hour = next(r for r in kolkata["series"] if r["sent"])
    assert hour["start"] == "2026-03-02T00:00:00+05:30"
    hour = [r["start"] for r in los_angeles["series"] if r["sent"]]
    assert hour == ["2026-03-01T10:00:00-08:00"]
    yesterday = analytics_service.brand_analytics(
        Principal(brand.brand_id, "admin", "k", ""), None, "2026-03-01", "2026-03-01", now=now)
    assert yesterday["totals"]["sent"] == 1


def test_opt_outs_count_once_per_consumer_in_the_received_messages_figures(
        api: Api, brand: Brand, stream: Stream) -> None:
    cid = new_campaign(brand.brand_id, "cmp_stop", "sales", created_at=at("2026-03-01T00:00"))
    play(Planned(cid, brand.brand_id, "sales", "+12125550401", "DELIVERED",
                 at("2026-03-02T15:00")))
    play(Planned(cid, brand.brand_id, "sales", "+12125550402", "FAILED", at("2026-03-02T15:00")))
    stop = at("2026-03-03T16:00")  # the next day: counted with the message (its cohort)
    phone = "+12125550401"
    assert analytics_service.record_opt_out(brand.brand_id, "sales", cid, stop, "SM1", phone)
    assert not analytics_service.record_opt_out(brand.brand_id, "sales", cid, stop + 60, "SM2",
                                                phone)  # opted out again after opting in
    # never received: the gateway refused it; no campaign: nothing received
    assert not analytics_service.record_opt_out(brand.brand_id, "sales", cid, stop,
                                                phone="+12125550402")
    assert not analytics_service.record_opt_out(brand.brand_id, None, None, stop, phone=phone)
    records = stream.read_new()
    deliver(records)
    deliver(records[len(records) // 2:])  # redelivered: nothing counts twice
    status, body = api.call("GET", "/analytics?from=2026-03-02&to=2026-03-02", brand)
    assert body["totals"]["opted_out"] == 1 and body["rates"]["opt_out_rate"] == 1.0
    status, later = api.call("GET", "/analytics?from=2026-03-03&to=2026-03-03", brand)
    assert later["totals"]["opted_out"] == 0
    status, other = api.call("GET", "/analytics?from=2026-03-02&to=2026-03-02&skills=support",
                             brand)
    assert other["totals"]["opted_out"] == 0
    status, campaign = api.call("GET", f"/campaigns/{cid}/analytics?from=2026-03-02"
                                "&to=2026-03-02", brand)
    assert campaign["totals"]["opted_out"] == 1 and campaign["campaign"]["opted_out"] == 1
    status, listed = api.call("GET", "/campaigns", brand)
    item = next(i for i in listed["items"] if i["id"] == cid)
    assert item["metrics"] == {"recipients": 0, "sent": 2, "failed": 1, "success_rate": 0.5,
                               "response_rate": 0.0, "opted_out": 1, "opt_out_rate": 1.0}
    assert recount.reconcile_all().differences == []  # opt-outs are recounted too


def test_reconciliation_reports_a_counter_that_drifted(brand: Brand, stream: Stream) -> None:
    cid = new_campaign(brand.brand_id, "cmp_drift", "support",
                       created_at=datetime.now(UTC).timestamp())
    sent = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12, minute=0, second=0).timestamp()
    play(Planned(cid, brand.brand_id, "support", "+12125550501", "DELIVERED", sent))
    deliver(stream.read_new())
    assert recount.reconcile_recent().differences == []
    day = datetime.fromtimestamp(sent, ZoneInfo("UTC")).date().isoformat()
    metrics.apply_once("tampered", {metrics.brand_day_key(brand.brand_id, day, "support"):
                                    {"q48": analytics.unit("sent")},
                                    metrics.campaign_key(cid): {"SENT": 1}})
    found = {(d.sk, d.counter, d.expected, d.actual)
             for d in recount.reconcile_recent().differences}
    assert found == {(f"day#{day}#skill#support", "q48.sent", 1, 2), ("status", "SENT", 0, 1)}
    assert len(recount.reconcile_all().differences) == 2
    with awscalls.acting_as("recount_counters"):  # what the daily function does, as it
        result = recount.scheduled_check(settle_seconds=0)
        assert result["differences"] == 2  # the same drift in both recounts
        assert recount.scheduled_check() == {"skipped": True}  # once a day, however often


def test_make_recount_exits_1_and_names_the_counter_that_differs(
        aws: dict[str, str], brand: Brand, stream: Stream,
        capsys: pytest.CaptureFixture[str]) -> None:
    from ops import recount as command

    cid = new_campaign(brand.brand_id, "cmp_cli", "sales", created_at=at("2026-03-01T00:00"))
    play(Planned(cid, brand.brand_id, "sales", "+12125550601", "SENT", at("2026-03-02T10:00")))
    deliver(stream.read_new())
    assert command.main(["--endpoint", aws["AWS_ENDPOINT_URL"]]) == 0
    metrics.apply_once("drift", {metrics.campaign_key(cid): {"FAILED": 1}})
    assert command.main(["--endpoint", aws["AWS_ENDPOINT_URL"]]) == 1
    out = capsys.readouterr().out
    assert "differences: 1" in out and "campaign#cmp_cli status FAILED: counted 1, recount 0" in out
