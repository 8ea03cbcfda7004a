"""Analytics maths, no AWS: which figures a message status counts in, quarter-hour buckets, date
ranges in a brand's time zone, roll-up of buckets into days or hours, and rates.

Counters are kept per UTC day and quarter hour (96 a day). Every zone in use today has an offset
that is a multiple of 15 minutes (India +05:30, Nepal +05:45, Chatham +12:45), so a local day or
hour is always a whole number of quarters: rolled up on read, its figures are exact.

A message counts in the figures of its *current* status, at the instant it was sent (its
cohort); a transition moves it from the figures of the old status to those of the new one. So
SENT -> DELIVERED -> RESPONDED is one sent, one delivered, one responded, never more, and the
counters always equal a recount of the messages table. An opt-out is a mark on the message the
consumer received last (opted_out_at), so it too counts once per consumer and message, in the
message's cohort: opt-outs / received is a share of the same consumers (PRODUCT definitions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain.errors import field_error

QUARTER_SECONDS = 900
QUARTERS_PER_DAY = 96

# The figures. A quarter hour's six figures are packed into ONE number attribute ("q37": quarter
# 37 of the UTC day), FIELD_DIGITS decimal digits each, in this order: an increment of one figure
# adds 10**(FIELD_DIGITS * position), which DynamoDB's atomic ADD does exactly (38 significant
# digits). Six times fewer attributes than one per figure keeps day items small and reads cheap.
# Bound: at most 999,999 of one figure per quarter hour per item (brand x skill, or campaign).
METRICS: tuple[str, ...] = (
    "sent",  # handed to the gateway: accepted or rejected
    "delivered_gateway",  # accepted by the gateway
    "delivered",  # delivered to the consumer (status callback), or answered
    "failed",  # rejected by the gateway, or undeliverable
    "responded",
    "opted_out",  # the consumer opted out after receiving this message (accepted by the gateway)
)
FIELD_DIGITS = 6
_FIELD = 10 ** FIELD_DIGITS
MESSAGE_METRICS = METRICS  # every figure is one of a message's, so a recount checks them all

_STATUS_METRICS: dict[str, tuple[str, ...]] = {
    "SENT": ("sent", "delivered_gateway"),
    "DELIVERED": ("sent", "delivered_gateway", "delivered"),
    "RESPONDED": ("sent", "delivered_gateway", "delivered", "responded"),
    "UNDELIVERED": ("sent", "delivered_gateway", "failed"),
    "FAILED": ("sent", "failed"),
}
# A message in one of these was received: accepted by the gateway (the opt-out denominator).
RECEIVED_STATUSES = tuple(s for s, f in _STATUS_METRICS.items() if "delivered_gateway" in f)

QUICK_RANGES = ("today", "this_week", "this_month", "last_30_days", "last_60_days",
                "last_90_days", "year_to_date", "since_onboarding")
MAX_RANGE_YEARS = 2  # for from/to; "since onboarding" is the brand's whole history, uncapped
# Up to about three months (92 days: any quarter, "last 90 days") the messages chart is per day;
# beyond, per month (PRODUCT "Messages sent").
MAX_DAILY_DAYS = 92


def metrics_for_status(status: str | None) -> tuple[str, ...]:
    """The figures a message in this status counts in (PENDING, SKIPPED...: none)."""
    return _STATUS_METRICS.get(status or "", ())


def metrics_for_message(status: str | None, opted_out: bool) -> tuple[str, ...]:
    """The figures of a message: its status's, and opted_out when its consumer opted out after
    receiving it (a message the gateway refused was never received: no opt-out counts)."""
    figures = metrics_for_status(status)
    if opted_out and "delivered_gateway" in figures:
        return (*figures, "opted_out")
    return figures


def quarter_of(epoch: float) -> tuple[str, int]:
    """(UTC day 'YYYY-MM-DD', quarter 0..95) of an instant."""
    moment = datetime.fromtimestamp(float(epoch), UTC)
    return moment.date().isoformat(), (moment.hour * 60 + moment.minute) // 15


def counter_name(quarter: int) -> str:
    """The attribute holding a quarter hour's packed figures."""
    return f"q{quarter}"


def unit(metric: str) -> int:
    """What one more of `metric` adds to a packed quarter value."""
    return int(_FIELD ** METRICS.index(metric))


def pack(figures: Mapping[str, int]) -> int:
    return sum(int(count) * unit(metric) for metric, count in figures.items())


def unpack(value: int) -> dict[str, int]:
    figures = {}
    for metric in METRICS:
        value, figures[metric] = divmod(int(value), _FIELD)
    return figures


def parse_counter_name(name: str) -> int | None:
    """37 from 'q37'; None for any other attribute."""
    if len(name) < 2 or name[0] != "q" or not name[1:].isdigit():
        return None
    quarter = int(name[1:])
    return quarter if quarter < QUARTERS_PER_DAY else None


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class DateRange:
    """Local calendar days [first, last] of a time zone."""

    first: date
    last: date
    time_zone: str
    name: str | None = None

    @property
    def granularity(self) -> str:
        if self.first == self.last:
            return "hour"
        return "day" if (self.last - self.first).days < MAX_DAILY_DAYS else "month"

    def start(self) -> datetime:
        return datetime.combine(self.first, time(), zone(self.time_zone))

    def end(self) -> datetime:
        """The instant the range ends (exclusive): midnight after its last day."""
        return datetime.combine(self.last + timedelta(days=1), time(), zone(self.time_zone))

    def utc_days(self) -> tuple[str, str]:
        """The first and last UTC day whose quarters may fall in the range."""
        start = self.start().astimezone(UTC).date()
        end = (self.end().astimezone(UTC) - timedelta(seconds=1)).date()
        return start.isoformat(), end.isoformat()

    def periods(self) -> list[datetime]:
        """Start of every day (hour, for a one-day range; month, beyond three months) in the
        range, local time; a month that the range starts within starts where the range does."""
        tz = zone(self.time_zone)
        if self.granularity == "month":
            firsts = [self.first]
            month = self.first.replace(day=1)
            while True:
                month = (month + timedelta(days=32)).replace(day=1)
                if month > self.last:
                    break
                firsts.append(month)
            return [datetime.combine(day, time(), tz) for day in firsts]
        if self.granularity == "day":
            return [datetime.combine(self.first + timedelta(days=n), time(), tz)
                    for n in range((self.last - self.first).days + 1)]
        # Hours by real elapsed time: 23 on the day DST starts, 25 on the day it ends.
        start, end = self.start().astimezone(UTC), self.end().astimezone(UTC)
        hours = int((end - start).total_seconds() // 3600)
        return [(start + timedelta(hours=n)).astimezone(tz) for n in range(hours)]

    def to_dict(self) -> dict[str, str | None]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(),
                "time_zone": self.time_zone, "granularity": self.granularity,
                "name": self.name}


def today_in(time_zone: str, now: float) -> date:
    return datetime.fromtimestamp(now, zone(time_zone)).date()


def quick_range(name: str, time_zone: str, now: float,
                onboarded: date | None = None) -> DateRange:
    """A named range ending today; "since_onboarding" starts on the brand's onboarding day
    (`onboarded`, local), however long ago."""
    today = today_in(time_zone, now)
    first = {
        "today": today,
        "this_week": today - timedelta(days=today.weekday()),  # weeks start on Monday (ISO)
        "this_month": today.replace(day=1),
        "last_30_days": today - timedelta(days=29),
        "last_60_days": today - timedelta(days=59),
        "last_90_days": today - timedelta(days=89),
        "year_to_date": today.replace(month=1, day=1),
        "since_onboarding": min(today, onboarded or today),
    }.get(name)
    if first is None:
        raise field_error("range", f"'{name}' is not a range; use one of "
                          + ", ".join(QUICK_RANGES) + " or from=YYYY-MM-DD&to=YYYY-MM-DD")
    return DateRange(first, today, time_zone, name)


def _parse_date(field: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise field_error(field, f"'{raw}' is not a date; use YYYY-MM-DD") from None


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def resolve_range(range_name: str | None, first: str | None, last: str | None, time_zone: str,
                  now: float, default: str = "last_30_days",
                  onboarded: date | None = None) -> DateRange:
    """The range a request asks for: a quick range, or from/to (both), in the brand's zone."""
    if range_name and (first or last):
        raise field_error("range", "give either range or from and to, not both")
    if range_name:
        return quick_range(range_name, time_zone, now, onboarded)
    if not first and not last:
        return quick_range(default, time_zone, now, onboarded)
    if not first:
        raise field_error("from", "is required with to (YYYY-MM-DD)")
    if not last:
        raise field_error("to", "is required with from (YYYY-MM-DD)")
    start, end = _parse_date("from", first), _parse_date("to", last)
    if start > end:
        raise field_error("from", f"{start.isoformat()} is after to ({end.isoformat()})")
    if end >= add_years(start, MAX_RANGE_YEARS):
        raise field_error("to", f"the range from {start.isoformat()} to {end.isoformat()} is "
                          f"longer than {MAX_RANGE_YEARS} years")
    return DateRange(start, end, time_zone)


def parse_skills(raw: str | None) -> list[str] | None:
    """'a, b' -> ['a', 'b']; None or blank: all skills."""
    if raw is None or not raw.strip():
        return None
    skills = [s.strip() for s in raw.split(",")]
    if any(not s for s in skills):
        raise field_error("skills", "is a comma-separated list of skill ids with no empty entry")
    return sorted(set(skills))


@dataclass
class Rollup:
    totals: dict[str, int]
    series: list[dict[str, object]]


def roll_up(days: Iterable[tuple[str, Mapping[str, int]]], rng: DateRange) -> Rollup:
    """Sum quarter counters of UTC days ({'s37': 4, ...}) into totals and per-period series."""
    periods = rng.periods()
    starts = [p.timestamp() for p in periods]
    end = rng.end().timestamp()
    figures = tuple(METRICS)
    rows = [dict.fromkeys(figures, 0) for _ in periods]
    totals = dict.fromkeys(figures, 0)
    lo = starts[0]
    step = {"hour": 3600.0, "day": 86400.0}.get(rng.granularity, 30 * 86400.0)
    for day, counters in days:
        midnight = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()
        for name, value in counters.items():
            quarter = parse_counter_name(name)
            if quarter is None or not value:
                continue
            instant = midnight + quarter * QUARTER_SECONDS
            if not lo <= instant < end:
                continue
            index = _period_index(starts, instant, lo, step)
            for metric, count in unpack(value).items():
                rows[index][metric] += count
                totals[metric] += count
    series: list[dict[str, object]] = []
    for period, row in zip(periods, rows, strict=True):
        series.append({"start": period.isoformat(), **row})
    return Rollup(totals, series)


def _period_index(starts: list[float], instant: float, lo: float, step: float) -> int:
    # Periods are of equal length except around DST changes: guess, then correct.
    index = min(len(starts) - 1, max(0, int((instant - lo) // step)))
    while index + 1 < len(starts) and starts[index + 1] <= instant:
        index += 1
    while index > 0 and starts[index] > instant:
        index -= 1
    return index


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator rounded to 4 places; None when nothing to divide by."""
    if not denominator:
        return None
    return round(numerator / denominator, 4)


def _undelivered(totals: Mapping[str, int]) -> int:
    """Accepted by the gateway, then reported undelivered (failed minus refused by the gateway)."""
    return totals["failed"] - (totals["sent"] - totals["delivered_gateway"])


def not_reported(totals: Mapping[str, int]) -> list[str]:
    """The figures that are unknown rather than zero: delivery to the consumer when messages
    were accepted by the gateway but no delivery report came for any of them (no status
    callbacks for the number). An answered message counts as delivered without a report, so
    only a DELIVERED or UNDELIVERED message shows that reports come."""
    reports = (totals["delivered"] - totals["responded"]) + _undelivered(totals)
    if totals["delivered_gateway"] and not reports:
        return ["delivered", "delivery_rate"]
    return []


def rates(totals: Mapping[str, int]) -> dict[str, float | None]:
    """The product's definitions (PRODUCT.md): success = accepted by the gateway / sent;
    response = with a response / accepted by the gateway; opt-out = consumers who opted out
    after receiving a message / consumers who received one (accepted by the gateway; a campaign
    sends one message per consumer). Delivery to the consumer is an extra; None when unknown."""
    unknown = not_reported(totals)
    return {
        "success_rate": ratio(totals["delivered_gateway"], totals["sent"]),
        "response_rate": ratio(totals["responded"], totals["delivered_gateway"]),
        "opt_out_rate": ratio(totals["opted_out"], totals["delivered_gateway"]),
        "delivery_rate": None if "delivery_rate" in unknown
        else ratio(totals["delivered"], totals["delivered_gateway"]),
    }


def breakdown(totals: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """The charts' figures. Delivery status: total sent, delivered to the gateway, failed
    (refused by the gateway), so sent = delivered_gateway + failed. Response status: delivered
    to the gateway = responded + not_responded. Consumer delivery (the extra): what became of
    the messages delivered to the gateway at the consumer's end."""
    gateway = totals["delivered_gateway"]
    undelivered = _undelivered(totals)
    return {
        "delivery_status": {"sent": totals["sent"], "delivered_gateway": gateway,
                            "failed": totals["sent"] - gateway},
        "response_status": {"delivered_gateway": gateway, "responded": totals["responded"],
                            "not_responded": gateway - totals["responded"]},
        "consumer_delivery": {"delivered_gateway": gateway, "delivered": totals["delivered"],
                              "undelivered": undelivered,
                              "no_report": gateway - totals["delivered"] - undelivered},
    }


def totals_from_status_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Message figures of a campaign from its per-status counters (and its opt-outs)."""
    totals = dict.fromkeys(MESSAGE_METRICS, 0)
    for status, count in counts.items():
        for metric in metrics_for_status(status):
            totals[metric] += int(count)
    totals["opted_out"] = int(counts.get("opted_out", 0))
    return totals
