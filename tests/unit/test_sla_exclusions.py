"""Maintenance windows (budget/exclusions.py) and the interval arithmetic under them.

Every expected window is worked out by hand: Europe/Berlin is UTC+1 (CET) until 01:00 UTC on
29 March 2026, when 02:00 CET becomes 03:00 CEST (UTC+2), and back at 01:00 UTC on 25 October
2026, when 03:00 CEST becomes 02:00 CET, so 02:00-02:59 happens twice.
"""

from __future__ import annotations

import datetime
import itertools

import hypothesis
import pytest
from hypothesis import strategies

from slo_operator.api import sla
from slo_operator.budget import exclusions, intervals

UTC = datetime.UTC
Interval = intervals.Interval


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


def span(start: str, end: str) -> Interval:
    return Interval(utc(start), utc(end))


def recurring(schedule: str, duration: str, name: str = "maintenance") -> sla.Exclusion:
    return sla.Exclusion(name=name, schedule=schedule, duration=duration)


def fixed(start: str, end: str, name: str = "freeze") -> sla.Exclusion:
    return sla.Exclusion.model_validate({"name": name, "start": start, "end": end})


BERLIN_MARCH_2026 = span("2026-02-28T23:00Z", "2026-03-31T22:00Z")

CASES = [
    pytest.param(
        [recurring("0 2 * * SUN", "2h")],
        "Europe/Berlin",
        BERLIN_MARCH_2026,
        # Sundays 1, 8, 15, 22 March at 02:00 CET; on 29 March 02:00 does not exist and the
        # window starts at the first minute after the gap, 03:00 CEST: 01:00 UTC every time.
        [
            ("2026-03-01T01:00Z", "2026-03-01T03:00Z"),
            ("2026-03-08T01:00Z", "2026-03-08T03:00Z"),
            ("2026-03-15T01:00Z", "2026-03-15T03:00Z"),
            ("2026-03-22T01:00Z", "2026-03-22T03:00Z"),
            ("2026-03-29T01:00Z", "2026-03-29T03:00Z"),
        ],
        id="weekly-berlin-march",
    ),
    pytest.param(
        [recurring("30 2 * * *", "2h")],
        "Europe/Berlin",
        span("2026-03-28T00:00Z", "2026-03-31T00:00Z"),
        # 02:30 CET; skipped on the 29th, so 03:00 CEST; then 02:30 CEST.
        [
            ("2026-03-28T01:30Z", "2026-03-28T03:30Z"),
            ("2026-03-29T01:00Z", "2026-03-29T03:00Z"),
            ("2026-03-30T00:30Z", "2026-03-30T02:30Z"),
        ],
        id="nonexistent-time-shifted-to-end-of-gap",
    ),
    pytest.param(
        [recurring("30 2 * * *", "1h")],
        "Europe/Berlin",
        span("2026-10-24T00:00Z", "2026-10-27T00:00Z"),
        # 02:30 happens twice on the 25th (00:30 and 01:30 UTC): the window starts once, at
        # the first.
        [
            ("2026-10-24T00:30Z", "2026-10-24T01:30Z"),
            ("2026-10-25T00:30Z", "2026-10-25T01:30Z"),
            ("2026-10-26T01:30Z", "2026-10-26T02:30Z"),
        ],
        id="repeated-time-first-occurrence-once",
    ),
    pytest.param(
        [recurring("*/30 2 * * *", "10m")],
        "Europe/Berlin",
        span("2026-10-25T00:00Z", "2026-10-25T06:00Z"),
        # A wildcard minute follows real local time: 02:00 and 02:30 in both CEST and CET.
        [
            ("2026-10-25T00:00Z", "2026-10-25T00:10Z"),
            ("2026-10-25T00:30Z", "2026-10-25T00:40Z"),
            ("2026-10-25T01:00Z", "2026-10-25T01:10Z"),
            ("2026-10-25T01:30Z", "2026-10-25T01:40Z"),
        ],
        id="wildcard-minute-in-repeated-hour-twice",
    ),
    pytest.param(
        [recurring("*/30 2 * * *", "10m")],
        "Europe/Berlin",
        span("2026-03-29T00:00Z", "2026-03-29T06:00Z"),
        [],  # ... and never in the skipped hour
        id="wildcard-minute-in-skipped-hour-never",
    ),
    pytest.param(
        [recurring("0 1 * * SUN", "3h")],
        "Europe/Berlin",
        span("2026-03-28T12:00Z", "2026-03-29T12:00Z"),
        # 01:00 CET plus three elapsed hours: it ends at 05:00 CEST, not 04:00.
        [("2026-03-29T00:00Z", "2026-03-29T03:00Z")],
        id="duration-is-elapsed-time-across-the-change",
    ),
    pytest.param(
        [recurring("30 2 * * *", "1h")],
        "America/New_York",
        span("2026-03-07T00:00Z", "2026-03-10T00:00Z"),
        # EST (-5), then 02:30 skipped on 8 March -> 03:00 EDT (-4), then 02:30 EDT.
        [
            ("2026-03-07T07:30Z", "2026-03-07T08:30Z"),
            ("2026-03-08T07:00Z", "2026-03-08T08:00Z"),
            ("2026-03-09T06:30Z", "2026-03-09T07:30Z"),
        ],
        id="new-york-spring-forward",
    ),
    pytest.param(
        [recurring("0 23 * * *", "2h")],
        "UTC",
        span("2026-03-01T00:00Z", "2026-03-02T00:00Z"),
        # The window that started on 28 February still covers the first hour; the last one
        # is cut at the end of the range.
        [("2026-03-01T00:00Z", "2026-03-01T01:00Z"), ("2026-03-01T23:00Z", "2026-03-02T00:00Z")],
        id="clipped-at-both-ends",
    ),
    pytest.param(
        [recurring("0 2 * * SUN", "2h"), fixed("2026-03-01T03:00:00Z", "2026-03-01T05:00:00Z")],
        "UTC",
        span("2026-03-01T00:00Z", "2026-03-02T00:00Z"),
        [("2026-03-01T02:00Z", "2026-03-01T05:00Z")],
        id="overlapping-windows-merged",
    ),
    pytest.param(
        [recurring("0 2 * * *", "1h"), recurring("0 3 * * *", "1h", name="second")],
        "UTC",
        span("2026-03-01T00:00Z", "2026-03-02T00:00Z"),
        [("2026-03-01T02:00Z", "2026-03-01T04:00Z")],
        id="touching-windows-merged",
    ),
    pytest.param(
        [fixed("2026-12-24T00:00:00+01:00", "2026-12-26T00:00:00+01:00")],
        "Europe/Berlin",
        span("2026-11-30T23:00Z", "2026-12-31T23:00Z"),
        # Fixed windows are instants as written, whatever the SLA's zone.
        [("2026-12-23T23:00Z", "2026-12-25T23:00Z")],
        id="fixed-with-offset",
    ),
    pytest.param(
        [fixed("2026-03-02T10:00:30Z", "2026-03-02T10:05:10Z")],
        "UTC",
        span("2026-03-01T00:00Z", "2026-04-01T00:00Z"),
        # Widened to whole minutes: minutes are what the recorded series can be cut into.
        [("2026-03-02T10:00Z", "2026-03-02T10:06Z")],
        id="fixed-widened-to-whole-minutes",
    ),
    pytest.param(
        [fixed("2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z")],
        "UTC",
        span("2026-03-01T00:00Z", "2026-04-01T00:00Z"),
        [],
        id="fixed-outside-the-range",
    ),
    pytest.param(
        [fixed("2026-02-20T00:00:00Z", "2026-05-01T00:00:00Z")],
        "UTC",
        span("2026-03-01T00:00Z", "2026-04-01T00:00Z"),
        [("2026-03-01T00:00Z", "2026-04-01T00:00Z")],
        id="fixed-covering-the-range",
    ),
    pytest.param(
        [recurring("0 2 * * SUN", "2h")],
        "Asia/Kolkata",
        span("2026-03-01T00:00Z", "2026-03-09T00:00Z"),
        # 02:00 IST (+05:30) is 20:30 UTC the day before.
        [("2026-03-07T20:30Z", "2026-03-07T22:30Z")],
        id="half-hour-zone",
    ),
]


@pytest.mark.parametrize(("given", "zone", "within", "expected"), CASES)
def test_excluded_intervals(
    given: list[sla.Exclusion], zone: str, within: Interval, expected: list[tuple[str, str]]
) -> None:
    assert exclusions.excluded_intervals(given, zone, within) == tuple(
        span(start, end) for start, end in expected
    )


@pytest.mark.parametrize(
    ("schedule", "zone", "local_day", "windows", "hours"),
    [
        # An hourly schedule follows real hours: 25 on the fall-back day, 23 on spring-forward.
        ("0 * * * *", "Europe/Berlin", span("2026-10-24T22:00Z", "2026-10-25T23:00Z"), 25, 12.5),
        ("0 * * * *", "Europe/Berlin", span("2026-03-28T23:00Z", "2026-03-29T22:00Z"), 23, 11.5),
        # A fixed-hour schedule runs once per local day, whatever its length.
        ("15 2 * * *", "Europe/Berlin", span("2026-10-24T22:00Z", "2026-10-25T23:00Z"), 1, 0.5),
        ("15 2 * * *", "Europe/Berlin", span("2026-03-28T23:00Z", "2026-03-29T22:00Z"), 1, 0.5),
    ],
)
def test_windows_on_dst_days(
    schedule: str, zone: str, local_day: Interval, windows: int, hours: float
) -> None:
    found = exclusions.excluded_intervals([recurring(schedule, "30m")], zone, local_day)
    assert len(found) == windows
    assert intervals.total_seconds(found) == hours * 3600


@pytest.mark.parametrize(
    ("schedule", "duration", "windows", "hours"),
    [
        # Berlin's year 2026: 365 local days, 8760 real hours (one lost, one repeated).
        ("30 2 * * *", "1h", 365, 365),
        ("0 * * * *", "1m", 8760, 146),
        ("0 2 * * SUN", "2h", 52, 104),
    ],
)
def test_a_year_of_windows(schedule: str, duration: str, windows: int, hours: float) -> None:
    year = span("2025-12-31T23:00Z", "2026-12-31T23:00Z")
    found = exclusions.excluded_intervals([recurring(schedule, duration)], "Europe/Berlin", year)
    assert len(found) == windows
    assert intervals.total_seconds(found) == hours * 3600


def test_every_minute_with_overlapping_windows_is_one_window() -> None:
    # Merged while expanding, so a schedule matching 44 640 times holds one interval.
    march = span("2026-03-01T00:00Z", "2026-04-01T00:00Z")
    found = exclusions.excluded_intervals([recurring("* * * * *", "5m")], "Europe/Berlin", march)
    assert found == (march,)


def test_runaway_schedule_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exclusions, "MAX_WINDOWS_PER_SCHEDULE", 100)
    exclusions.scheduled_windows.cache_clear()
    with pytest.raises(ValueError, match="matches more than 100 times"):
        exclusions.scheduled_windows(
            "* * * * *", 60.0, "UTC", span("2026-03-01T00:00Z", "2026-03-02T00:00Z")
        )
    exclusions.scheduled_windows.cache_clear()


def test_no_exclusions() -> None:
    assert exclusions.excluded_intervals([], "UTC", BERLIN_MARCH_2026) == ()


# --- interval arithmetic -----------------------------------------------------------------------


def test_merge_sorts_drops_empty_and_joins_overlapping_or_touching() -> None:
    assert intervals.merge(
        [
            span("2026-01-01T05:00Z", "2026-01-01T06:00Z"),
            span("2026-01-01T01:00Z", "2026-01-01T02:00Z"),
            span("2026-01-01T02:00Z", "2026-01-01T03:00Z"),
            span("2026-01-01T02:30Z", "2026-01-01T02:45Z"),
            span("2026-01-01T04:00Z", "2026-01-01T04:00Z"),
            span("2026-01-01T09:00Z", "2026-01-01T08:00Z"),
        ]
    ) == (
        span("2026-01-01T01:00Z", "2026-01-01T03:00Z"),
        span("2026-01-01T05:00Z", "2026-01-01T06:00Z"),
    )


def test_subtract_and_split() -> None:
    base = span("2026-01-01T00:00Z", "2026-01-02T00:00Z")
    holes = [
        span("2025-12-31T23:00Z", "2026-01-01T01:00Z"),
        span("2026-01-01T10:00Z", "2026-01-01T11:00Z"),
    ]
    left = intervals.subtract(base, holes)
    assert left == (
        span("2026-01-01T01:00Z", "2026-01-01T10:00Z"),
        span("2026-01-01T11:00Z", "2026-01-02T00:00Z"),
    )
    assert intervals.split_at(left, utc("2026-01-01T05:00Z")) == (
        span("2026-01-01T01:00Z", "2026-01-01T05:00Z"),
        span("2026-01-01T05:00Z", "2026-01-01T10:00Z"),
        span("2026-01-01T11:00Z", "2026-01-02T00:00Z"),
    )
    # A cut on a boundary or in a hole changes nothing.
    assert intervals.split_at(left, utc("2026-01-01T10:30Z")) == left
    assert intervals.split_at(left, utc("2026-01-01T11:00Z")) == left
    assert intervals.subtract(base, [base]) == ()


@pytest.mark.parametrize(
    ("given", "head", "hours", "tail"),
    [
        (("00:10", "03:20"), ("00:10", "01:00"), ("01:00", "03:00"), ("03:00", "03:20")),
        (("00:00", "03:00"), None, ("00:00", "03:00"), None),
        (("00:10", "00:50"), ("00:10", "00:50"), None, None),
        (("00:10", "01:20"), ("00:10", "01:00"), None, ("01:00", "01:20")),
        (("00:00", "00:30"), None, None, ("00:00", "00:30")),
        (("00:30", "02:00"), ("00:30", "01:00"), ("01:00", "02:00"), None),
    ],
)
def test_split_at_hours(
    given: tuple[str, str],
    head: tuple[str, str] | None,
    hours: tuple[str, str] | None,
    tail: tuple[str, str] | None,
) -> None:
    def at(pair: tuple[str, str] | None) -> Interval | None:
        return None if pair is None else span(f"2026-01-01T{pair[0]}Z", f"2026-01-01T{pair[1]}Z")

    whole = span(f"2026-01-01T{given[0]}Z", f"2026-01-01T{given[1]}Z")
    assert intervals.split_at_hours(whole) == (at(head), at(hours), at(tail))


def test_rounding_to_minutes_and_hours() -> None:
    moment = utc("2026-01-01T10:20:30.5Z")
    assert intervals.floor_minute(moment) == utc("2026-01-01T10:20Z")
    assert intervals.ceil_minute(moment) == utc("2026-01-01T10:21Z")
    assert intervals.ceil_minute(utc("2026-01-01T10:20Z")) == utc("2026-01-01T10:20Z")
    assert intervals.floor_hour(moment) == utc("2026-01-01T10:00Z")
    assert intervals.ceil_hour(moment) == utc("2026-01-01T11:00Z")
    assert intervals.ceil_hour(utc("2026-01-01T10:00Z")) == utc("2026-01-01T10:00Z")


ORIGIN = datetime.datetime(2026, 1, 1, tzinfo=UTC)
minutes = strategies.integers(min_value=0, max_value=3 * 24 * 60)
interval_lists = strategies.lists(
    strategies.tuples(minutes, minutes).map(
        lambda pair: Interval(
            ORIGIN + datetime.timedelta(minutes=pair[0]),
            ORIGIN + datetime.timedelta(minutes=pair[1]),
        )
    ),
    max_size=12,
)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(holes=interval_lists, base=strategies.tuples(minutes, minutes))
def test_subtracted_and_clipped_parts_partition_the_base(
    holes: list[Interval], base: tuple[int, int]
) -> None:
    low, high = sorted(base)
    whole = Interval(
        ORIGIN + datetime.timedelta(minutes=low), ORIGIN + datetime.timedelta(minutes=high)
    )
    kept = intervals.subtract(whole, holes)
    removed = intervals.clip(holes, whole)
    for parts in (kept, removed):
        for earlier, later in itertools.pairwise(parts):
            assert earlier.end < later.start  # sorted, disjoint, not touching
        assert all(whole.start <= part.start < part.end <= whole.end for part in parts)
    assert intervals.total_seconds(kept) + intervals.total_seconds(removed) == whole.seconds
    assert intervals.merge([*kept, *removed]) == ((whole,) if whole.seconds else ())
    # No kept minute lies in a hole.
    for part in kept:
        for hole in holes:
            assert hole.seconds == 0 or part.end <= hole.start or hole.end <= part.start


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(
    zone=strategies.sampled_from(["UTC", "Europe/Berlin", "America/Santiago", "Asia/Kolkata"]),
    schedule=strategies.sampled_from(["0 2 * * SUN", "30 2 * * *", "*/20 * * * *", "0 */6 * * *"]),
    duration=strategies.sampled_from(["1m", "20m", "2h", "1d"]),
    start=strategies.integers(min_value=0, max_value=365 * 24 * 60),
    length=strategies.integers(min_value=1, max_value=20 * 24 * 60),
)
def test_expanded_windows_are_merged_minutes_inside_the_range(
    zone: str, schedule: str, duration: str, start: int, length: int
) -> None:
    within = Interval(
        ORIGIN + datetime.timedelta(minutes=start),
        ORIGIN + datetime.timedelta(minutes=start + length),
    )
    found = exclusions.excluded_intervals([recurring(schedule, duration)], zone, within)
    for earlier, later in itertools.pairwise(found):
        assert earlier.end < later.start
    for window in found:
        assert within.start <= window.start < window.end <= within.end
        assert window.start.second == window.end.second == 0
    # Expanding a longer range and clipping gives the same windows: nothing depends on where
    # the expansion starts.
    wider = Interval(
        within.start - datetime.timedelta(days=3), within.end + datetime.timedelta(days=3)
    )
    assert (
        intervals.clip(
            exclusions.excluded_intervals([recurring(schedule, duration)], zone, wider), within
        )
        == found
    )
