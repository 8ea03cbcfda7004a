"""The product's definitions (PRODUCT.md "Analytics and reports"), with figures computed by hand:
success = accepted by the gateway / sent; response = with a response / accepted by the gateway;
opt-outs = consumers who opted out after receiving a message / consumers who received one;
delivery to the consumer is an extra, and "not reported" when no delivery report came."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.services import recount
from chalicelib.store.models import BrandModel
from tests.conftest import Api, Brand
from tests.service.analytics.conftest import Planned, Stream, deliver, new_campaign, play
from tests.service.inbound.conftest import Twilio

NEW_YORK = ZoneInfo("America/New_York")
# 10 sent: 2 refused by the gateway, 8 accepted; of those 6 delivered (2 answered), 1 undelivered
# and 1 with no delivery report.
FINALS = ["FAILED", "FAILED", "UNDELIVERED", "SENT", "DELIVERED", "DELIVERED", "DELIVERED",
          "DELIVERED", "RESPONDED", "RESPONDED"]


@pytest.fixture
def twilio(api: Api) -> Twilio:
    return Twilio(api)


def _phone(n: int) -> str:
    return f"+1212555{n + 800:04d}"


def _days_around(instant: float) -> str:
    day = datetime.fromtimestamp(instant, NEW_YORK).date()
    first, last = day - timedelta(days=1), day + timedelta(days=1)
    return f"from={first.isoformat()}&to={last.isoformat()}"


def test_rates_follow_the_products_definitions_with_hand_computed_figures(
        api: Api, brand: Brand, stream: Stream, twilio: Twilio) -> None:
    sent_at = time.time() - 2 * 3600
    cid = new_campaign(brand.brand_id, "cmp_defs", "sales", created_at=sent_at - 3600)
    for n, final in enumerate(FINALS):
        play(Planned(cid, brand.brand_id, "sales", _phone(n), final, sent_at))
    # The consumer of a delivered message opts out, back in, and out again: one consumer.
    for word in ("STOP", "START", "STOP"):
        assert twilio.reply(_phone(4), brand.sms_number, word)[0] == 200
    # Neither a consumer the gateway refused the message to, nor one who never got a message,
    # opted out "after receiving a message".
    assert twilio.reply(_phone(0), brand.sms_number, "STOP")[0] == 200
    assert twilio.reply("+12125550899", brand.sms_number, "STOP")[0] == 200
    records = stream.read_new()
    deliver(records)
    deliver(records)  # Lambda delivers a batch again: nothing counts twice

    expected_totals = {"sent": 10, "delivered_gateway": 8, "delivered": 6, "failed": 3,
                       "responded": 2, "opted_out": 1}
    status, body = api.call("GET", f"/analytics?{_days_around(sent_at)}", brand)
    assert status == 200, body
    assert body["totals"] == expected_totals
    assert body["rates"] == {"success_rate": 0.8, "response_rate": 0.25, "opt_out_rate": 0.125,
                             "delivery_rate": 0.75}
    assert body["not_reported"] == []
    # Delivery status: total sent, delivered to the gateway, failed (refused by the gateway)
    assert body["delivery_status"] == {"sent": 10, "delivered_gateway": 8, "failed": 2}
    # Response status: of the 8 delivered to the gateway, 2 with and 6 without a response
    assert body["response_status"] == {"delivered_gateway": 8, "responded": 2,
                                       "not_responded": 6}
    # The extra: what became of the 8 at the consumer's end
    assert body["consumer_delivery"] == {"delivered_gateway": 8, "delivered": 6,
                                         "undelivered": 1, "no_report": 1}
    assert sum(row["sent"] for row in body["series"]) == 10
    assert sum(row["delivered_gateway"] for row in body["series"]) == 8

    status, campaign = api.call("GET", f"/campaigns/{cid}/analytics", brand)
    assert status == 200, campaign
    assert campaign["totals"] == expected_totals and campaign["rates"] == body["rates"]
    assert campaign["campaign"]["opt_out_rate"] == 0.125
    assert campaign["campaign"]["response_rate"] == 0.25

    status, listed = api.call("GET", "/campaigns", brand)
    item = next(i for i in listed["items"] if i["id"] == cid)
    assert item["metrics"] == {"recipients": 0, "sent": 10, "failed": 3, "success_rate": 0.8,
                               "response_rate": 0.25, "opted_out": 1, "opt_out_rate": 0.125}
    # Opt-outs are now a figure of the messages, so the recount checks them too.
    assert recount.reconcile_all().differences == []


def test_delivery_to_the_consumer_is_not_reported_rather_than_zero_without_reports(
        api: Api, brand: Brand, stream: Stream) -> None:
    sent_at = time.time() - 3600
    cid = new_campaign(brand.brand_id, "cmp_noreports", "sales", created_at=sent_at - 3600)
    for n in range(4):  # accepted by the gateway; no delivery report ever came
        play(Planned(cid, brand.brand_id, "sales", _phone(n), "SENT", sent_at))
    deliver(stream.read_new())
    status, body = api.call("GET", f"/analytics?{_days_around(sent_at)}", brand)
    assert status == 200, body
    assert body["rates"]["success_rate"] == 1.0 and body["rates"]["response_rate"] == 0.0
    assert body["rates"]["delivery_rate"] is None
    assert body["not_reported"] == ["delivered", "delivery_rate"]
    status, campaign = api.call("GET", f"/campaigns/{cid}/analytics", brand)
    assert campaign["rates"]["delivery_rate"] is None
    assert campaign["not_reported"] == ["delivered", "delivery_rate"]


def test_since_onboarding_covers_the_brands_whole_history_beyond_two_years(
        api: Api, brand: Brand, stream: Stream) -> None:
    now = time.time()
    onboarded = now - 3 * 366 * 86400
    BrandModel(brand.brand_id).update(actions=[BrandModel.created_at.set(onboarded)])
    cid = new_campaign(brand.brand_id, "cmp_old", "sales", created_at=onboarded)
    play(Planned(cid, brand.brand_id, "sales", _phone(1), "DELIVERED", onboarded + 86400))
    play(Planned(cid, brand.brand_id, "sales", _phone(2), "SENT", now - 3600))
    deliver(stream.read_new())

    status, body = api.call("GET", "/analytics?range=since_onboarding", brand)
    assert status == 200, body
    assert body["range"]["name"] == "since_onboarding"
    assert body["range"]["from"] == datetime.fromtimestamp(onboarded, NEW_YORK).date().isoformat()
    assert body["range"]["to"] == datetime.fromtimestamp(now, NEW_YORK).date().isoformat()
    assert body["totals"]["sent"] == 2
    # over three months the messages chart is per month
    assert body["range"]["granularity"] == "month"
    assert 36 <= len(body["series"]) <= 38
    assert sum(r["sent"] for r in body["series"]) == 2
    status, campaign = api.call("GET", f"/campaigns/{cid}/analytics?range=since_onboarding",
                                brand)
    assert status == 200 and campaign["totals"]["sent"] == 2, campaign


def _granularity(api: Api, brand: Brand, query: str) -> Any:
    status, body = api.call("GET", f"/analytics?{query}", brand)
    assert status == 200, body
    return body["range"]["granularity"], len(body["series"])


def test_messages_chart_is_per_hour_per_day_up_to_three_months_then_per_month(
        api: Api, brand: Brand) -> None:
    assert _granularity(api, brand, "from=2026-03-01&to=2026-03-01") == ("hour", 24)
    assert _granularity(api, brand, "range=last_90_days") == ("day", 90)
    assert _granularity(api, brand, "from=2026-01-01&to=2026-03-31") == ("day", 90)
    assert _granularity(api, brand, "from=2026-01-15&to=2026-06-30") == ("month", 6)
