"""Calendar periods at the edges, checked against an independent brute-force walk.

The walk steps through time minute by minute in UTC, reads each minute's local date with
zoneinfo, and marks a period boundary at the first minute whose local period (week from
`weekStart`, month, quarter, year) is later than every one seen before — the definition in
docs/sla.md ("the first instant of its first local day"), computed without `budget.periods`.
Zones: DST changes at local midnight (America/Santiago; Asia/Beirut at 24:00; America/Havana;
America/Asuncion, which in 2023 fell back from 00:00 to 23:00 the day before, so an hour of the
old day happens after the new day began), offsets of 30 and 45
minutes (Asia/Kolkata, Australia/Adelaide with DST, Asia/Kathmandu), for Week (from Monday and
from Sunday), Month, Quarter and Year.
"""

from __future__ import annotations

import datetime
import itertools
import zoneinfo
from collections.abc import Callable

import pytest

from slo_operator.api import slo
from slo_operator.budget import periods

UTC = datetime.UTC
MINUTE = datetime.timedelta(minutes=1)
Key = tuple[int, ...]


def _week_key(week_start: int) -> Callable[[datetime.date], Key]:
    def key(day: datetime.date) -> Key:
        return ((day - datetime.timedelta(days=(day.weekday() - week_start) % 7)).toordinal(),)

    return key


KEYS: dict[tuple[slo.CalendarPeriod, int], Callable[[datetime.date], Key]] = {
    (slo.CalendarPeriod.WEEK, 0): _week_key(0),
    (slo.CalendarPeriod.WEEK, 6): _week_key(6),
    (slo.CalendarPeriod.MONTH, 0): lambda day: (day.year, day.month),
    (slo.CalendarPeriod.QUARTER, 0): lambda day: (day.year, (day.month - 1) // 3),
    (slo.CalendarPeriod.YEAR, 0): lambda day: (day.year,),
}

ZONES = [
    ("America/Santiago", datetime.datetime(2025, 12, 20, tzinfo=UTC)),
    ("Asia/Beirut", datetime.datetime(2020, 12, 20, tzinfo=UTC)),
    ("America/Havana", datetime.datetime(2025, 12, 20, tzinfo=UTC)),
    ("America/Asuncion", datetime.datetime(2022, 12, 20, tzinfo=UTC)),
    ("Asia/Kolkata", datetime.datetime(2025, 12, 20, tzinfo=UTC)),
    ("Australia/Adelaide", datetime.datetime(2025, 12, 20, tzinfo=UTC)),
    ("Asia/Kathmandu", datetime.datetime(2025, 12, 20, tzinfo=UTC)),
]
"""Each zone is walked for 380 days from its start: a whole year of DST changes and periods."""


def _walk(
    zone_name: str, start: datetime.datetime, days: int
) -> tuple[dict[tuple[slo.CalendarPeriod, int], list[datetime.datetime]], list[datetime.datetime]]:
    """Boundaries per (period, week start), and the minutes where the UTC offset changes."""
    tz = zoneinfo.ZoneInfo(zone_name)
    boundaries: dict[tuple[slo.CalendarPeriod, int], list[datetime.datetime]] = {
        k: [] for k in KEYS
    }
    latest: dict[tuple[slo.CalendarPeriod, int], Key] = {}
    changes: list[datetime.datetime] = []
    previous_offset = None
    previous_day = None
    moment = start
    for _ in range(days * 1440):
        local = moment.astimezone(tz)
        offset = local.utcoffset()
        if previous_offset is not None and offset != previous_offset:
            changes.append(moment)
        previous_offset = offset
        day = local.date()
        if day == previous_day:
            moment += MINUTE
            continue  # same local day: same periods
        previous_day = day
        for name, key in KEYS.items():
            found = key(day)
            if name not in latest:
                latest[name] = found
            elif found > latest[name]:
                latest[name] = found
                boundaries[name].append(moment)
        moment += MINUTE
    return boundaries, changes


@pytest.mark.parametrize(("zone_name", "start"), ZONES, ids=[zone for zone, _ in ZONES])
def test_periods_match_a_minute_by_minute_walk(zone_name: str, start: datetime.datetime) -> None:
    boundaries, changes = _walk(zone_name, start, 380)
    if zone_name not in ("Asia/Kolkata", "Asia/Kathmandu"):
        assert changes, f"{zone_name} changes its clocks in the walked year"
    for (period, week_start), found in boundaries.items():
        assert found, (period, week_start)
        for earlier, later in itertools.pairwise(found):
            # Each boundary starts a period that ends at the next one.
            bounds = periods.period_bounds(period, zone_name, earlier, week_start)
            assert (bounds.start, bounds.end) == (earlier, later), (period, week_start, earlier)
            # The minute before a boundary lies in the period before it.
            before = periods.period_bounds(period, zone_name, earlier - MINUTE, week_start)
            assert before.end == earlier, (period, week_start, earlier)
        # Every minute around each clock change lies in the period the walk assigns it.
        for change in changes:
            for step in range(-120, 121):
                moment = change + step * MINUTE
                expected_start = max((b for b in found if b <= moment), default=None)
                if expected_start is None or moment >= found[-1]:
                    continue
                bounds = periods.period_bounds(period, zone_name, moment, week_start)
                assert bounds.start == expected_start, (period, week_start, moment)
                assert bounds.start <= moment < bounds.end, (period, week_start, moment)


def test_weeks_start_on_sunday_when_asked() -> None:
    at = datetime.datetime(2026, 1, 7, 12, tzinfo=UTC)  # a Wednesday
    sunday = periods.period_bounds(slo.CalendarPeriod.WEEK, "America/Santiago", at, 6)
    monday = periods.period_bounds(slo.CalendarPeriod.WEEK, "America/Santiago", at)
    assert sunday.start.astimezone(zoneinfo.ZoneInfo("America/Santiago")).strftime("%a %H:%M") == (
        "Sun 00:00"
    )
    assert monday.start - sunday.start == datetime.timedelta(days=1)


def test_an_sla_and_a_calendar_slo_with_week_start_sunday_use_sunday_weeks() -> None:
    from slo_operator.api import sla
    from slo_operator.budget import sla_attainment

    spec = sla.ServiceLevelAgreementSpec.model_validate(
        {
            "customer": "acme",
            "period": "Week",
            "timeZone": "Asia/Kathmandu",
            "weekStart": "Sunday",
            "commitments": [{"name": "c", "sloRef": {"name": "s"}, "target": 99}],
        }
    )
    at = datetime.datetime(2026, 1, 7, 12, tzinfo=UTC)
    week = sla_attainment.current_period(spec, at)
    # Sunday 4 January 00:00 at +05:45.
    assert week.start == datetime.datetime(2026, 1, 3, 18, 15, tzinfo=UTC)
    calendar = slo.Calendar.model_validate(
        {"period": "Week", "timeZone": "Asia/Kathmandu", "weekStart": "Sunday"}
    )
    assert slo.week_start_index(calendar.week_start) == 6
