"""The scheduler keeps every recipient's window (in every zone of the number) and the send rate,
across DST changes and in half-hour zones. Property tests check against the wall clock itself."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import scheduler
from chalicelib.domain.scheduler import Window

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "Europe/London",
         "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Adelaide",
         "Australia/Lord_Howe", "Pacific/Chatham", "Asia/Tehran", "Australia/Sydney"]
# Days on which clocks change somewhere, and an ordinary day.
DAYS = [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC),
        datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 4, 5, tzinfo=UTC), datetime(2026, 9, 27, tzinfo=UTC),
        datetime(2026, 6, 15, tzinfo=UTC)]
QUARTER = 900


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.integers(0, 95))
    end = draw(st.integers(start + 1, 96))
    return Window(_quarter(start), _quarter(end))


def _quarter(q: int) -> time:
    return time.max if q == 96 else time(q // 4, (q % 4) * 15)


zone_sets = st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True)
instants = st.builds(lambda day, seconds: day.timestamp() + seconds,
                     st.sampled_from(DAYS), st.integers(-2 * 86400, 2 * 86400))
rates = st.one_of(st.sampled_from([0.5, 1.0, 3.0, 20.0, 100.0]),
                  st.floats(0.05, 100, allow_nan=False))


def open_somewhere_on_the_grid(zones: list[str], window: Window, start: float,
                               days: int) -> bool:
    """Oracle: zone offsets, DST changes and window edges all sit on the quarter-hour grid, so a
    non-empty overlap contains a grid instant."""
    first = math.ceil(start / QUARTER) * QUARTER
    return any(scheduler.in_window(zones, window, first + k * QUARTER)
               for k in range(days * 96))


@settings(max_examples=60, deadline=None)
@given(st.lists(zone_sets, min_size=1, max_size=40), windows(), rates, instants)
def test_every_due_instant_is_inside_the_window_in_every_zone_and_paced(
        recipients: list[list[str]], window: Window, rate: float, start: float) -> None:
    due = scheduler.schedule(recipients, window, rate, start)
    for zones, instant in zip(recipients, due, strict=True):
        if instant is None:
            # "never" only when the window truly never opens in all zones within the lookahead
            assert not open_somewhere_on_the_grid(zones, window, start, scheduler.LOOKAHEAD_DAYS)
        else:
            assert instant >= start
            assert scheduler.in_window(zones, window, instant), (zones, window,
                                                                scheduler.utc(instant))
    sent = sorted(d for d in due if d is not None)
    # at most ceil(rate * T) due instants in any interval of T seconds, for several T
    for span in (1.0, 1.0 / rate, 2.5, 10.0):
        allowed = math.ceil(rate * span)
        for i in range(len(sent)):
            j = i + allowed
            assert j >= len(sent) or sent[j] - sent[i] >= span, (span, allowed)


@settings(max_examples=80, deadline=None)
@given(zone_sets, windows(), instants)
def test_next_open_is_the_earliest_open_instant(zones: list[str], window: Window,
                                                after: float) -> None:
    opens = scheduler.next_open(zones, window, after)
    if opens is None:
        assert not open_somewhere_on_the_grid(zones, window, after, scheduler.LOOKAHEAD_DAYS)
        return
    assert opens >= after and scheduler.in_window(zones, window, opens)
    if opens > after:
        # the second before it is closed, and so is every grid instant in between
        assert not scheduler.in_window(zones, window, opens - 1)
        first = math.ceil(after / QUARTER) * QUARTER
        assert not any(scheduler.in_window(zones, window, t)
                       for t in range(int(first), int(opens), QUARTER))
    remaining = scheduler.seconds_until_close(zones, window, opens)
    assert remaining > 0
    if remaining == math.inf:  # open all day every day in these zones
        return
    assert scheduler.in_window(zones, window, opens + remaining - 1)
    assert not scheduler.in_window(zones, window, opens + remaining)


def test_window_opens_when_the_clock_jumps_over_its_start_on_the_us_spring_change() -> None:
    # 2026-03-08 New York: 02:00 EST jumps to 03:00 EDT, so 02:30 never happens that day.
    window = Window.parse("02:30", "03:30")
    opens = scheduler.next_open(["America/New_York"], window, utc(2026, 3, 8, 0))
    assert opens == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the first wall-clock instant past 02:30
    assert scheduler.seconds_until_close(["America/New_York"], window, opens) == 1800


def test_window_in_the_repeated_hour_opens_twice_on_the_us_autumn_change() -> None:
    # 2026-11-01 New York: 01:00-02:00 happens twice (EDT, then EST).
    window = Window.parse("01:30", "02:00")
    due = scheduler.schedule([["America/New_York"]] * 3, window, 1 / 1800, utc(2026, 11, 1, 0))
    assert due == [utc(2026, 11, 1, 5, 30),  # 01:30 EDT
                   utc(2026, 11, 1, 6, 30),  # 01:30 EST, the same wall time an hour later
                   utc(2026, 11, 2, 6, 30)]  # no room left that day: the next day's window


def test_23_and_25_hour_days_give_the_window_its_real_length() -> None:
    window = Window.parse("00:00", "23:00")
    for (y, m, d, hour), hours in (((2026, 3, 8, 5), 22), ((2026, 11, 1, 4), 24),
                                   ((2026, 6, 15, 4), 23)):
        start = utc(y, m, d, hour)  # local midnight in New York
        assert scheduler.next_open(["America/New_York"], window, start) == start
        assert scheduler.seconds_until_close(["America/New_York"], window, start) == hours * 3600
    whole_day = Window.parse("00:00", "24:00")
    intervals = scheduler.open_intervals(["Europe/Berlin"], whole_day, utc(2026, 3, 28, 23),
                                         utc(2026, 3, 29, 22))
    assert intervals == [(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))]  # a 23-hour day
    intervals = scheduler.open_intervals(["Europe/Berlin"], Window.parse("08:00", "09:00"),
                                         utc(2026, 10, 24), utc(2026, 10, 27))
    assert intervals == [(utc(2026, 10, 24, 6), utc(2026, 10, 24, 7)),
                         (utc(2026, 10, 25, 7), utc(2026, 10, 25, 8)),
                         (utc(2026, 10, 26, 7), utc(2026, 10, 26, 8))]


def test_eu_and_us_change_days_move_the_window_by_the_new_offset() -> None:
    window = Window.parse("08:00", "21:00")
    # London goes to BST on 2026-03-29: 08:00 is 08:00 UTC on the 28th and 07:00 UTC on the 29th
    assert scheduler.next_open(["Europe/London"], window, utc(2026, 3, 28, 0)) == utc(
        2026, 3, 28, 8)
    assert scheduler.next_open(["Europe/London"], window, utc(2026, 3, 29, 0)) == utc(
        2026, 3, 29, 7)
    # New York back to EST on 2026-11-01: 08:00 is 12:00 UTC the day before, 13:00 UTC that day
    assert scheduler.next_open(["America/New_York"], window, utc(2026, 10, 31, 4)) == utc(
        2026, 10, 31, 12)
    assert scheduler.next_open(["America/New_York"], window, utc(2026, 11, 1, 5)) == utc(
        2026, 11, 1, 13)


def test_half_hour_and_quarter_hour_zones_overlap_exactly() -> None:
    window = Window.parse("08:00", "09:00")
    # Kolkata +05:30: 02:30-03:30 UTC; Kathmandu +05:45: 02:15-03:15 UTC
    assert scheduler.open_intervals(["Asia/Kolkata", "Asia/Kathmandu"], window,
                                    utc(2026, 6, 15), utc(2026, 6, 16)) == [
        (utc(2026, 6, 15, 2, 30), utc(2026, 6, 15, 3, 15))]
    assert scheduler.next_open(["Asia/Kolkata"], Window.parse("08:00", "21:00"),
                               utc(2026, 6, 15, 16)) == utc(2026, 6, 16, 2, 30)


def test_a_number_whose_zones_never_share_the_window_is_not_scheduled() -> None:
    window = Window.parse("09:00", "10:00")
    due = scheduler.schedule([["America/New_York", "Asia/Tokyo"], ["America/New_York"]],
                             window, 1.0, utc(2026, 6, 15))
    assert due[0] is None and due[1] == utc(2026, 6, 15, 13)


def test_windows_opening_together_do_not_burst() -> None:
    # six zones whose 08:00 falls at the same instant (all UTC+1 in winter) open together
    zones = [["Europe/Berlin"], ["Europe/Paris"], ["Europe/Rome"], ["Europe/Madrid"],
             ["Europe/Oslo"], ["Africa/Lagos"]] * 50
    due = scheduler.schedule(zones, Window.parse("08:00", "21:00"), 4.0, utc(2026, 1, 10, 0))
    sent = sorted(d for d in due if d is not None)
    assert len(sent) == 300 and sent[0] == utc(2026, 1, 10, 7)
    assert all(b - a >= 0.25 for a, b in zip(sent, sent[1:], strict=False))


def test_window_closing_first_goes_first_so_more_recipients_go_today() -> None:
    # At 20:00 New York (01:00 UTC) New York closes in an hour, Los Angeles in four.
    zones = [["America/Los_Angeles"]] * 10 + [["America/New_York"]] * 10
    due = scheduler.schedule(zones, Window.parse("08:00", "21:00"), 1 / 600,
                             utc(2026, 6, 16, 0))
    new_york = [d for z, d in zip(zones, due, strict=True) if z == ["America/New_York"]]
    # six slots before New York closes, all of them for New York; Los Angeles goes after
    assert sum(1 for d in new_york if d is not None and d < utc(2026, 6, 16, 1)) == 6
    first_six = sorted((d, z[0]) for z, d in zip(zones, due, strict=True) if d is not None)[:6]
    assert {z for _, z in first_six} == {"America/New_York"}


def test_a_long_campaign_runs_over_several_days_inside_each_window() -> None:
    window = Window.parse("09:00", "10:00")
    due = scheduler.schedule([["Asia/Kolkata"]] * 200, window, 1 / 60, utc(2026, 6, 15))
    days = {scheduler.utc(d).date() for d in due if d is not None}
    assert all(d is not None for d in due) and len(days) == 4
    assert all(scheduler.in_window(["Asia/Kolkata"], window, d) for d in due if d is not None)


# --- a zone missing from the runtime's time zone database (issue 11.8) -----------------------


def test_a_zone_the_runtime_lacks_falls_back_to_every_zone_of_the_country(
        caplog: pytest.LogCaptureFixture) -> None:
    # Ciudad Juarez's number with its zone under a name this runtime's tzdata does not have
    # (as America/Ciudad_Juarez is missing from tzdata older than 2022g)
    window = Window.parse("08:00", "21:00")
    zones = scheduler.safe_zones(("America/Juarez_Not_In_This_Tzdata",), "+526565550123",
                                 "America/New_York")
    assert {"America/Tijuana", "America/Cancun", "America/Mexico_City"} <= set(zones)
    assert all(scheduler.known_zone(z) for z in zones)
    # the whole list is still scheduled, and the number only inside the window everywhere in
    # Mexico (the most restrictive window of its country)
    start = utc(2026, 6, 15, 0, 0)
    due = scheduler.schedule([zones, ("America/New_York",)], window, 1.0, start)
    assert due[0] is not None and due[1] is not None
    assert scheduler.in_window(list(zones), window, due[0])
    for zone in ("America/Tijuana", "America/Cancun"):
        assert scheduler.in_window([zone], window, due[0])
    # and it is said, as a structured warning
    (record,) = [r for r in caplog.records
                 if getattr(r, "unknown_zones", None) == ["America/Juarez_Not_In_This_Tzdata"]]
    assert record.levelname == "WARNING" and getattr(record, "country", None) == "MX"


def test_a_number_whose_country_has_no_known_zone_takes_the_brands_zone() -> None:
    assert scheduler.safe_zones(("Nowhere/Unknown",), "+80012345678", "Europe/Berlin") == (
        "Europe/Berlin",)
    # known zones are kept as they are; no zone at all is the brand's zone, as before
    assert scheduler.safe_zones(("Asia/Tokyo",), "+81312345678", "Europe/Berlin") == (
        "Asia/Tokyo",)
    assert scheduler.safe_zones((), "+81312345678", "Europe/Berlin") == ("Europe/Berlin",)
