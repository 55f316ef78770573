"""What a report shows, read from a backend: `evaluate`'s statuses and the series behind them.

The tables are the evaluation engine's statuses at the report's instant, never recomputed. The
charts come from range queries over the SLOs' level-1 series (events per minute, the series every
other number is summed from):

- budget burn-down: bad events summed since the chart start, against the budget the events of the
  whole span allow; read at hour boundaries on tiled windows, it ends on the status' remaining
  budget;
- burn rate at each alert window of the primary objective, aggregated over groups.

For the timeslice methods the units are slices (bad slices, or summed slice error ratios, and
slices with events) from the recorded slice errors, counted at the slice step as the rules do.
"""

from __future__ import annotations

import asyncio
import datetime
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..api import common, sla, slo, times
from ..backends import backend_config, client
from ..budget import objectives
from ..evaluation import offline
from ..rules import recording, series
from . import model

HOUR = 3600
SHORT_STEP_SECONDS = 300
"""Burn-down step of spans under two days (1d windows): 5 minutes, 288 points a day."""
BURN_RATE_POINTS = 240
"""About this many points on each burn-rate curve, whatever the span."""
CONCURRENCY = 4
"""Range queries in flight at once, as the evaluation's batches send them."""


def _just_under(seconds: float) -> str:
    """A range that holds the level-1 points of `seconds` once each, on either end convention."""
    return f"{round(seconds * 1000) - 1}ms"


def _seconds(text: str) -> float:
    return times.parse_timestamp(text).timestamp()


def _window_text(spec: slo.ServiceLevelObjectiveSpec) -> str:
    if spec.calendar is not None:
        return f"{spec.calendar.period.value} in {spec.calendar.time_zone}"
    return str(spec.window)


def _selector(name: str, labels: Mapping[str, str]) -> str:
    return series.selector(name, dict(labels))


class RangeBackend:
    """Range queries off the event loop, `CONCURRENCY` at a time across every SLO."""

    def __init__(self, backend: client.PrometheusBackend) -> None:
        self.backend = backend
        self.limit = asyncio.Semaphore(CONCURRENCY)

    async def range(self, query: client.RangeQuery) -> list[client.RangeSeries]:
        async with self.limit:
            return await asyncio.to_thread(self.backend.query_range_sync, query)


async def _range(
    backend: RangeBackend, promql: str, start: float, end: float, step: float
) -> dict[float, float]:
    """Points of a range query by time, summed over its series (no series: no points)."""
    query = client.RangeQuery(
        promql,
        datetime.datetime.fromtimestamp(start, datetime.UTC),
        datetime.datetime.fromtimestamp(end, datetime.UTC),
        step,
    )
    found = await backend.range(query)
    points: dict[float, float] = {}
    for item in found:
        for moment, value in item.points:
            if not math.isnan(value):
                points[moment] = points.get(moment, 0.0) + value
    return points


def _sums(
    resource: slo.ServiceLevelObjective, objective: slo.Objective, seconds: float
) -> tuple[str, str]:
    """(bad, total) over the `seconds` before each step, summed over groups: level-1 events, or
    for the timeslice methods the slices at their own step, as the full-window rules count them.
    """
    spec = resource.spec
    span = _just_under(seconds)
    if series.uses_slices(spec):
        assert spec.timeslice is not None
        slices = _selector(series.SLICE_ERROR, series.objective_labels(resource, objective))
        step = spec.timeslice.duration
        return (
            f"sum(sum_over_time({slices}[{span}:{step}]))",
            f"sum(count_over_time({slices}[{span}:{step}]))",
        )
    bad = _selector(series.bad_level1(spec), series.objective_labels(resource, objective))
    total = _selector(series.total_level1(spec), series.identity_labels(resource))
    return f"sum(sum_over_time({bad}[{span}]))", f"sum(sum_over_time({total}[{span}]))"


async def _budget_curves(
    backend: RangeBackend,
    resource: slo.ServiceLevelObjective,
    start: float,
    end: float,
) -> tuple[model.BudgetCurve, ...]:
    spec = resource.spec
    span = end - start
    step = float(HOUR if span >= 2 * 86400 else SHORT_STEP_SECONDS)
    count = math.floor(span / step)
    if count < 1:
        return ()
    last = start + count * step
    times = [start + k * step for k in range(count + 1)]
    curves = []
    for objective in spec.objectives:
        bad_query, total_query = _sums(resource, objective, step)
        # Slices are per threshold, events are not: the total is read per objective either way
        # (the same query for every objective of an event-based SLO is cheap to repeat).
        totals = await _range(backend, total_query, start + step, last, step)
        whole = sum(totals.get(moment, 0.0) for moment in times[1:])
        bads = await _range(backend, bad_query, start + step, last, step)
        allowed = objectives.allowed_error_ratio(objective.target) * whole
        spent = 0.0
        cumulative = [0.0]
        for moment in times[1:]:
            spent += bads.get(moment, 0.0)
            cumulative.append(spent)
        remaining = tuple(
            100.0 * (1.0 - value / allowed) if allowed > 0 else math.nan for value in cumulative
        )
        curves.append(
            model.BudgetCurve(
                objective=objective.name,
                target=objective.target,
                times=tuple(times),
                bad=tuple(cumulative),
                total=whole,
                remaining_percent=remaining,
            )
        )
    return tuple(curves)


async def _burn_rates(
    backend: RangeBackend,
    resource: slo.ServiceLevelObjective,
    start: float,
    end: float,
) -> tuple[model.BurnRateCurve, ...]:
    spec = resource.spec
    primary = spec.primary
    allowed = objectives.allowed_error_ratio(primary.target)
    step = max(60.0, math.ceil((end - start) / BURN_RATE_POINTS / 60) * 60)
    curves = []
    for window in recording.alert_windows(spec):
        bad_query, total_query = _sums(resource, primary, window)
        promql = f"({bad_query} / ({total_query} > 0)) / {allowed!r}"
        points = await _range(backend, promql, start + step, end, step)
        ordered = sorted(points.items())
        curves.append(
            model.BurnRateCurve(
                window=common.format_duration(window),
                times=tuple(moment for moment, _ in ordered),
                values=tuple(value for _, value in ordered),
            )
        )
    return tuple(curves)


def _policy_steps(
    spec: slo.ServiceLevelObjectiveSpec, curves: Sequence[model.BudgetCurve]
) -> tuple[model.PolicyStepReached, ...]:
    primary = next((c for c in curves if c.objective == spec.primary.name), None)
    reached = []
    for step in spec.error_budget_policy:
        moment = None
        if primary is not None:
            for when, remaining in zip(primary.times, primary.remaining_percent, strict=True):
                if 100.0 - remaining >= step.when_consumed_percent:
                    moment = when
                    break
        reached.append(model.PolicyStepReached(step.name, step.when_consumed_percent, moment))
    return tuple(reached)


async def slo_report(
    backend: RangeBackend,
    resource: slo.ServiceLevelObjective,
    status: Mapping[str, Any],
    at: datetime.datetime,
    requested_start: datetime.datetime | None,
) -> model.SloReport:
    spec = resource.spec
    end = at.timestamp()
    if series.needs_tiles(spec):
        end -= end % HOUR  # tiled windows end at the last hour boundary, as the status does
    start: float | None = None
    if requested_start is not None:
        start = requested_start.timestamp()
    elif status.get("windowStart"):
        start = _seconds(str(status["windowStart"]))
    note = ""
    curves: tuple[model.BudgetCurve, ...] = ()
    rates: tuple[model.BurnRateCurve, ...] = ()
    if status.get("source") == "RawSeries":
        # The charts follow the budget minute by minute through the recorded series; without
        # them there is no history to draw (the tables hold the raw-series numbers).
        note = (
            "no recorded series in this Prometheus: the numbers above are measured from the raw "
            "series over the whole window, and there is no history to chart; load the SLO's "
            "rules (slo-operator generate) to chart its budget over time"
        )
    elif start is None or start >= end:
        note = "no window measured at this instant: nothing to chart"
    else:
        # A curve without recorded events, or a burn rate without points, would be an empty
        # chart: left out, and said so when nothing is left.
        curves = tuple(
            curve
            for curve in await _budget_curves(backend, resource, start, end)
            if curve.total > 0
        )
        rates = tuple(
            rate for rate in await _burn_rates(backend, resource, start, end) if rate.times
        )
        if not curves and not rates:
            note = "the recorded series hold no events in the chart's span: nothing to chart"
    return model.SloReport(
        namespace=resource.namespace,
        name=resource.name,
        service=spec.service,
        window=_window_text(spec),
        primary_objective=spec.primary.name,
        status=status,
        chart_start=start,
        chart_end=end,
        budget_curves=curves,
        burn_rates=rates,
        policy_steps=_policy_steps(spec, curves),
        chart_note=note,
    )


async def gather(
    resources: Sequence[slo.ServiceLevelObjective | sla.ServiceLevelAgreement],
    prometheus_url: str,
    at: datetime.datetime,
    requested_start: datetime.datetime | None = None,
) -> model.ReportData:
    """Evaluate every object at `at` (the `evaluate` engine) and read the series of its charts.

    Raises BackendUnavailable when the backend did not answer.
    """
    found = await offline.evaluate(resources, prometheus_url, at)
    statuses = {(item.kind, item.namespace, item.name): item.status for item in found}
    backend = RangeBackend(
        client.PrometheusBackend(
            backend_config.BackendConfig(name=backend_config.DEFAULT_BACKEND, url=prometheus_url)
        )
    )
    pending = []
    sla_reports = []
    for resource in resources:
        status = statuses.get((type(resource).__name__, resource.namespace, resource.name))
        if status is None:
            continue
        if isinstance(resource, slo.ServiceLevelObjective):
            pending.append(slo_report(backend, resource, status, at, requested_start))
        else:
            sla_reports.append(
                model.SlaReport(resource.namespace, resource.name, resource.spec.customer, status)
            )
    slo_reports = await asyncio.gather(*pending)
    return model.ReportData(at, requested_start, tuple(slo_reports), tuple(sla_reports))
