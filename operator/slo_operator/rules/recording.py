"""Recording rules of one SLO, in the order Prometheus must evaluate them.

Level 1 is the only place raw series are read: once a minute, what happened in that minute,
exactly. Every longer window is a ratio of sums of level-1 points; the full window is a sum of
hourly tiles. All rules of an SLO live in one group so they share one evaluation timestamp: a
range of `W - 30s` over 1m points then holds exactly W/1m of them, and the points of consecutive
windows never overlap. docs/rules.md explains the design and its cost.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from ..api import common, slo
from . import burn_rates, model, series

BOOL_GAUGE_RANGE = "59s999ms"
"""One minute of raw samples, closed at the evaluation and open one minute earlier, so a sample
at the boundary is counted once (Prometheus 2 ranges include both ends)."""
_TILE_SLICE_RANGE = "59m59s999ms"
"""The slice starts of one hour: a subquery over this range at step d picks exactly 1h/d."""
TIMESLICE_TIE_EPSILON = 1e-9
"""A slice exactly at `timeslice.target` is good, also after floating-point rounding."""


@dataclasses.dataclass(frozen=True)
class Context:
    """What every rule of one SLO needs, computed once."""

    resource: slo.ServiceLevelObjective
    identity: dict[str, str]
    """Selects this SLO's recorded series."""
    labels: dict[str, str]
    """Labels set on every recorded series: identity, service and the user's labels."""
    thresholds: tuple[float, ...]
    """Distinct latency thresholds in seconds, ascending; empty for other indicators."""

    @property
    def spec(self) -> slo.ServiceLevelObjectiveSpec:
        return self.resource.spec


def context(resource: slo.ServiceLevelObjective) -> Context:
    spec = resource.spec
    identity = series.identity_labels(resource)
    labels = {**identity, series.LABEL_SERVICE: spec.service}
    for name in sorted(spec.labels):
        labels[name] = spec.labels[name]
    thresholds = sorted(
        {o.threshold_seconds for o in spec.objectives if o.threshold_seconds is not None}
    )
    return Context(
        resource=resource, identity=identity, labels=labels, thresholds=tuple(thresholds)
    )


# --- PromQL pieces -----------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    return common.format_duration(seconds)


def _points_range(seconds: float) -> str:
    """A range holding exactly `seconds`/1m points recorded in the same group: W - 30s."""
    return _duration(seconds - series.EVALUATION_INTERVAL_SECONDS / 2)


def _steps_range(seconds: float) -> str:
    """A subquery range holding exactly `seconds`/step epoch-aligned steps, whatever the phase."""
    return _duration(seconds - 0.001)


def _sum_by(group_by: list[str], inner: str) -> str:
    if not group_by:
        return f"sum({inner})"
    return f"sum by ({', '.join(group_by)}) ({inner})"


def _number(value: float) -> str:
    return format(value, ".12g")


def le_variants(seconds: float) -> tuple[str, ...]:
    """How clients write a bucket boundary: Go `0.2`/`1`, Python and Prometheus 3 `1.0`.

    Go's shortest `%g` switches to an exponent at 1e-5 and 1e6 (`1e+06`); Python's client
    mirrors that for large values, and repr() does for small ones.
    """
    text = repr(float(seconds))
    variants = {text}
    if text.endswith(".0"):
        variants.add(text[:-2])
    if seconds >= 1e6 or seconds < 1e-4:
        mantissa, exponent = f"{seconds:e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        sign, digits = exponent[0], exponent[1:].lstrip("0").rjust(2, "0")
        variants.add(f"{mantissa}e{sign}{digits}")
    return tuple(sorted(variants))


def le_regex(seconds: float) -> str:
    """An `le=~` regex matching every way clients write this bucket boundary."""
    return "|".join(re.escape(variant) for variant in le_variants(seconds))


def bucket_selector(histogram: common.Selector, seconds: float) -> str:
    """The `_bucket` series of a classic histogram at the boundary `seconds` (events at most
    that long), however the client wrote the boundary."""
    return histogram.render(
        metric=histogram.metric + "_bucket",
        extra=(common.Matcher(name="le", op="=~", value=le_regex(seconds)),),
    )


class _Builder:
    """Collects rules and computes each rule's backfill depth from the series it reads."""

    def __init__(self) -> None:
        self.rules: list[model.RecordingRule] = []
        self._depth: dict[str, int] = {}

    def add(self, record: str, expr: str, labels: dict[str, str]) -> None:
        read = [depth for name, depth in self._depth.items() if f"{name}{{" in expr]
        depth = 1 + max(read) if read else 0
        self.rules.append(model.RecordingRule(record=record, expr=expr, labels=labels, depth=depth))
        self._depth[record] = max(depth, self._depth.get(record, 0))


# --- level 1 -----------------------------------------------------------------------------------


PREVIOUS_SAMPLE_LOOKBACK = "15m"
"""How far back level 1 looks for a counter's previous sample when the instant lookback (5m)
finds none: a Prometheus outage or scrape gap up to about this long is counted in full by the
first minute after it (docs/rules.md, "Gaps")."""


def previous_sample(selector: str) -> str:
    """Per series, the counter's latest sample at or before a minute ago.

    `x offset 1m` finds it when it is at most the lookback delta (5m) old. After a longer gap
    (Prometheus down, the target unreachable) the subquery finds it up to
    `PREVIOUS_SAMPLE_LOOKBACK` further back: its steps are 1m apart, each an instant lookup, so
    they see every sample of that range as long as the lookback delta is at least 1m, and the
    newest step that sees one returns exactly that last sample (nothing came after it, or
    `offset 1m` would have found it). A stale marker ends nothing here: the value before it is
    the counter's last known value.
    """
    return (
        f"({selector} offset 1m"
        f" or last_over_time({selector}[{PREVIOUS_SAMPLE_LOOKBACK}:1m] offset 1m))"
    )


def increase_1m(selector: str) -> str:
    """Per series, the exact increase of a counter since its sample a minute ago.

    Differences of the counter's latest values telescope: summed over any run of minutes they
    are the counter's increase between the samples at the run's ends, whatever the scrape
    interval, with none of `rate()`'s extrapolation. A difference below 0 is a counter reset; the
    restarted counter's value is what it counted since (events between the last sample before
    the reset and the crash are lost, as they are to Prometheus). After a gap the first minute
    carries the whole gap's increase (`previous_sample`); only a new series, or a gap longer
    than `PREVIOUS_SAMPLE_LOOKBACK`, leaves a minute out.
    """
    delta = f"{selector} - {previous_sample(selector)}"
    return f"({delta} >= 0) or ({selector} + 0 and {delta} < 0)"


def _level1(ctx: Context, builder: _Builder) -> None:
    spec = ctx.spec
    group_by = list(spec.group_by)
    total_name = series.total_level1(spec)
    bad_name = series.bad_level1(spec)
    total_recorded = _sum_by(group_by, series.selector(total_name, ctx.identity))
    indicator = spec.indicator

    if indicator.bool_gauge is not None:
        gauge = common.parse_selector(indicator.bool_gauge.metric).render()
        builder.add(
            total_name,
            _sum_by(group_by, f"count_over_time({gauge}[{BOOL_GAUGE_RANGE}])"),
            ctx.labels,
        )
        good = _sum_by(group_by, f"sum_over_time({gauge}[{BOOL_GAUGE_RANGE}])")
        builder.add(bad_name, f"{total_recorded} - {good}", ctx.labels)
        return

    if indicator.ratio is not None:
        ratio = indicator.ratio
        total = common.parse_selector(ratio.total).render()
        builder.add(total_name, _sum_by(group_by, increase_1m(total)), ctx.labels)
        # A counter that was never incremented has no series: `or 0 * total` keeps the bad-event
        # count at 0 for such groups instead of dropping them.
        if ratio.errors is not None:
            errors = common.parse_selector(ratio.errors).render()
            bad = f"{_sum_by(group_by, increase_1m(errors))} or 0 * {total_recorded}"
        else:
            assert ratio.good is not None  # the model guarantees errors xor good
            good_selector = common.parse_selector(ratio.good).render()
            good = _sum_by(group_by, increase_1m(good_selector))
            bad = f"{total_recorded} - ({good} or 0 * {total_recorded})"
        builder.add(bad_name, bad, ctx.labels)
        return

    assert indicator.latency is not None
    histogram = common.parse_selector(indicator.latency.metric)
    count = histogram.with_suffix("_count")
    builder.add(total_name, _sum_by(group_by, increase_1m(count)), ctx.labels)
    for threshold in ctx.thresholds:
        fast = _sum_by(group_by, increase_1m(bucket_selector(histogram, threshold)))
        builder.add(
            bad_name,
            f"{total_recorded} - {fast}",
            {**ctx.labels, series.LABEL_THRESHOLD: series.threshold_label(threshold)},
        )


def _per_total(ctx: Context) -> str:
    """Vector matching of bad series (one per threshold) onto their total series."""
    if ctx.thresholds:
        return f"/ ignoring ({series.LABEL_THRESHOLD}) group_left () "
    return "/ "


def _slice_error(ctx: Context, builder: _Builder) -> None:
    """Timeslice methods: the error of the slice that ends at this evaluation, from the d
    one-minute counts of level 1."""
    spec = ctx.spec
    assert spec.timeslice is not None
    bad = series.selector(series.bad_level1(spec), ctx.identity)
    total = series.selector(series.total_level1(spec), ctx.identity)
    slice_range = _points_range(common.parse_duration_seconds(spec.timeslice.duration))
    ratio = (
        f"sum_over_time({bad}[{slice_range}]) "
        f"{_per_total(ctx)}(sum_over_time({total}[{slice_range}]) > 0)"
    )
    if spec.budgeting_method is slo.BudgetingMethod.TIMESLICES:
        assert spec.timeslice.target is not None  # required for Timeslices by the model
        allowed = 1 - spec.timeslice.target / 100 + TIMESLICE_TIE_EPSILON
        expr = f"({ratio}) > bool {_number(allowed)}"
    else:
        expr = ratio
    builder.add(series.SLICE_ERROR, expr, ctx.labels)


# --- windows -----------------------------------------------------------------------------------


def alert_windows(spec: slo.ServiceLevelObjectiveSpec) -> list[int]:
    """Every long and short window the burn-rate alerts read, ascending, in seconds."""
    return list(_alert_windows(series.window_seconds(spec)))


@functools.lru_cache(maxsize=1024)
def _alert_windows(window_seconds: int) -> tuple[int, ...]:
    windows: set[int] = set()
    for alert in burn_rates.burn_rate_alerts(window_seconds):
        for condition in alert.conditions:
            windows.update((condition.long_seconds, condition.short_seconds))
    return tuple(sorted(windows))


def _window_ratio(ctx: Context, seconds: int) -> str:
    """Error ratio over the last `seconds`, from level-1 (or slice) points."""
    spec = ctx.spec
    if series.uses_slices(spec):
        slices = series.selector(series.SLICE_ERROR, ctx.identity)
        span = _points_range(seconds)
        return f"sum_over_time({slices}[{span}]) / count_over_time({slices}[{span}])"
    bad = series.selector(series.bad_level1(spec), ctx.identity)
    total = series.selector(series.total_level1(spec), ctx.identity)
    span = _points_range(seconds)
    return f"sum_over_time({bad}[{span}]) {_per_total(ctx)}(sum_over_time({total}[{span}]) > 0)"


def _sums_from_points(ctx: Context, seconds: int) -> tuple[str, str]:
    """(bad, total) over the last `seconds`, read from 1m points (or slices at step d)."""
    spec = ctx.spec
    if series.uses_slices(spec):
        assert spec.timeslice is not None
        slices = series.selector(series.SLICE_ERROR, ctx.identity)
        step = spec.timeslice.duration
        span = _steps_range(seconds)
        return (
            f"sum_over_time({slices}[{span}:{step}])",
            f"count_over_time({slices}[{span}:{step}])",
        )
    span = _points_range(seconds)
    bad = series.selector(series.bad_level1(spec), ctx.identity)
    total = series.selector(series.total_level1(spec), ctx.identity)
    return f"sum_over_time({bad}[{span}])", f"sum_over_time({total}[{span}])"


def _tiles(ctx: Context, builder: _Builder) -> None:
    """Hourly sums, recorded every minute; read at hour boundaries they tile without overlap."""
    spec = ctx.spec
    labels = dict(ctx.labels)
    if spec.calendar is not None:
        labels[series.LABEL_CALENDAR] = series.calendar_label(spec.calendar)
    if series.uses_slices(spec):
        assert spec.timeslice is not None
        slices = series.selector(series.SLICE_ERROR, ctx.identity)
        step = spec.timeslice.duration
        bad = f"sum_over_time({slices}[{_TILE_SLICE_RANGE}:{step}])"
        total = f"count_over_time({slices}[{_TILE_SLICE_RANGE}:{step}])"
    else:
        bad, total = _sums_from_points(ctx, series.TILE_SECONDS)
    builder.add(series.BAD_TILE, bad, labels)
    builder.add(series.TOTAL_TILE, total, labels)


def _full_window(ctx: Context, builder: _Builder, window: series.FullWindow) -> None:
    labels = {**ctx.labels, series.LABEL_WINDOW: window.label}
    if window.tiled:
        span = _steps_range(window.seconds)
        tile_bad = series.selector(series.BAD_TILE, ctx.identity)
        tile_total = series.selector(series.TOTAL_TILE, ctx.identity)
        bad = f"sum_over_time({tile_bad}[{span}:1h])"
        total = f"sum_over_time({tile_total}[{span}:1h])"
    else:
        bad, total = _sums_from_points(ctx, window.seconds)
    builder.add(series.BAD_SUM, bad, labels)
    builder.add(series.TOTAL_SUM, total, labels)
    window_labels = {**ctx.identity, series.LABEL_WINDOW: window.label}
    builder.add(
        series.ERROR_RATIO,
        f"{series.selector(series.BAD_SUM, window_labels)} {_per_total(ctx)}"
        f"({series.selector(series.TOTAL_SUM, window_labels)} > 0)",
        labels,
    )


def recording_rules(resource: slo.ServiceLevelObjective) -> list[model.RecordingRule]:
    """All recording rules of one SLO, dependencies first."""
    ctx = context(resource)
    spec = ctx.spec
    builder = _Builder()
    _level1(ctx, builder)
    if series.uses_slices(spec):
        _slice_error(ctx, builder)
    window = series.full_window(spec)
    for seconds in alert_windows(spec):
        if window is not None and seconds == window.seconds:
            continue  # the full window's own ratio serves this window
        builder.add(
            series.ERROR_RATIO,
            _window_ratio(ctx, seconds),
            {**ctx.labels, series.LABEL_WINDOW: series.window_label(seconds)},
        )
    if series.needs_tiles(spec):
        _tiles(ctx, builder)
    if window is not None:
        _full_window(ctx, builder, window)
    return builder.rules
