"""Analytics maths: ranges in the brand's time zone, quarter-hour roll-ups, rates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain import analytics
from chalicelib.domain.csvfile import BOM, CsvWriter, neutralise
from chalicelib.domain.errors import ValidationFailed


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).astimezone(UTC).timestamp()


def test_today_is_the_brands_day_not_utcs_around_midnight() -> None:
    now = ts("2026-03-01T19:00:00+00:00")  # Kolkata 00:30 on 2 March, Los Angeles 11:00 on 1 March
    kolkata = analytics.quick_range("today", "Asia/Kolkata", now)
    los_angeles = analytics.quick_range("today", "America/Los_Angeles", now)
    assert (kolkata.first.isoformat(), kolkata.last.isoformat()) == ("2026-03-02", "2026-03-02")
    assert los_angeles.first.isoformat() == "2026-03-01"
    assert kolkata.start().isoformat() == "2026-03-02T00:00:00+05:30"
    assert kolkata.granularity == "hour" and len(kolkata.periods()) == 24


def test_quick_ranges_start_where_a_user_expects() -> None:
    now = ts("2026-11-25T12:00:00+00:00")  # a Wednesday
    onboarded = datetime(2021, 6, 30).date()  # over two years ago: no cap for this one
    first = {name: analytics.quick_range(name, "UTC", now, onboarded).first.isoformat()
             for name in analytics.QUICK_RANGES}
    assert first == {"today": "2026-11-25", "this_week": "2026-11-23",
                     "this_month": "2026-11-01", "last_30_days": "2026-10-27",
                     "last_60_days": "2026-09-27", "last_90_days": "2026-08-28",
                     "year_to_date": "2026-01-01", "since_onboarding": "2021-06-30"}


@pytest.mark.parametrize(("args", "field"), [
    (("fortnight", None, None), "range"),
    ((None, "2026-03-02", "2026-03-01"), "from"),
    ((None, "2024-01-01", "2026-01-01"), "to"),
    ((None, "2026-02-30", "2026-03-01"), "from"),
    ((None, "2026-03-01", "tomorrow"), "to"),
    ((None, "2026-03-01", None), "to"),
    ((None, None, "2026-03-01"), "from"),
    (("today", "2026-03-01", "2026-03-02"), "range"),
])
def test_invalid_ranges_name_the_parameter(args: tuple[str | None, ...], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        analytics.resolve_range(*args, time_zone="UTC", now=ts("2026-03-05T00:00:00+00:00"))
    assert caught.value.details[0]["field"] == field


def test_a_range_of_just_under_two_years_is_accepted_and_shown_per_month() -> None:
    rng = analytics.resolve_range(None, "2024-01-02", "2026-01-01", "UTC", now=0)
    periods = [p.date().isoformat() for p in rng.periods()]
    assert rng.granularity == "month" and len(periods) == 25
    assert periods[:2] == ["2024-01-02", "2024-02-01"] and periods[-1] == "2026-01-01"


def _counters(*instants: str) -> list[tuple[str, dict[str, int]]]:
    days: dict[str, dict[str, int]] = {}
    for iso in instants:
        day, quarter = analytics.quarter_of(ts(iso))
        name = analytics.counter_name(quarter)
        days.setdefault(day, {})[name] = days.setdefault(day, {}).get(name, 0) + analytics.unit(
            "sent")
    return list(days.items())


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "Australia/Eucla", "Asia/Kolkata",
                                  "Pacific/Chatham", "America/St_Johns"])
def test_day_boundaries_are_exact_in_half_hour_and_45_minute_zones(zone: str) -> None:
    rng = analytics.resolve_range(None, "2026-06-10", "2026-06-11", zone, now=0)
    midnight = datetime.fromisoformat("2026-06-11T00:00:00").replace(
        tzinfo=analytics.zone(zone)).astimezone(UTC)
    before, after = midnight.timestamp() - 60, midnight.timestamp()
    rolled = analytics.roll_up(_counters(datetime.fromtimestamp(before, UTC).isoformat(),
                                         datetime.fromtimestamp(after, UTC).isoformat()), rng)
    assert [row["sent"] for row in rolled.series] == [1, 1]
    assert rolled.totals["sent"] == 2


def test_hourly_series_of_a_dst_day_has_23_hours_and_adds_up() -> None:
    rng = analytics.resolve_range(None, "2026-03-08", "2026-03-08", "America/Los_Angeles", now=0)
    rolled = analytics.roll_up(_counters("2026-03-08T08:10:00+00:00", "2026-03-08T10:05:00+00:00",
                                         "2026-03-09T06:59:00+00:00",
                                         "2026-03-09T07:00:00+00:00"), rng)
    assert len(rolled.series) == 23
    assert sum(int(str(row["sent"])) for row in rolled.series) == rolled.totals["sent"] == 3
    assert rolled.series[0]["start"] == "2026-03-08T00:00:00-08:00"
    assert rolled.series[2]["start"] == "2026-03-08T03:00:00-07:00"


def test_packed_quarter_figures_round_trip_and_add_like_separate_counters() -> None:
    a = {"sent": 999_999, "delivered_gateway": 3, "delivered": 0, "failed": 12,
         "responded": 1, "opted_out": 999_999}
    b = {"sent": 1, "delivered_gateway": 0, "delivered": 7, "failed": 0, "responded": 0,
         "opted_out": 0}
    assert analytics.unpack(analytics.pack(a)) == a
    assert len(str(analytics.pack(a))) <= 38  # DynamoDB's number precision
    moved = analytics.pack(b) - analytics.pack({"sent": 1})  # a transition: out of one, into one
    assert analytics.unpack(analytics.pack(a) + moved)["delivered"] == 7


def test_rates_are_null_when_nothing_to_divide_by() -> None:
    zero = dict.fromkeys(analytics.METRICS, 0)
    assert analytics.rates(zero) == {"success_rate": None, "delivery_rate": None,
                                     "response_rate": None, "opt_out_rate": None}
    some = {**zero, "sent": 4, "delivered_gateway": 3, "delivered": 2, "failed": 1,
            "responded": 1}
    assert analytics.rates(some) == {"success_rate": 0.75, "delivery_rate": 0.6667,
                                     "response_rate": 0.3333, "opt_out_rate": 0.0}
    # answered but no delivery report at all: delivery to the consumer is unknown, not 33%
    unreported = {**zero, "sent": 3, "delivered_gateway": 3, "delivered": 1, "responded": 1}
    assert analytics.rates(unreported)["delivery_rate"] is None
    assert analytics.not_reported(unreported) == ["delivered", "delivery_rate"]


@pytest.mark.parametrize(("cell", "shown"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1+cmd|' /C calc'!A0",
                                                                 "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tTAB", "'\tTAB"), ("\rCR", "'\rCR"),
    ("+12125550100", "+12125550100"), ("-5", "-5"), ("Zoë's café", "Zoë's café"), (None, ""),
])
def test_csv_cells_that_could_run_as_formulas_are_neutralised(cell: str | None,
                                                              shown: str) -> None:
    assert neutralise(cell) == shown


def test_csv_starts_with_a_byte_order_mark() -> None:
    writer = CsvWriter(["name"])
    writer.write(["Zoë"])
    body = writer.getvalue()
    assert body.startswith(BOM.encode("utf-8")) and body.decode("utf-8-sig") == "name\r\nZoë\r\n"
