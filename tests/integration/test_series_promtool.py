"""The window arithmetic of the recorded series, checked in Prometheus' own engine (promtool).

With constant traffic every tile and window has an exact expected value, so an off-by-one point
(a range holding 61 points instead of 60, a subquery picking 721 tiles) shows as a wrong number.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from slo_operator.api import slo
from slo_operator.rules import render, series
from support import promtool, slo_factory

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("release", promtool.RELEASES)]
"""Prometheus 2 ranges include both ends, Prometheus 3 ranges are left-open: the same counts
must come out of both."""

PER_MINUTE = 600  # 10 requests per second
ID = '{slo="api",slo_namespace="ns"}'


def counter(segments: list[tuple[int, int]]) -> str:
    """A counter from 0 rising `per_minute` for `minutes`, segment after segment."""
    tokens, value = ["0"], 0
    for minutes, per_minute in segments:
        tokens.append(f"{value + per_minute}+{per_minute}x{minutes - 1}")
        value += per_minute * minutes
    return " ".join(tokens)


def requests(minutes: int, segments: list[tuple[int, int]] | None = None) -> list[dict[str, str]]:
    values = counter(segments or [(minutes, PER_MINUTE)])
    return [
        {"series": 'http_requests_total{job="api",code="200"}', "values": values},
        {"series": 'http_requests_total{job="api",code="500"}', "values": f"0+0x{minutes}"},
    ]


def expect(expr: str, minute: int, value: float | None, labels: str = "{}") -> dict[str, Any]:
    samples = [] if value is None else [{"labels": labels, "value": value}]
    return {"expr": expr, "eval_time": f"{minute}m", "exp_samples": samples}


def run(
    resource: slo.ServiceLevelObjective,
    inputs: list[dict[str, str]],
    checks: list[Any],
    release: str,
) -> None:
    unit = {"interval": "1m", "input_series": inputs, "promql_expr_test": checks}
    result = promtool.run_unit_tests(render.render_rule_file([resource]), [unit], release=release)
    assert result.ok, result.output


def test_hour_tiles_hold_exactly_60_points_and_full_windows_exactly_their_tiles(
    release: str,
) -> None:
    resource = slo_factory.build(window="rolling-30d")
    tile = f"sum(slo:sli_total:sum1h{ID})"
    window = 'slo:sli_total:sum{slo="api",slo_namespace="ns",slo_window="30d"}'
    added = f"sum({window}) - sum({window} offset 1m)"
    steps = f"count_over_time(slo:sli_total:sum1h{ID}[29d23h59m59s999ms:1h])"
    run(
        resource,
        requests(8 * 60),
        [
            expect(tile, 197, 60 * PER_MINUTE),
            # A new tile joins the window exactly at each hour boundary, never in between.
            expect(added, 360, 60 * PER_MINUTE),
            expect(added, 389, 0),
            expect(added, 420, 60 * PER_MINUTE),
            # 59 minutes past the hour (the worst case for the range) still picks every tile.
            expect(f"sum({steps})", 419, 6),
            expect(f"sum({steps})", 420, 7),
        ],
        release,
    )


def test_windows_from_1m_points_hold_exactly_window_over_1m_points(release: str) -> None:
    resource = slo_factory.build(window="rolling-1d")
    window = 'slo_window="1d"'
    run(
        resource,
        requests(26 * 60),
        [
            expect(f'sum(slo:sli_total:sum{{{window},slo="api"}})', 25 * 60, 1440 * PER_MINUTE),
            expect(
                'slo:sli_error:ratio{slo_window="1h",slo="api"} * 0',
                25 * 60,
                0,
                _labels("1h"),
            ),
        ],
        release,
    )


def _labels(window: str) -> str:
    return f'{{slo="api",slo_namespace="ns",service="api",slo_window="{window}"}}'


def test_timeslices_are_picked_at_their_own_boundaries(release: str) -> None:
    resource = slo_factory.build(
        indicator="boolGauge",
        method="Timeslices",
        window="rolling-1d",
        timeslice={"duration": "5m", "target": 95},
    )
    probe = {"series": 'probe_success{job="blackbox"}', "values": f"1+0x{26 * 60}"}
    run(
        resource,
        [probe],
        [
            expect('sum(slo:sli_total:sum{slo_window="1d",slo="api"})', 25 * 60 + 7, 288),
            expect(f"sum(slo:sli_total:count1m{ID})", 100, 1),
        ],
        release,
    )


def test_calendar_query_sums_the_tiles_since_the_period_start(release: str) -> None:
    """Traffic doubles at 04:00; tiles aligned to a :30 period start differ from hour-aligned
    ones, so the query must equal the three tiles read at 03:30, 04:30 and 05:30 exactly."""
    resource = slo_factory.build(window="calendar-month")
    calendar = slo.Calendar(period=slo.CalendarPeriod.MONTH, time_zone="Asia/Kolkata")
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    start = epoch + datetime.timedelta(hours=2, minutes=30)
    at = epoch + datetime.timedelta(hours=6, minutes=10)
    query = series.calendar_window_query(series.TOTAL_TILE, calendar, start, at)
    assert query is not None and query.tiles == 3
    tile = f'slo:sli_total:sum1h{{slo_calendar="{series.calendar_label(calendar)}"}}'
    by_hand = " + ".join(f"{tile} @ {seconds}" for seconds in (12600, 16200, 19800))
    hour_aligned = " + ".join(f"{tile} @ {seconds}" for seconds in (10800, 14400, 18000))
    resource = slo_factory.build(
        window="calendar-month", calendar={"period": "Month", "timeZone": "Asia/Kolkata"}
    )
    inputs = requests(7 * 60, [(240, PER_MINUTE), (180, 2 * PER_MINUTE)])
    labels = '{slo="api",slo_namespace="ns",service="api",slo_calendar="Month/Asia/Kolkata"}'
    run(
        resource,
        inputs,
        [
            expect(f"{query.query} - ({by_hand})", 370, 0, labels),
            expect(f"sum({tile} @ 12600)", 370, 60 * PER_MINUTE),
            # The check above could not pass by accident: hour-aligned tiles sum differently.
            expect(f"({by_hand}) - ({hour_aligned}) > bool 0", 370, 1, labels),
        ],
        release,
    )
