"""Calendar periods (Week, Month, Quarter, Year) in an IANA time zone, as UTC intervals.

A period starts at the first instant of its first local day: Monday for an ISO week (or the
`weekStart` day), the 1st of the month, of January/April/July/October, of January. Its end is
the next period's start, so periods tile time without gap or overlap, and a period containing a
DST change is as long as the clocks say: March 2026 in Europe/Berlin lasts 743 hours, October
2026 745.

The first instant of a local day is local midnight where midnight exists, its first occurrence
where it happens twice, and the end of the gap where the clocks jump over it (America/Santiago
moves from 00:00 to 01:00; its day starts at 01:00 local).
"""

from __future__ import annotations

import datetime
import functools
import zoneinfo

from ..api import slo
from . import intervals

UTC = datetime.UTC
_RESOLUTION = datetime.timedelta(microseconds=1)


@functools.lru_cache(maxsize=64)
def zone(time_zone: str) -> zoneinfo.ZoneInfo:
    """The IANA zone; ValueError naming it when it does not exist."""
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"{time_zone!r} is not an IANA time zone") from error


def local_day_start(day: datetime.date, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The first instant (UTC) whose local date in `tz` is `day` or later."""
    naive = datetime.datetime.combine(day, datetime.time())
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    first = min(early, late)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first  # midnight exists; `min` picks its first occurrence when it is repeated
    # Midnight falls in a gap: the day starts at the transition, the first instant whose local
    # time is past midnight. It lies between the two readings of the nonexistent time.
    low, high = first, max(early, late)
    while high - low > _RESOLUTION:
        middle = low + (high - low) / 2
        if middle.astimezone(tz).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high


def _first_day(period: slo.CalendarPeriod, day: datetime.date, week_start: int) -> datetime.date:
    """The local date on which the period containing `day` starts."""
    if period is slo.CalendarPeriod.WEEK:
        return day - datetime.timedelta(days=(day.weekday() - week_start) % 7)
    if period is slo.CalendarPeriod.MONTH:
        return day.replace(day=1)
    if period is slo.CalendarPeriod.QUARTER:
        return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return datetime.date(day.year, 1, 1)


def _next_first_day(period: slo.CalendarPeriod, first: datetime.date) -> datetime.date:
    """The local date on which the period after the one starting on `first` starts."""
    if period is slo.CalendarPeriod.WEEK:
        return first + datetime.timedelta(days=7)
    months = {slo.CalendarPeriod.MONTH: 1, slo.CalendarPeriod.QUARTER: 3}.get(period, 12)
    index = first.year * 12 + first.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def period_bounds(
    period: slo.CalendarPeriod, time_zone: str, at: datetime.datetime, week_start: int = 0
) -> intervals.Interval:
    """The period containing `at`, as a UTC interval `[start, end)`; `at` must be aware.
    `week_start` is the weekday weeks start on (0 Monday ... 6 Sunday)."""
    tz = zone(time_zone)
    local = intervals.utc(at).astimezone(tz)
    first = _first_day(period, local.date(), week_start)
    start = local_day_start(first, tz)
    end = local_day_start(_next_first_day(period, first), tz)
    return intervals.Interval(start, end)


def next_period(
    period: slo.CalendarPeriod, time_zone: str, current: intervals.Interval, week_start: int = 0
) -> intervals.Interval:
    """The period right after `current`."""
    return period_bounds(period, time_zone, current.end, week_start)


def previous_period(
    period: slo.CalendarPeriod, time_zone: str, current: intervals.Interval, week_start: int = 0
) -> intervals.Interval:
    """The period right before `current`."""
    return period_bounds(period, time_zone, intervals.utc(current.start) - _RESOLUTION, week_start)


def periods_closed_between(
    period: slo.CalendarPeriod,
    time_zone: str,
    since: datetime.datetime,
    until: datetime.datetime,
    limit: int | None = None,
    week_start: int = 0,
) -> list[intervals.Interval]:
    """The periods whose end lies in `(since, until]`, oldest first; the newest `limit` only.

    For an operator that last evaluated at `since` (or whose status' current period started
    there) and now runs at `until`: every period that ended in between must be closed. A period
    ending exactly at `until` is closed; one ending exactly at `since` was closed before. With
    `limit` (the SLA's historyLimit) only the newest periods are returned, so a long outage
    does not make the evaluator query periods that history would drop anyway.
    """
    since, until = intervals.utc(since), intervals.utc(until)
    if until <= since:
        return []
    # The period containing `until` is open; the one before it ended at or before `until`.
    candidate = previous_period(
        period, time_zone, period_bounds(period, time_zone, until, week_start), week_start
    )
    closed: list[intervals.Interval] = []
    while candidate.end > since and (limit is None or len(closed) < limit):
        closed.append(candidate)
        candidate = previous_period(period, time_zone, candidate, week_start)
    closed.reverse()
    return closed
