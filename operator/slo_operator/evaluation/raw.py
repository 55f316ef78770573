"""Measuring an SLO from its raw series, for `slo-operator evaluate` when no recorded series exist.

The operator never does this (it reads the recorded series, one batched query per window); an
SRE trying a manifest against an existing Prometheus before deploying its rules can. Each SLO
costs two or three queries over its whole window of raw data — the price the rules avoid.

Occurrences: bad and total events over the window with `increase()` (counters) or
`sum_over_time`/`count_over_time` (0/1 gauges), per `groupBy` group and latency threshold.

Timeslices and RatioTimeslices: the slices the rules would record, computed from the raw series
with nested subqueries. Each minute counts what level 1 counts (`recording.increase_1m` for
counters, the samples of the minute for 0/1 gauges); a slice of d ending at an epoch multiple of
d sums its d minutes (`[d-30s:1m]`); the window sums the slice errors (bad slices, or slice error
ratios) and counts the slices with events at step d. Exact, and W/1m evaluations of the minute
expression per series: fine for one `evaluate`, the cost the rules exist to avoid.

Burn rates are left out (they are the alert windows' business, served by the rules).

`increase()` is exact when the evaluation time and the window start are sample times (no
extrapolation); otherwise Prometheus extrapolates each series by up to one scrape interval at
each edge.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping

from ..api import common, slo
from ..backends import client
from ..budget import periods
from ..rules import recording, series

_Key = tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class RawPlan:
    """Queries over the raw series of one SLO, and the window they cover."""

    total: client.Query
    good: Mapping[str, client.Query]
    """Threshold label (empty for non-latency) -> good events; or bad events if `counts_bad`."""
    counts_bad: bool
    absent_is_zero: bool
    """Counters: a counter that never moved has no series, so nothing found is 0 events.
    Histogram buckets: a threshold without a bucket is not measurable (never 0%)."""
    window_start: datetime.datetime
    window_seconds: float


def plan(resource: slo.ServiceLevelObjective, at: datetime.datetime) -> RawPlan:
    """The raw queries of `resource` at `at`."""
    spec = resource.spec
    if spec.calendar is not None:
        calendar = spec.calendar
        start, _ = periods.period_bounds(
            calendar.period, calendar.time_zone, at, slo.week_start_index(calendar.week_start)
        )
    else:
        start = at - datetime.timedelta(seconds=series.window_seconds(spec))
    seconds = (at - start).total_seconds()
    if series.uses_slices(spec):
        return _slice_plan(spec, at, start, seconds)
    span = common.format_duration(seconds)
    by = f"sum by ({', '.join(spec.group_by)}) " if spec.group_by else "sum "

    def increase(selector: str) -> client.Query:
        return client.Query(f"{by}(increase({selector}[{span}]))", at)

    indicator = spec.indicator
    if indicator.bool_gauge is not None:
        gauge = common.parse_selector(indicator.bool_gauge.metric).render()
        total = client.Query(f"{by}(count_over_time({gauge}[{span}]))", at)
        good = {"": client.Query(f"{by}(sum_over_time({gauge}[{span}]))", at)}
        return RawPlan(total, good, False, True, start, seconds)
    if indicator.ratio is not None:
        ratio = indicator.ratio
        total = increase(common.parse_selector(ratio.total).render())
        if ratio.errors is not None:
            bad = {"": increase(common.parse_selector(ratio.errors).render())}
            return RawPlan(total, bad, True, True, start, seconds)
        assert ratio.good is not None
        good = {"": increase(common.parse_selector(ratio.good).render())}
        return RawPlan(total, good, False, True, start, seconds)
    assert indicator.latency is not None
    histogram = common.parse_selector(indicator.latency.metric)
    total = increase(histogram.with_suffix("_count"))
    good = {}
    for objective in spec.objectives:
        if objective.threshold_seconds is None:
            continue
        bucket = recording.bucket_selector(histogram, objective.threshold_seconds)
        good[series.threshold_label(objective.threshold_seconds)] = increase(bucket)
    return RawPlan(total, good, False, False, start, seconds)


def _minute_counts(spec: slo.ServiceLevelObjectiveSpec) -> tuple[str, dict[str, str]]:
    """(events per minute, {threshold label: bad events per minute}) from the raw series, per
    group, as the level-1 rules count them at each minute."""
    by = f"sum by ({', '.join(spec.group_by)}) " if spec.group_by else "sum "
    indicator = spec.indicator
    if indicator.bool_gauge is not None:
        gauge = common.parse_selector(indicator.bool_gauge.metric).render()
        minute = recording.BOOL_GAUGE_RANGE
        total = f"{by}(count_over_time({gauge}[{minute}]))"
        return total, {"": f"({total} - {by}(sum_over_time({gauge}[{minute}])))"}
    if indicator.ratio is not None:
        ratio = indicator.ratio
        total = f"{by}({recording.increase_1m(common.parse_selector(ratio.total).render())})"
        if ratio.errors is not None:
            errors = common.parse_selector(ratio.errors).render()
            return total, {"": f"({by}({recording.increase_1m(errors)}) or 0 * {total})"}
        assert ratio.good is not None
        good = f"{by}({recording.increase_1m(common.parse_selector(ratio.good).render())})"
        return total, {"": f"({total} - ({good} or 0 * {total}))"}
    assert indicator.latency is not None
    histogram = common.parse_selector(indicator.latency.metric)
    total = f"{by}({recording.increase_1m(histogram.with_suffix('_count'))})"
    bads = {}
    for objective in spec.objectives:
        if objective.threshold_seconds is None:
            continue
        bucket = recording.bucket_selector(histogram, objective.threshold_seconds)
        fast = f"{by}({recording.increase_1m(bucket)})"
        bads[series.threshold_label(objective.threshold_seconds)] = f"({total} - {fast})"
    return total, bads


def _slice_plan(
    spec: slo.ServiceLevelObjectiveSpec,
    at: datetime.datetime,
    start: datetime.datetime,
    seconds: float,
) -> RawPlan:
    """Bad slices (Timeslices) or summed slice error ratios (RatioTimeslices), and the number
    of slices with events, over the window, per group and threshold."""
    assert spec.timeslice is not None
    step = spec.timeslice.duration
    slice_seconds = common.parse_duration_seconds(step)
    minutes = common.format_duration(slice_seconds - series.EVALUATION_INTERVAL_SECONDS / 2)
    window = common.format_duration(seconds - 0.001)
    total, bads = _minute_counts(spec)
    slice_total = f"(sum_over_time(({total})[{minutes}:1m]) > 0)"
    good: dict[str, client.Query] = {}
    count = client.Query(f"count_over_time({slice_total}[{window}:{step}])", at)
    for threshold, bad in bads.items():
        ratio = f"sum_over_time(({bad})[{minutes}:1m]) / {slice_total}"
        if spec.budgeting_method is slo.BudgetingMethod.TIMESLICES:
            assert spec.timeslice.target is not None
            allowed = 1 - spec.timeslice.target / 100 + recording.TIMESLICE_TIE_EPSILON
            ratio = f"({ratio}) > bool {allowed:.12g}"
        good[threshold] = client.Query(f"sum_over_time(({ratio})[{window}:{step}])", at)
    return RawPlan(count, good, True, spec.indicator.latency is None, start, seconds)


def sums(
    raw: RawPlan,
    answers: Mapping[client.Query, list[client.Sample]],
    group_by: tuple[str, ...],
) -> tuple[dict[_Key, float], dict[tuple[_Key, str], float]]:
    """(total per group, bad per (group, threshold)) in the shape the evaluator takes."""
    totals: dict[_Key, float] = {}
    for sample in answers[raw.total]:
        totals[tuple(sample.labels.get(name, "") for name in group_by)] = sample.value
    bads: dict[tuple[_Key, str], float] = {}
    for threshold, query in raw.good.items():
        found = {
            tuple(sample.labels.get(name, "") for name in group_by): sample.value
            for sample in answers[query]
        }
        for key, total in totals.items():
            if key not in found and not raw.absent_is_zero:
                continue  # left out: the evaluator reports the objective as not measurable
            value = found.get(key, 0.0)
            bads[(key, threshold)] = value if raw.counts_bad else total - value
    return totals, bads
