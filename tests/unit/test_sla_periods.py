"""Calendar periods of SLAs (budget/periods.py): boundaries in IANA zones, across DST.

Expected instants are worked out by hand from the zone rules (EU: last Sunday of March 01:00 UTC
forward, last Sunday of October 01:00 UTC back; Cuba: back at 00:00 standard time on the first
Sunday of November; Chile and Paraguay: forward at local midnight).
"""

from __future__ import annotations

import datetime
import itertools
import zoneinfo

import hypothesis
import pytest
from hypothesis import strategies

from slo_operator.api import slo
from slo_operator.budget import intervals, periods

UTC = datetime.UTC
WEEK, MONTH, QUARTER, YEAR = (
    slo.CalendarPeriod.WEEK,
    slo.CalendarPeriod.MONTH,
    slo.CalendarPeriod.QUARTER,
    slo.CalendarPeriod.YEAR,
)


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


# period, zone, a moment inside, expected start and end (UTC), expected length in hours
BOUNDS = [
    # A Berlin month with the spring-forward change is one hour short, with the fall-back one
    # hour long; both start at local midnight, 23:00 or 22:00 UTC the day before.
    (MONTH, "Europe/Berlin", "2026-03-15T12:00Z", "2026-02-28T23:00Z", "2026-03-31T22:00Z", 743),
    (MONTH, "Europe/Berlin", "2026-10-15T12:00Z", "2026-09-30T22:00Z", "2026-10-31T23:00Z", 745),
    (MONTH, "Europe/Berlin", "2026-11-27T10:00Z", "2026-10-31T23:00Z", "2026-11-30T23:00Z", 720),
    (MONTH, "UTC", "2026-02-10T00:00Z", "2026-02-01T00:00Z", "2026-03-01T00:00Z", 672),
    (MONTH, "UTC", "2028-02-29T23:59:59Z", "2028-02-01T00:00Z", "2028-03-01T00:00Z", 696),
    (MONTH, "Asia/Kolkata", "2026-03-01T00:00Z", "2026-02-28T18:30Z", "2026-03-31T18:30Z", 744),
    (MONTH, "Asia/Kathmandu", "2026-06-02T00:00Z", "2026-05-31T18:15Z", "2026-06-30T18:15Z", 720),
    # Local dates differ from UTC dates near the boundary: 23:30 UTC on 31 March is April in
    # Berlin, 20:00 UTC on 1 March is still February in Santiago (UTC-3 in summer).
    (MONTH, "Europe/Berlin", "2026-03-31T22:30Z", "2026-03-31T22:00Z", "2026-04-30T22:00Z", 720),
    (MONTH, "America/Santiago", "2026-03-01T02:59Z", "2026-02-01T03:00Z", "2026-03-01T03:00Z", 672),
    # Chile springs forward at local midnight on 6 September 2026: September is an hour short.
    (MONTH, "America/Santiago", "2026-09-15T00:00Z", "2026-09-01T04:00Z", "2026-10-01T03:00Z", 719),
    # Paraguay sprang forward at midnight on Sunday 1 October 2023: 00:00 did not exist, the
    # month starts at the jump (01:00 -03 = 04:00 UTC).
    (MONTH, "America/Asuncion", "2023-10-15T00:00Z", "2023-10-01T04:00Z", "2023-11-01T03:00Z", 743),
    # Cuba repeats 00:00-00:59 on Sunday 1 November 2026: November starts at the first
    # midnight (-04), so the repeated hour belongs to November (721 h), not October.
    (MONTH, "America/Havana", "2026-11-15T00:00Z", "2026-11-01T04:00Z", "2026-12-01T05:00Z", 721),
    (MONTH, "America/Havana", "2026-10-15T00:00Z", "2026-10-01T04:00Z", "2026-11-01T04:00Z", 744),
    # ISO weeks start on Monday; the week of the spring-forward Sunday (29 March) is 167 h.
    (WEEK, "Europe/Berlin", "2026-03-29T12:00Z", "2026-03-22T23:00Z", "2026-03-29T22:00Z", 167),
    (WEEK, "Europe/Berlin", "2026-10-25T12:00Z", "2026-10-18T22:00Z", "2026-10-25T23:00Z", 169),
    (WEEK, "UTC", "2026-01-01T00:00Z", "2025-12-29T00:00Z", "2026-01-05T00:00Z", 168),
    (WEEK, "UTC", "2026-11-29T23:59:59Z", "2026-11-23T00:00Z", "2026-11-30T00:00Z", 168),
    # Samoa skipped Friday 30 December 2011 (UTC-10 to UTC+14): that week had six days.
    (WEEK, "Pacific/Apia", "2011-12-31T12:00Z", "2011-12-26T10:00Z", "2012-01-01T10:00Z", 144),
    (QUARTER, "UTC", "2026-02-14T00:00Z", "2026-01-01T00:00Z", "2026-04-01T00:00Z", 2160),
    (QUARTER, "Europe/Berlin", "2026-05-01T00:00Z", "2026-03-31T22:00Z", "2026-06-30T22:00Z", 2184),
    (QUARTER, "Europe/Berlin", "2026-12-31T22:59Z", "2026-09-30T22:00Z", "2026-12-31T23:00Z", 2209),
    (QUARTER, "Europe/Berlin", "2026-03-31T21:59Z", "2025-12-31T23:00Z", "2026-03-31T22:00Z", 2159),
    (YEAR, "Europe/Berlin", "2026-07-01T00:00Z", "2025-12-31T23:00Z", "2026-12-31T23:00Z", 8760),
    (YEAR, "UTC", "2028-07-01T00:00Z", "2028-01-01T00:00Z", "2029-01-01T00:00Z", 8784),
    (
        YEAR,
        "Pacific/Kiritimati",
        "2026-01-01T00:00Z",
        "2025-12-31T10:00Z",
        "2026-12-31T10:00Z",
        8760,
    ),
]


@pytest.mark.parametrize(("period", "zone", "at", "start", "end", "hours"), BOUNDS)
def test_period_bounds(
    period: slo.CalendarPeriod, zone: str, at: str, start: str, end: str, hours: int
) -> None:
    bounds = periods.period_bounds(period, zone, utc(at))
    assert bounds == (utc(start), utc(end))
    assert bounds.start.tzinfo is UTC
    assert bounds.end.tzinfo is UTC
    assert bounds.seconds == hours * 3600


def test_period_bounds_unpacks_as_start_and_end() -> None:
    start, end = periods.period_bounds(MONTH, "UTC", utc("2026-11-27T10:00Z"))
    assert (start, end) == (utc("2026-11-01T00:00Z"), utc("2026-12-01T00:00Z"))


@pytest.mark.parametrize(
    ("at", "start"),
    [
        # The first instant of a period belongs to it, the last microsecond to the one before.
        ("2026-03-22T23:00:00Z", "2026-03-22T23:00Z"),
        ("2026-03-22T22:59:59.999999Z", "2026-03-15T23:00Z"),
    ],
)
def test_boundary_instants(at: str, start: str) -> None:
    assert periods.period_bounds(WEEK, "Europe/Berlin", utc(at)).start == utc(start)


def test_any_offset_of_the_same_instant_gives_the_same_period() -> None:
    # April in the +05:00 offset it is written in, but 20:30 UTC and 22:30 CEST on 31 March:
    # only the SLA's zone counts.
    plus_five = datetime.timezone(datetime.timedelta(hours=5))
    instant = datetime.datetime(2026, 4, 1, 1, 30, tzinfo=plus_five)
    assert periods.period_bounds(MONTH, "UTC", instant).start == utc("2026-03-01T00:00Z")
    assert periods.period_bounds(MONTH, "Europe/Berlin", instant).start == utc("2026-02-28T23:00Z")
    assert periods.period_bounds(MONTH, "Asia/Karachi", instant).start == utc("2026-03-31T19:00Z")


def test_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        periods.period_bounds(MONTH, "UTC", datetime.datetime(2026, 1, 1))


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        periods.period_bounds(MONTH, "Mars/Olympus", utc("2026-01-01T00:00Z"))


@pytest.mark.parametrize(
    ("zone", "day", "start"),
    [
        ("Europe/Berlin", datetime.date(2026, 3, 29), "2026-03-28T23:00Z"),
        ("Europe/Berlin", datetime.date(2026, 10, 25), "2026-10-24T22:00Z"),
        # Midnight skipped: the day starts when the clocks jump, 01:00 local.
        ("America/Santiago", datetime.date(2026, 9, 6), "2026-09-06T04:00Z"),
        ("America/Havana", datetime.date(2026, 3, 8), "2026-03-08T05:00Z"),
        # Midnight repeated: the first one.
        ("America/Havana", datetime.date(2026, 11, 1), "2026-11-01T04:00Z"),
        # A day that did not exist starts with the next one.
        ("Pacific/Apia", datetime.date(2011, 12, 30), "2011-12-30T10:00Z"),
    ],
)
def test_local_day_start(zone: str, day: datetime.date, start: str) -> None:
    assert periods.local_day_start(day, zoneinfo.ZoneInfo(zone)) == utc(start)


def test_next_and_previous() -> None:
    march = periods.period_bounds(MONTH, "Europe/Berlin", utc("2026-03-15T00:00Z"))
    assert periods.next_period(MONTH, "Europe/Berlin", march) == (
        utc("2026-03-31T22:00Z"),
        utc("2026-04-30T22:00Z"),
    )
    assert periods.previous_period(MONTH, "Europe/Berlin", march) == (
        utc("2026-01-31T23:00Z"),
        utc("2026-02-28T23:00Z"),
    )
    year = periods.period_bounds(YEAR, "UTC", utc("2026-06-01T00:00Z"))
    assert periods.previous_period(YEAR, "UTC", year).start == utc("2025-01-01T00:00Z")


# --- periods closed between two instants -------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "zone", "since", "until", "limit", "expected_starts"),
    [
        # Down from 20 Oct to 5 Jan: October, November and December ended meanwhile.
        (
            MONTH,
            "UTC",
            "2026-10-20T00:00Z",
            "2027-01-05T00:00Z",
            None,
            ["2026-10-01T00:00Z", "2026-11-01T00:00Z", "2026-12-01T00:00Z"],
        ),
        # Same outage, history keeps 2: only the newest two are worth measuring.
        (
            MONTH,
            "UTC",
            "2026-10-20T00:00Z",
            "2027-01-05T00:00Z",
            2,
            ["2026-11-01T00:00Z", "2026-12-01T00:00Z"],
        ),
        # A period ending exactly at `until` is closed; one ending exactly at `since` is not
        # closed again.
        (MONTH, "UTC", "2026-11-01T00:00Z", "2026-12-01T00:00Z", None, ["2026-11-01T00:00Z"]),
        # Nothing ended in between.
        (MONTH, "UTC", "2026-11-02T00:00Z", "2026-11-30T23:59Z", None, []),
        (MONTH, "UTC", "2026-11-02T00:00Z", "2026-11-02T00:00Z", None, []),
        # In Berlin, November ends at 23:00 UTC on 30 November.
        (
            MONTH,
            "Europe/Berlin",
            "2026-11-15T00:00Z",
            "2026-11-30T23:00Z",
            None,
            ["2026-10-31T23:00Z"],
        ),
        (MONTH, "Europe/Berlin", "2026-11-15T00:00Z", "2026-11-30T22:59Z", None, []),
        (
            WEEK,
            "UTC",
            "2026-12-30T00:00Z",
            "2027-01-12T00:00Z",
            None,
            ["2026-12-28T00:00Z", "2027-01-04T00:00Z"],
        ),
        (
            QUARTER,
            "UTC",
            "2026-02-01T00:00Z",
            "2026-10-01T00:00Z",
            None,
            ["2026-01-01T00:00Z", "2026-04-01T00:00Z", "2026-07-01T00:00Z"],
        ),
    ],
)
def test_periods_closed_between(
    period: slo.CalendarPeriod,
    zone: str,
    since: str,
    until: str,
    limit: int | None,
    expected_starts: list[str],
) -> None:
    closed = periods.periods_closed_between(period, zone, utc(since), utc(until), limit=limit)
    assert [p.start for p in closed] == [utc(s) for s in expected_starts]


# --- properties --------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "America/Asuncion",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Pacific/Chatham",
    "Africa/Casablanca",
]
FIRST_DAY = {
    WEEK: lambda day: day.weekday() == 0,
    MONTH: lambda day: day.day == 1,
    QUARTER: lambda day: day.day == 1 and day.month in (1, 4, 7, 10),
    YEAR: lambda day: (day.month, day.day) == (1, 1),
}
NOMINAL_DAYS = {WEEK: (7, 7), MONTH: (28, 31), QUARTER: (90, 92), YEAR: (365, 366)}

moments = strategies.datetimes(
    min_value=datetime.datetime(1990, 1, 1),
    max_value=datetime.datetime(2060, 1, 1),
    timezones=strategies.just(UTC),
)
MICROSECOND = datetime.timedelta(microseconds=1)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(
    period=strategies.sampled_from(list(slo.CalendarPeriod)),
    zone=strategies.sampled_from(ZONES),
    at=moments,
)
def test_the_period_holds_the_moment_and_starts_a_local_first_day(
    period: slo.CalendarPeriod, zone: str, at: datetime.datetime
) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    bounds = periods.period_bounds(period, zone, at)
    assert bounds.contains(at)
    # The start is the first instant of its local day, and that day opens a period.
    first_local = bounds.start.astimezone(tz)
    assert (bounds.start - MICROSECOND).astimezone(tz).date() < first_local.date()
    assert FIRST_DAY[period](first_local.date())
    # The last instant is still in the period's last local day; the end opens the next one.
    assert FIRST_DAY[period](bounds.end.astimezone(tz).date())
    assert (bounds.end - MICROSECOND).astimezone(tz).date() < bounds.end.astimezone(tz).date()


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    period=strategies.sampled_from(list(slo.CalendarPeriod)),
    zone=strategies.sampled_from(ZONES),
    at=moments,
    count=strategies.integers(min_value=1, max_value=30),
)
def test_periods_tile_time_without_gaps_or_overlaps(
    period: slo.CalendarPeriod, zone: str, at: datetime.datetime, count: int
) -> None:
    current = periods.period_bounds(period, zone, at)
    shortest, longest = NOMINAL_DAYS[period]
    for _ in range(count):
        following = periods.next_period(period, zone, current)
        assert following.start == current.end
        assert periods.previous_period(period, zone, following) == current
        # Every instant of the period, its first and its last, maps back to it.
        assert periods.period_bounds(period, zone, current.start) == current
        assert periods.period_bounds(period, zone, current.end - MICROSECOND) == current
        # Clock changes move a boundary by at most a few hours; Apia lost a whole day.
        hours = current.seconds / 3600
        assert (shortest - 1) * 24 - 3 <= hours <= longest * 24 + 3
        current = following


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    period=strategies.sampled_from(list(slo.CalendarPeriod)),
    zone=strategies.sampled_from(ZONES),
    since=moments,
    span=strategies.timedeltas(
        min_value=datetime.timedelta(0), max_value=datetime.timedelta(days=800)
    ),
)
def test_closed_periods_are_consecutive_and_ended_in_between(
    period: slo.CalendarPeriod, zone: str, since: datetime.datetime, span: datetime.timedelta
) -> None:
    until = since + span
    closed = periods.periods_closed_between(period, zone, since, until)
    for earlier, later in itertools.pairwise(closed):
        assert earlier.end == later.start
    for interval in closed:
        assert since < interval.end <= until
    # The first one missed is the one open at `since`; the next one is still open at `until`.
    if closed:
        assert closed[0].contains(since)
        assert periods.previous_period(period, zone, closed[0]).end <= since
        assert periods.next_period(period, zone, closed[-1]).end > until
    else:
        assert periods.period_bounds(period, zone, since).end > until
    assert periods.periods_closed_between(period, zone, since, until, limit=1) == closed[-1:]


def test_interval_of_a_period_is_the_shared_interval_type() -> None:
    bounds = periods.period_bounds(WEEK, "UTC", utc("2026-01-01T00:00Z"))
    assert isinstance(bounds, intervals.Interval)
