"""Analytics maths, no AWS: which figures a message status counts in, quarter-hour buckets, date
ranges in a brand's time zone, roll-up of buckets into days or hours, and rates.

Counters are kept per UTC day and quarter hour (96 a day). Every zone in use today has an offset
that is a multiple of 15 minutes (India +05:30, Nepal +05:45, Chatham +12:45), so a local day or
hour is always a whole number of quarters: rolled up on read, its figures are exact.

A message counts in the figures of its *current* status, at the instant it was sent (its
cohort); a transition moves it from the figures of the old status to those of the new one. So
SENT -> DELIVERED -> RESPONDED is one sent, one delivered, one responded, never more, and the
counters always equal a recount of the messages table.
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
    "opted_out",
)
FIELD_DIGITS = 6
_FIELD = 10 ** FIELD_DIGITS
MESSAGE_METRICS = ("sent", "delivered_gateway", "delivered", "failed", "responded")

_STATUS_METRICS: dict[str, tuple[str, ...]] = {
    "SENT": ("sent", "delivered_gateway"),
    "DELIVERED": ("sent", "delivered_gateway", "delivered"),
    "RESPONDED": ("sent", "delivered_gateway", "delivered", "responded"),
    "UNDELIVERED": ("sent", "delivered_gateway", "failed"),
    "FAILED": ("sent", "failed"),
}

QUICK_RANGES = ("today", "this_week", "this_month", "last_30_days", "last_60_days",
                "last_90_days", "year_to_date")
MAX_RANGE_YEARS = 2


def metrics_for_status(status: str | None) -> tuple[str, ...]:
    """The figures a message in this status counts in (PENDING, SKIPPED...: none)."""
    return _STATUS_METRICS.get(status or "", ())


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
        return "hour" if self.first == self.last else "day"

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
        """Start of every day (or hour, for a one-day range) in the range, local time."""
        tz = zone(self.time_zone)
        if self.granularity == "day":
            return [datetime.combine(self.first + timedelta(days=n), time(), tz)
                    for n in range((self.last - self.first).days + 1)]
        # Hours by real elapsed time: 23 on the day DST starts, 25 on the day it ends.
        start, end = self.start().astimezone(UTC), self.end().astimezone(UTC)
        hours = int((end - start).total_seconds() // 3600)
        return [(start + timedelta(hours=n)).astimezone(tz) for n in range(hours)]

    def to_dict(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(),
                "time_zone": self.time_zone, "granularity": self.granularity}


def today_in(time_zone: str, now: float) -> date:
    return datetime.fromtimestamp(now, zone(time_zone)).date()


def quick_range(name: str, time_zone: str, now: float) -> DateRange:
    today = today_in(time_zone, now)
    first = {
        "today": today,
        "this_week": today - timedelta(days=today.weekday()),  # weeks start on Monday (ISO)
        "this_month": today.replace(day=1),
        "last_30_days": today - timedelta(days=29),
        "last_60_days": today - timedelta(days=59),
        "last_90_days": today - timedelta(days=89),
        "year_to_date": today.replace(month=1, day=1),
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
                  now: float, default: str = "last_30_days") -> DateRange:
    """The range a request asks for: a quick range, or from/to (both), in the brand's zone."""
    if range_name and (first or last):
        raise field_error("range", "give either range or from and to, not both")
    if range_name:
        return quick_range(range_name, time_zone, now)
    if not first and not last:
        return quick_range(default, time_zone, now)
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
    step = 86400.0 if rng.granularity == "day" else 3600.0
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
        series.append({"start": period.isoformat(),
                       **{k: row[k] for k in ("sent", "delivered", "failed", "responded",
                                              "opted_out")}})
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


def rates(totals: Mapping[str, int]) -> dict[str, float | None]:
    return {
        "success_rate": ratio(totals["delivered_gateway"], totals["sent"]),
        "delivery_rate": ratio(totals["delivered"], totals["delivered_gateway"]),
        "response_rate": ratio(totals["responded"], totals["delivered"]),
        "opt_out_rate": ratio(totals["opted_out"], totals["delivered_gateway"]),
    }


def breakdown(totals: Mapping[str, int]) -> dict[str, dict[str, int]]:
    """Delivery status (a partition of sent) and response status (a partition of delivered)."""
    return {
        "delivery_status": {
            # accepted by the gateway, no delivery report (yet)
            "sent": totals["sent"] - totals["delivered"] - totals["failed"],
            "delivered": totals["delivered"],
            "failed": totals["failed"],
        },
        "response_status": {
            "delivered": totals["delivered"],
            "responded": totals["responded"],
            "not_responded": totals["delivered"] - totals["responded"],
        },
    }


def totals_from_status_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Message figures of a campaign from its per-status counters."""
    totals = dict.fromkeys(MESSAGE_METRICS, 0)
    for status, count in counts.items():
        for metric in metrics_for_status(status):
            totals[metric] += int(count)
    return totals
