"""The window: OpenSLO time windows as our rolling window or calendar period."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from ...api import common, slo
from . import reading, reporting, vocabulary


def convert_time_window(
    spec: Mapping[str, Any], at: reporting.At, report: reporting.Report
) -> dict[str, Any] | None:
    """`{window: ...}` or `{calendar: {...}}` for our spec."""
    windows = spec.get("timeWindow")
    at = at / "timeWindow"
    if windows is None:
        report.error(at, "required here: our SLOs need a rolling or calendar window")
        return None
    if not isinstance(windows, list) or len(windows) != 1:
        report.error(at, "must be a list of exactly one time window")
        return None
    at = at / 0
    window = reading.as_mapping(windows[0], at, report, "a time window")
    if window is None:
        return None
    report.unknown_fields(at, window, ("duration", "isRolling", "calendar"))
    duration = window.get("duration")
    calendar = window.get("calendar")
    rolling = window.get("isRolling", calendar is None)
    if not isinstance(duration, str) or not vocabulary.SHORTHAND.match(duration):
        report.error(
            at / "duration",
            f"{duration!r} is not a duration-shorthand (a number and one of m h d w M Q Y)",
        )
        return None
    if rolling is True and calendar is not None:
        report.error(at / "isRolling", "a rolling window cannot have a calendar")
        return None
    if rolling is True:
        return _rolling(duration, at / "duration", report)
    if rolling is not False:
        report.error(at / "isRolling", f"must be true or false, got {rolling!r}")
        return None
    calendar_body = reading.as_mapping(calendar, at / "calendar", report, "calendar")
    if calendar_body is None:
        return None
    return _calendar(duration, calendar_body, at, report)


def _rolling(duration: str, at: reporting.At, report: reporting.Report) -> dict[str, Any] | None:
    match = vocabulary.SHORTHAND.match(duration)
    assert match is not None
    count, unit = int(match.group(1)), match.group(2)
    if unit in vocabulary.NOMINAL_DAYS:
        days = count * vocabulary.NOMINAL_DAYS[unit]
        report.problem(
            at,
            f"a rolling {duration} has no fixed length; converted to {days}d "
            f"({vocabulary.NOMINAL_DAYS[unit]}d per {unit})",
        )
        return {"window": f"{days}d"}
    parsed = reading.shorthand_seconds(duration)
    assert parsed is not None
    # Prometheus' own spelling (4w -> 28d): the rules and alert texts name the window in days.
    return {"window": common.format_duration(parsed[0])}


def _calendar(
    duration: str, calendar: Mapping[str, Any], at: reporting.At, report: reporting.Report
) -> dict[str, Any] | None:
    report.unknown_fields(at / "calendar", calendar, ("startTime", "timeZone"))
    period = vocabulary.CALENDAR_PERIODS.get(duration)
    if period is None:
        report.error(
            at / "duration",
            f"a calendar window of {duration} cannot be converted: calendar windows are one "
            f"week, month, quarter or year ({', '.join(vocabulary.CALENDAR_PERIODS)})",
        )
        return None
    zone = calendar.get("timeZone")
    if zone is None:
        report.problem(at / "calendar" / "timeZone", "missing; converted with UTC")
        zone = "UTC"
    if not isinstance(zone, str):
        report.error(
            at / "calendar" / "timeZone", f"must be an IANA name, got {reading.type_name(zone)}"
        )
        return None
    start = calendar.get("startTime")
    _check_period_start(start, period, at / "calendar" / "startTime", report)
    return {"calendar": {"period": period.value, "timeZone": zone}}


def _check_period_start(
    start: Any, period: slo.CalendarPeriod, at: reporting.At, report: reporting.Report
) -> None:
    """Our periods start at midnight on a Monday / the 1st / a quarter's / a year's first day."""
    if start is None:
        return
    moment: datetime.datetime | None = None
    if isinstance(start, datetime.datetime):
        moment = start
    elif isinstance(start, datetime.date):
        moment = datetime.datetime.combine(start, datetime.time())
    elif isinstance(start, str):
        try:
            moment = datetime.datetime.fromisoformat(start.strip())
        except ValueError:
            moment = None
    if moment is None:
        report.problem(at, f"{start!r} is not a date with time (2022-01-01 00:00:00); ignored")
        return
    aligned = moment.time() == datetime.time()
    if period is slo.CalendarPeriod.WEEK:
        aligned = aligned and moment.weekday() == 0
    elif period is slo.CalendarPeriod.MONTH:
        aligned = aligned and moment.day == 1
    elif period is slo.CalendarPeriod.QUARTER:
        aligned = aligned and moment.day == 1 and moment.month in (1, 4, 7, 10)
    else:
        aligned = aligned and moment.day == 1 and moment.month == 1
    if not aligned:
        starts = {
            slo.CalendarPeriod.WEEK: "Mondays at 00:00",
            slo.CalendarPeriod.MONTH: "the 1st of each month at 00:00",
            slo.CalendarPeriod.QUARTER: "January, April, July and October 1st at 00:00",
            slo.CalendarPeriod.YEAR: "January 1st at 00:00",
        }[period]
        report.problem(
            at,
            f"{start} is not the start of a {period.value.lower()}; our {period.value} periods "
            f"start on {starts} in the time zone, and the SLO was converted that way",
        )
