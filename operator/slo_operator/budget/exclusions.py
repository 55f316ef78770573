"""Maintenance windows of an SLA as merged UTC intervals.

A recurring window starts at each time its cron schedule matches in the SLA's time zone and
lasts `duration` of elapsed time. Schedules are expanded by cronsim, the library that validated
them, with its DST rules (those of Debian's cron):

- a schedule with a fixed minute and hour (`30 2 * * SUN`) runs once per matching local day:
  at a local time the clocks skip, it starts at the first minute after the gap (02:30 on the
  Europe/Berlin spring-forward day starts at 03:00 CEST); at a local time that happens twice,
  it starts at the first occurrence only;
- a schedule whose minute or hour field starts with `*` (`0 * * * *`, `*/30 2 * * *`) matches
  real local times as they happen: never inside a gap, at both occurrences of a repeated time.

A window is never shortened or stretched by a DST change: `duration: 2h` is two hours of
elapsed time. Fixed windows are `[start, end)` as written. Windows are widened to whole UTC
minutes (the smallest unit the recorded series can be measured in), then merged and clipped.
docs/sla.md has worked examples.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Sequence

import cronsim

from ..api import common, sla
from . import intervals, periods

UTC = datetime.UTC

MAX_WINDOWS_PER_SCHEDULE = 1_100_000
"""A safety bound: two years of a schedule that matches every minute."""
_LEAD = datetime.timedelta(days=1)
"""Schedules are expanded from a day earlier than the first window that can reach the range,
so that no DST fold of the local start time can hide one; the extra windows are clipped."""


def excluded_intervals(
    exclusions: Sequence[sla.Exclusion], time_zone: str, within: intervals.Interval
) -> tuple[intervals.Interval, ...]:
    """Every maintenance window overlapping `within`, merged and clipped to it."""
    found: list[intervals.Interval] = []
    for exclusion in exclusions:
        if exclusion.schedule is not None and exclusion.duration is not None:
            found.extend(
                scheduled_windows(
                    exclusion.schedule,
                    common.parse_duration_seconds(exclusion.duration),
                    time_zone,
                    intervals.Interval(intervals.utc(within.start), intervals.utc(within.end)),
                )
            )
        elif exclusion.start is not None and exclusion.end is not None:
            found.append(_widened(exclusion.start, exclusion.end))
    return intervals.clip(found, within)


@functools.lru_cache(maxsize=512)
def scheduled_windows(
    schedule: str, duration_seconds: float, time_zone: str, within: intervals.Interval
) -> tuple[intervals.Interval, ...]:
    """The windows of one cron schedule overlapping `within`, merged and clipped to it.

    Cached: the evaluator asks for the same period every cycle, and a schedule that matches
    every minute of a year takes seconds to expand.
    """
    duration = datetime.timedelta(seconds=duration_seconds)
    whole_minutes = duration % intervals.MINUTE == datetime.timedelta(0)
    tz = periods.zone(time_zone)
    low, high = intervals.utc(within.start), intervals.utc(within.end)
    first_possible = (low - duration - _LEAD).astimezone(tz)
    merged: list[intervals.Interval] = []
    for count, start in enumerate(cronsim.CronSim(schedule, first_possible)):
        if count >= MAX_WINDOWS_PER_SCHEDULE:
            raise ValueError(
                f"schedule {schedule!r} matches more than {MAX_WINDOWS_PER_SCHEDULE} times "
                f"between {low.isoformat()} and {high.isoformat()}"
            )
        # In UTC: aware arithmetic in the local zone would add wall-clock time, and a window
        # across a DST change would come out an hour short or long.
        window_start = start.astimezone(UTC)
        window_end = window_start + duration
        if window_start.second or window_start.microsecond or not whole_minutes:
            window_start, window_end = _widened(window_start, window_end)
        if window_start >= high:
            break
        if window_end <= low:
            continue
        if merged and window_start <= merged[-1].end:
            # cronsim yields starts in increasing order, so merging as they come keeps
            # memory small for schedules that match every minute; `clip` re-merges anyway.
            if window_end > merged[-1].end:
                merged[-1] = intervals.Interval(merged[-1].start, window_end)
        else:
            merged.append(intervals.Interval(window_start, window_end))
    return intervals.clip(merged, intervals.Interval(low, high))


def _widened(start: datetime.datetime, end: datetime.datetime) -> intervals.Interval:
    """`[start, end)` in UTC, widened outwards to whole minutes."""
    return intervals.Interval(intervals.floor_minute(start), intervals.ceil_minute(end))
