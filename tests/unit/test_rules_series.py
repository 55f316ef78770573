"""The series contract the evaluator codes against (rules/series.py)."""

from __future__ import annotations

import datetime

import pytest

from slo_operator.api import slo
from slo_operator.rules import series
from support import promql_reads, slo_factory

UTC = datetime.UTC


@pytest.mark.parametrize(
    ("shape", "total", "bad"),
    [
        ({}, "slo:sli_total:increase1m", "slo:sli_bad:increase1m"),
        ({"method": "Timeslices"}, "slo:sli_total:increase1m", "slo:sli_bad:increase1m"),
        ({"indicator": "latency"}, "slo:sli_total:increase1m", "slo:sli_bad:increase1m"),
        ({"indicator": "boolGauge"}, "slo:sli_total:count1m", "slo:sli_bad:count1m"),
    ],
)
def test_level1_names(shape: dict[str, object], total: str, bad: str) -> None:
    spec = slo_factory.build(**shape).spec  # type: ignore[arg-type]
    assert (series.total_level1(spec), series.bad_level1(spec)) == (total, bad)


def test_objective_labels_select_one_threshold() -> None:
    resource = slo_factory.build(indicator="latency", tiers=3)
    labels = [series.objective_labels(resource, o) for o in resource.spec.objectives]
    assert labels == [
        {"slo": "api", "slo_namespace": "ns", "slo_threshold": "150ms"},
        {"slo": "api", "slo_namespace": "ns", "slo_threshold": "200ms"},
        {"slo": "api", "slo_namespace": "ns", "slo_threshold": "200ms"},
    ]
    plain = slo_factory.build()
    assert series.objective_labels(plain, plain.spec.objectives[0]) == {
        "slo": "api",
        "slo_namespace": "ns",
    }


def test_one_query_per_window_for_all_slos() -> None:
    assert series.error_ratio_query("30d") == 'slo:sli_error:ratio{slo_window="30d"}'


@pytest.mark.parametrize(
    ("window", "full"),
    [
        ("rolling-30d", series.FullWindow(label="30d", seconds=30 * 86400, tiled=True)),
        ("rolling-1d", series.FullWindow(label="1d", seconds=86400, tiled=False)),
        ("calendar-month", None),
    ],
)
def test_full_window(window: str, full: series.FullWindow | None) -> None:
    assert series.full_window(slo_factory.build(window=window).spec) == full


def test_tiled_windows_end_at_the_last_hour_boundary() -> None:
    tiled = series.FullWindow(label="30d", seconds=30 * 86400, tiled=True)
    at = datetime.datetime(2026, 11, 27, 10, 59, 59, tzinfo=UTC)
    assert series.window_end(tiled, at) == datetime.datetime(2026, 11, 27, 10, tzinfo=UTC)
    short = series.FullWindow(label="1d", seconds=86400, tiled=False)
    assert series.window_end(short, at) == at


BERLIN = slo.Calendar(period=slo.CalendarPeriod.MONTH, time_zone="Europe/Berlin")
KOLKATA = slo.Calendar(period=slo.CalendarPeriod.MONTH, time_zone="Asia/Kolkata")


def test_calendar_query_sums_whole_hours_since_the_period_start() -> None:
    start = datetime.datetime(2026, 10, 31, 23, tzinfo=UTC)  # 1 Nov 00:00 in Berlin (CET)
    at = datetime.datetime(2026, 11, 27, 10, 17, tzinfo=UTC)
    query = series.calendar_window_query(series.BAD_TILE, BERLIN, start, at)
    assert query is not None
    assert query.tiles == 26 * 24 + 11
    assert query.window_end == datetime.datetime(2026, 11, 27, 10, tzinfo=UTC)
    end = int(query.window_end.timestamp())
    assert query.query == (
        'sum_over_time(slo:sli_bad:sum1h{slo_calendar="Month/Europe/Berlin"}'
        f"[26d10h30m:1h] @ {end})"
    )
    (read,) = promql_reads.reads(query.query)
    assert read.subquery == ((query.tiles - 0.5) * 3600, 3600)


def test_calendar_query_shifts_tiles_for_half_hour_zones() -> None:
    start = datetime.datetime(2026, 10, 31, 18, 30, tzinfo=UTC)  # 1 Nov 00:00 in Kolkata
    at = datetime.datetime(2026, 11, 1, 2, 29, tzinfo=UTC)
    query = series.calendar_window_query(series.TOTAL_TILE, KOLKATA, start, at)
    assert query is not None
    assert query.tiles == 7
    assert query.window_end == datetime.datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    anchor = int(query.window_end.timestamp()) + 1800
    assert query.query == (
        'sum_over_time((slo:sli_total:sum1h{slo_calendar="Month/Asia/Kolkata"} offset 30m)'
        f"[6h30m:1h] @ {anchor})"
    )


def test_no_calendar_query_before_the_first_whole_hour() -> None:
    start = datetime.datetime(2026, 11, 1, tzinfo=UTC)
    at = start + datetime.timedelta(minutes=59)
    assert series.calendar_window_query(series.BAD_TILE, BERLIN, start, at) is None
    with pytest.raises(ValueError, match="summed from"):
        series.calendar_window_query(series.ERROR_RATIO, BERLIN, start, at)
