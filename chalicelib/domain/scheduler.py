"""The send scheduler: when each recipient may be sent (sending window, every zone) and pacing.

Pure functions over epoch seconds. A recipient's number may be in several time zones; an instant
is inside its window only when the *wall clock* reads inside the window in every one of them.

Exactness across DST: a zone's open intervals are computed from its UTC-offset pieces (found by
probing the zone, then bisecting each change to the second), so a window edge in a skipped or a
repeated hour, a 23- or 25-hour day and half-hour zones all come out exactly as the wall clock
says. Speed: recipients are grouped by their zone tuple; each group's open intervals are computed
once, and due instants are handed out to whole runs of a group at a time (no zoneinfo call per
recipient): 100,000 recipients take well under half a second (bench/scheduler.py).
"""

from __future__ import annotations

import heapq
import math
import os
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers.tzdata import TIMEZONE_DATA

from chalicelib.domain import phones
from chalicelib.logs import logger

DAY = 86400
LOOKAHEAD_DAYS = 8  # a window that does not open within this many days counts as "never"
EXTEND_DAYS = 8  # how many more days of intervals a group gets when a long campaign needs them
MAX_DAYS = 400  # beyond this a recipient is left unscheduled (None) rather than looping
PROBE_SECONDS = 1800  # offset changes are found by probing every half hour, then bisecting
# Due instants are spaced a hair more than 1/rate apart, so float rounding at epoch magnitudes
# (~2e-7 s) can never put two of them closer than 1/rate.
SPACING_EPSILON = 1e-6

Interval = tuple[float, float]


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """HH:MM local times; an end of 24:00 means the end of the day."""
        return cls(time.fromisoformat(start), time.max if end == "24:00" else
                   time.fromisoformat(end))

    @property
    def start_seconds(self) -> float:
        return _seconds_of_day(self.start)

    @property
    def end_seconds(self) -> float:
        return float(DAY) if self.end == time.max else _seconds_of_day(self.end)

    def contains_local(self, local: time) -> bool:
        return self.start_seconds <= _seconds_of_day(local) < self.end_seconds


def _seconds_of_day(value: time) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


DEFAULT_WINDOW = Window(time(8, 0), time(21, 0))


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# --- zones the runtime does not know --------------------------------------------------------


def known_zone(name: str) -> bool:
    """The runtime's time zone database has `name` (phonenumbers' data can be newer)."""
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def safe_zones(zones: Sequence[str], phone: str, fallback_zone: str) -> tuple[str, ...]:
    """The zones to schedule and check `phone` in: its own, when the runtime knows them all.

    A zone missing from the runtime's database (its tzdata is older than the number data) must
    not fail a whole launch, nor send outside the window: the number is then held to the window
    in every zone of its country that the runtime knows (the most restrictive: the intersection),
    plus its own known zones; the brand's zone when none is known. Logged once per zone set.
    A number with no zone at all takes the brand's zone, as before.
    """
    if not zones:
        return (fallback_zone,)
    key = tuple(zones)
    if all(known_zone(z) for z in key):
        return key
    return _fallback_zones(key, *_country(phone), fallback_zone)


@lru_cache(maxsize=1024)
def _fallback_zones(zones: tuple[str, ...], region: str, country_code: int,
                    fallback_zone: str) -> tuple[str, ...]:
    country = [z for z in _country_zones(region, country_code) if known_zone(z)]
    chosen = tuple(dict.fromkeys([z for z in zones if known_zone(z)] + country)) or (
        fallback_zone,)
    logger.warning("time zone missing from the runtime's database; the number is held to the "
                   "window in every zone of its country",
                   extra={"unknown_zones": [z for z in zones if not known_zone(z)],
                          "country": region, "zones_used": list(chosen)})
    return chosen


def _country(phone: str) -> tuple[str, int]:
    """(ISO region, calling code) of `phone` ("", 0 when it cannot be read)."""
    parsed = phones.normalize(phone)
    if not isinstance(parsed, phones.Phone):
        return "", 0
    try:
        code = int(phonenumbers.parse(parsed.e164, None).country_code or 0)
    except phonenumbers.NumberParseException:
        code = 0
    return parsed.country, code


def _country_zones(region: str, country_code: int) -> tuple[str, ...]:
    """Every zone of the country: the runtime's own zone.tab when it has one (a region, e.g. US
    without Guam), else every zone phonenumbers lists for the calling code."""
    by_region = _zone_tab()
    if region and region in by_region:
        return by_region[region]
    return tuple(TIMEZONE_DATA.get(str(country_code), ())) if country_code else ()


@lru_cache(maxsize=1)
def _zone_tab() -> dict[str, tuple[str, ...]]:
    """ISO region -> zones, from zone.tab of the runtime's time zone database."""
    table: dict[str, list[str]] = {}
    for folder in zoneinfo.TZPATH:
        try:
            with open(os.path.join(folder, "zone.tab"), encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            fields = line.split("\t")
            if len(fields) >= 3 and not line.startswith("#"):
                table.setdefault(fields[0], []).append(fields[2])
        break
    return {region: tuple(names) for region, names in table.items()}


def _offset(tz: ZoneInfo, instant: float) -> int:
    offset = datetime.fromtimestamp(instant, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def in_window(zones: Sequence[str], window: Window, instant: float) -> bool:
    """The wall clock reads inside the window in every zone (the definition; checked directly)."""
    for name in zones:
        local = datetime.fromtimestamp(instant, _zone(name)).time()
        if not window.contains_local(local):
            return False
    return True


# --- open intervals ------------------------------------------------------------------------


def _offset_pieces(zone: str, t0: float, t1: float) -> list[tuple[float, float, int]]:
    """[(from, to, utc offset seconds)] covering [t0, t1), split where the offset changes."""
    tz = _zone(zone)
    pieces: list[tuple[float, float, int]] = []
    piece_start, offset = t0, _offset(tz, t0)
    probe = t0
    while probe < t1:
        nxt = min(probe + PROBE_SECONDS, t1)
        nxt_offset = _offset(tz, nxt) if nxt < t1 else offset
        if nxt_offset != offset:
            lo, hi = probe, nxt  # offset(lo) == offset, offset(hi) != offset
            while hi - lo > 1:
                mid = math.floor((lo + hi) / 2)
                if _offset(tz, mid) == offset:
                    lo = mid
                else:
                    hi = mid
            pieces.append((piece_start, hi, offset))
            piece_start, offset = hi, _offset(tz, hi)
        probe = nxt
    pieces.append((piece_start, t1, offset))
    return pieces


@lru_cache(maxsize=4096)
def zone_intervals(zone: str, window: Window, t0: float, t1: float) -> tuple[Interval, ...]:
    """The instants in [t0, t1) when the wall clock of `zone` reads inside `window`."""
    start, end = window.start_seconds, window.end_seconds
    out: list[Interval] = []
    for p0, p1, offset in _offset_pieces(zone, t0, t1):
        first_day = math.floor((p0 + offset) / DAY)
        last_day = math.floor((p1 + offset) / DAY)
        for day in range(first_day, last_day + 1):
            a = max(p0, day * DAY + start - offset)
            b = min(p1, day * DAY + end - offset)
            if a < b:
                if out and out[-1][1] >= a:
                    out[-1] = (out[-1][0], max(out[-1][1], b))
                else:
                    out.append((a, b))
    return tuple(out)


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def open_intervals(zones: Sequence[str], window: Window, t0: float, t1: float) -> list[Interval]:
    """The instants in [t0, t1) inside the window in every zone, as sorted disjoint intervals."""
    result: list[Interval] | None = None
    for name in dict.fromkeys(zones):
        intervals = list(zone_intervals(name, window, t0, t1))
        result = intervals if result is None else _intersect(result, intervals)
        if not result:
            return []
    return result or []


def _day_floor(instant: float) -> float:
    return float(math.floor(instant / DAY) * DAY)


def next_open(zones: Sequence[str], window: Window, after: float) -> float | None:
    """The earliest instant >= `after` inside the window in every zone, or None within 8 days."""
    t0 = _day_floor(after)
    for a, b in open_intervals(tuple(zones), window, t0, t0 + (LOOKAHEAD_DAYS + 1) * DAY):
        if b > after:
            return max(a, after)
    return None


def seconds_until_close(zones: Sequence[str], window: Window, instant: float) -> float:
    """How long the window stays open from `instant` in every zone (0 when it is closed; inf
    when it never closes, e.g. 00:00-24:00 in one zone)."""
    t0 = _day_floor(instant)
    t1 = t0 + (LOOKAHEAD_DAYS + 1) * DAY
    for a, b in open_intervals(tuple(zones), window, t0, t1):
        if a <= instant < b:
            return math.inf if b >= t1 else b - instant
    return 0.0


# --- pacing --------------------------------------------------------------------------------


class _Group:
    """Recipients sharing one zone tuple: their open intervals, extended lazily."""

    def __init__(self, zones: tuple[str, ...], window: Window, start: float,
                 indices: list[int]) -> None:
        self.zones, self.window = zones, window
        self.indices = indices
        self.next = 0  # position in indices of the next recipient to schedule
        self.covered_from = _day_floor(start)
        self.covered_to = self.covered_from + (LOOKAHEAD_DAYS + 1) * DAY
        self.limit = self.covered_from + MAX_DAYS * DAY
        self.intervals = [iv for iv in open_intervals(zones, window, self.covered_from,
                                                      self.covered_to) if iv[1] > start]
        self.pos = 0

    def interval_at_or_after(self, instant: float) -> Interval | None:
        """The open interval containing `instant` or the next one after it (None: never)."""
        while True:
            while self.pos < len(self.intervals) and self.intervals[self.pos][1] <= instant:
                self.pos += 1
            if self.pos < len(self.intervals):
                return self.intervals[self.pos]
            if self.covered_to >= self.limit:
                return None
            t0, self.covered_to = self.covered_to, min(self.limit,
                                                       self.covered_to + EXTEND_DAYS * DAY)
            more = open_intervals(self.zones, self.window, t0, self.covered_to)
            if more and self.intervals and more[0][0] <= self.intervals[-1][1]:
                self.intervals[-1] = (self.intervals[-1][0], more[0][1])
                more = more[1:]
            self.intervals.extend(more)


def schedule(
    zones_per_recipient: Sequence[Sequence[str]],
    window: Window,
    rate: float,
    start: float,
) -> list[float | None]:
    """Due instant per recipient (None: the window never opens in all its zones).

    Due instants are more than 1/rate apart, so any interval of T seconds holds at most
    ceil(rate * T) of them, however many windows open at the same moment; each lies inside its
    recipient's window in every zone. Among recipients whose window is open, the group whose
    window closes first goes first (earliest deadline first), so as many as possible go today;
    within a group, in list order.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    interval = 1.0 / rate + SPACING_EPSILON
    due: list[float | None] = [None] * len(zones_per_recipient)
    by_zones: dict[tuple[str, ...], list[int]] = {}
    for index, zones in enumerate(zones_per_recipient):
        by_zones.setdefault(tuple(zones), []).append(index)
    groups = [_Group(zones, window, start, indices) for zones, indices in by_zones.items()]

    waiting: list[tuple[float, int]] = []  # (opens at, group)
    for gid, group in enumerate(groups):
        first = group.interval_at_or_after(start)
        if first is not None and first[0] < start + LOOKAHEAD_DAYS * DAY:
            waiting.append((max(first[0], start), gid))
    heapq.heapify(waiting)
    ready: list[tuple[float, int]] = []  # (its open interval closes at, group)
    base, step = start, 0  # the next free instant is base + step * interval

    while waiting or ready:
        cursor = base + step * interval
        if not ready and waiting[0][0] > cursor:
            base, step = waiting[0][0], 0
            cursor = base
        while waiting and waiting[0][0] <= cursor:
            _, gid = heapq.heappop(waiting)
            current = groups[gid].interval_at_or_after(cursor)
            if current is None:
                continue
            if current[0] > cursor:
                heapq.heappush(waiting, (current[0], gid))
            else:
                heapq.heappush(ready, (current[1], gid))
        if not ready:
            continue
        closes, gid = heapq.heappop(ready)
        group = groups[gid]
        if closes <= cursor:  # its interval ended while others were sent: wait for the next
            following = group.interval_at_or_after(cursor)
            if following is not None:
                heapq.heappush(waiting if following[0] > cursor else ready,
                               (following[0] if following[0] > cursor else following[1], gid))
            continue
        stop = min(closes, waiting[0][0]) if waiting else closes
        slots = max(1, math.ceil((stop - cursor) / interval))
        count = min(slots, len(group.indices) - group.next)
        while count > 1 and base + (step + count - 1) * interval >= closes:
            count -= 1
        for offset, index in enumerate(group.indices[group.next:group.next + count]):
            due[index] = base + (step + offset) * interval
        group.next += count
        step += count
        if group.next < len(group.indices):
            heapq.heappush(ready, (closes, gid))
    return due


def utc(instant: float) -> datetime:
    return datetime.fromtimestamp(instant, UTC)
