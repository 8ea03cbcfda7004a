"""The send scheduler: when each recipient may be sent (sending window, every zone) and pacing.

Pure functions over epoch seconds. A recipient's number may be in several time zones; an instant
is inside its window only when it is inside the window in every one of them.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

LOOKAHEAD_DAYS = 8


@dataclass(frozen=True)
class Window:
    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> Window:
        """HH:MM local times; an end of 24:00 means the end of the day."""
        return cls(time.fromisoformat(start), time.max if end == "24:00" else
                   time.fromisoformat(end))

    def contains_local(self, local: time) -> bool:
        return self.start <= local < self.end


DEFAULT_WINDOW = Window(time(8, 0), time(21, 0))


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def in_window(zones: Sequence[str], window: Window, instant: float) -> bool:
    for name in zones:
        local = datetime.fromtimestamp(instant, _zone(name)).time()
        if not window.contains_local(local):
            return False
    return True


def _window_starts(zone: str, window: Window, after: float) -> list[float]:
    tz = _zone(zone)
    day = datetime.fromtimestamp(after, tz).date()
    starts = []
    for offset in range(-1, LOOKAHEAD_DAYS + 1):
        local = datetime.combine(day + timedelta(days=offset), window.start, tzinfo=tz)
        starts.append(local.timestamp())
    return starts


def next_open(zones: Sequence[str], window: Window, after: float) -> float | None:
    """The earliest instant >= `after` inside the window in every zone, or None within 8 days."""
    if in_window(zones, window, after):
        return after
    candidates = sorted({s for z in zones for s in _window_starts(z, window, after) if s > after})
    for candidate in candidates:
        if in_window(zones, window, candidate):
            return candidate
    return None


def schedule(
    zones_per_recipient: Sequence[Sequence[str]],
    window: Window,
    rate: float,
    start: float,
) -> list[float | None]:
    """Due instant per recipient (None: the window never opens in all its zones).

    Due instants are at least 1/rate apart, so any interval of T seconds holds at most
    ceil(rate * T) of them; each lies inside its recipient's window in every zone.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    interval = 1.0 / rate
    due: list[float | None] = [None] * len(zones_per_recipient)
    open_cache: dict[tuple[str, ...], float | None] = {}
    heap: list[tuple[float, int]] = []
    for index, zones in enumerate(zones_per_recipient):
        key = tuple(zones)
        if key not in open_cache:
            open_cache[key] = next_open(key, window, start)
        opens = open_cache[key]
        if opens is not None:
            heap.append((opens, index))
    heapq.heapify(heap)
    cursor = float("-inf")
    while heap:
        earliest, index = heapq.heappop(heap)
        instant = max(earliest, cursor)
        zones = zones_per_recipient[index]
        if instant != earliest and not in_window(zones, window, instant):
            reopened = next_open(zones, window, instant)
            if reopened is not None:
                heapq.heappush(heap, (reopened, index))
            continue
        due[index] = instant
        cursor = instant + interval
    return due


def seconds_until_close(zones: Sequence[str], window: Window, instant: float) -> float:
    """How long the window stays open from `instant` in every zone (0 when it is closed)."""
    if not in_window(zones, window, instant):
        return 0.0
    remaining = float("inf")
    for name in zones:
        tz = _zone(name)
        local = datetime.fromtimestamp(instant, tz)
        close = datetime.combine(local.date(), window.end, tzinfo=tz).timestamp()
        remaining = min(remaining, close - instant)
    return max(0.0, remaining)
