"""The contract of the recorded series: their names, their labels, and the queries that read them.

The evaluation engine reads these series for every SLO at once, so its query count grows with
the number of distinct windows, not with the number of SLOs: one query
`slo:sli_error:ratio{slo_window="30d"}` returns the 30-day error ratio of every SLO (and every
group, and every latency threshold) that has such a window. See docs/rules.md for why the series
are shaped this way.

Units of the `bad`/`total` pairs depend on the budgeting method: events for Occurrences, slices
for Timeslices, and (sum of slice error ratios, number of slices) for RatioTimeslices. In every
case `bad / total` is the error ratio and `1 - bad / total` the SLI.
"""

from __future__ import annotations

import dataclasses
import datetime
import math

from ..api import common, slo

# --- labels ------------------------------------------------------------------------------------

LABEL_SLO = "slo"
"""The SLO's `metadata.name`; on every recorded series and alert."""
LABEL_NAMESPACE = "slo_namespace"
"""The SLO's namespace; on every recorded series and alert."""
LABEL_SERVICE = "service"
"""`spec.service`; on every recorded series."""
LABEL_WINDOW = "slo_window"
"""The window a ratio or sum covers, as a Prometheus duration (`5m`, `1h`, `30d`)."""
LABEL_THRESHOLD = "slo_threshold"
"""Latency only: the threshold as a duration (`200ms`), on bad-event series and ratios."""
LABEL_CALENDAR = "slo_calendar"
"""Calendar SLOs only, on the hourly tiles: `<period>/<time zone>`, e.g. `Month/Europe/Berlin`."""
LABEL_OBJECTIVE = "objective"
"""On alerts: the objective whose budget burns."""

RESERVED_LABELS = frozenset(
    {
        LABEL_SLO,
        LABEL_NAMESPACE,
        LABEL_SERVICE,
        LABEL_WINDOW,
        LABEL_THRESHOLD,
        LABEL_CALENDAR,
        LABEL_OBJECTIVE,
    }
)
"""Label names the rules set themselves; manifests may not use them in labels or `groupBy`."""

# --- names -------------------------------------------------------------------------------------

ERROR_RATIO = "slo:sli_error:ratio"
"""`bad / total` over the window in `slo_window`; absent while the window holds no events."""
BAD_SUM = "slo:sli_bad:sum"
"""Bad events (or bad slices, or summed slice error ratios) over the SLO's full rolling window."""
TOTAL_SUM = "slo:sli_total:sum"
"""Events (or slices with events) over the SLO's full rolling window."""
BAD_TILE = "slo:sli_bad:sum1h"
"""Bad events in the hour ending at the evaluation; read at hour boundaries it tiles exactly."""
TOTAL_TILE = "slo:sli_total:sum1h"
"""Events in the hour ending at the evaluation (slices with events, for the timeslice methods)."""
SLICE_ERROR = "slo:sli_slice_error:ratio"
"""Timeslice methods: the error of the slice ending at each minute (1/0 bad/good for Timeslices,
`1 - good/total` for RatioTimeslices); absent for slices without events."""

EVALUATION_INTERVAL_SECONDS = 60
"""Every group is evaluated each minute; level 1 records what happened in that minute."""
TILE_SECONDS = 3600
"""Length of the coarse tiles the full window is summed from."""
TILED_WINDOW_MIN_SECONDS = 7 * 86400
"""Full windows at least this long are read from hourly tiles; shorter ones from 1m points."""

CALENDAR_NOMINAL_SECONDS = {
    slo.CalendarPeriod.WEEK: 7 * 86400,
    slo.CalendarPeriod.MONTH: 30 * 86400,
    slo.CalendarPeriod.QUARTER: 90 * 86400,
    slo.CalendarPeriod.YEAR: 365 * 86400,
}
"""The nominal length of a calendar period, from which alert windows and factors are derived."""


LEVEL1_TOTAL_NAMES = ("slo:sli_total:increase1m", "slo:sli_total:count1m")
"""Every name a level-1 total series can have (counters, 0/1 gauges): events in the last minute."""
LEVEL1_BAD_NAMES = ("slo:sli_bad:increase1m", "slo:sli_bad:count1m")
"""Every name a level-1 bad-event series can have."""


def total_level1(spec: slo.ServiceLevelObjectiveSpec) -> str:
    """Name of the level-1 series of all events in the last minute (samples, for a 0/1 gauge)."""
    if spec.indicator.bool_gauge is not None:
        return LEVEL1_TOTAL_NAMES[1]
    return LEVEL1_TOTAL_NAMES[0]


def bad_level1(spec: slo.ServiceLevelObjectiveSpec) -> str:
    """Name of the level-1 series of bad events in the last minute (one per latency threshold)."""
    if spec.indicator.bool_gauge is not None:
        return LEVEL1_BAD_NAMES[1]
    return LEVEL1_BAD_NAMES[0]


def uses_slices(spec: slo.ServiceLevelObjectiveSpec) -> bool:
    """Whether the budget counts slices (Timeslices, RatioTimeslices) rather than events."""
    return spec.budgeting_method is not slo.BudgetingMethod.OCCURRENCES


# --- label values ------------------------------------------------------------------------------


def threshold_label(seconds: float) -> str:
    """The `slo_threshold` value for a latency threshold: `0.2` -> `200ms`."""
    return common.format_duration(seconds)


def identity_labels(resource: slo.ServiceLevelObjective) -> dict[str, str]:
    """The labels that pick one SLO's series out of all SLOs'."""
    return {LABEL_SLO: resource.name, LABEL_NAMESPACE: resource.namespace}


def objective_labels(
    resource: slo.ServiceLevelObjective, objective: slo.Objective
) -> dict[str, str]:
    """The labels that pick one objective's bad-event and error-ratio series of one SLO."""
    labels = identity_labels(resource)
    if objective.threshold_seconds is not None:
        labels[LABEL_THRESHOLD] = threshold_label(objective.threshold_seconds)
    return labels


def calendar_label(calendar: slo.Calendar) -> str:
    """The `slo_calendar` value: every SLO with this value shares one calendar query."""
    if calendar.week_start not in (None, slo.Weekday.MONDAY):
        # Weeks starting another day start at other instants: their own calendar query.
        return f"{calendar.period.value}-{calendar.week_start.value}/{calendar.time_zone}"
    return f"{calendar.period.value}/{calendar.time_zone}"


def window_label(seconds: float) -> str:
    """The `slo_window` value for a window length."""
    return common.format_duration(seconds)


# --- windows -----------------------------------------------------------------------------------


def window_seconds(spec: slo.ServiceLevelObjectiveSpec) -> int:
    """The SLO window in seconds: the rolling window, or the calendar period's nominal length."""
    if spec.window is not None:
        return int(common.parse_duration_seconds(spec.window))
    assert spec.calendar is not None  # the model guarantees window xor calendar
    return CALENDAR_NOMINAL_SECONDS[spec.calendar.period]


@dataclasses.dataclass(frozen=True)
class FullWindow:
    """How the SLI over a rolling SLO's whole window is recorded."""

    label: str
    """The `slo_window` value of its ratio and sums, e.g. `30d`."""
    seconds: int
    """Its length."""
    tiled: bool
    """Summed from hourly tiles: the window ends at the last hour boundary (see `window_end`)."""


def full_window(spec: slo.ServiceLevelObjectiveSpec) -> FullWindow | None:
    """The recorded full window of a rolling SLO; None for calendar SLOs (see
    `calendar_window_query`: their start is only known at query time)."""
    if spec.window is None:
        return None
    seconds = window_seconds(spec)
    tiled = seconds >= TILED_WINDOW_MIN_SECONDS and seconds % TILE_SECONDS == 0
    return FullWindow(label=window_label(seconds), seconds=seconds, tiled=tiled)


def needs_tiles(spec: slo.ServiceLevelObjectiveSpec) -> bool:
    """Whether hourly tiles are recorded: for tiled rolling windows and every calendar window."""
    window = full_window(spec)
    return spec.calendar is not None or (window is not None and window.tiled)


def window_end(window: FullWindow, evaluated_at: datetime.datetime) -> datetime.datetime:
    """The end of the data a full-window series covers when it was evaluated at `evaluated_at`.

    Tiled windows end at the last hour boundary (the tiles are read there, each recorded at the
    group's last evaluation at or before it); others end at the evaluation.
    """
    if not window.tiled:
        return evaluated_at
    epoch = evaluated_at.timestamp()
    return datetime.datetime.fromtimestamp(
        epoch - epoch % TILE_SECONDS, tz=evaluated_at.tzinfo or datetime.UTC
    )


def selector(metric: str, labels: dict[str, str]) -> str:
    """`metric{name="value",...}` with every value escaped; label order as given."""
    inner = ",".join(
        f"{name}={common.quote_promql_string(value)}" for name, value in labels.items()
    )
    return f"{metric}{{{inner}}}" if inner else metric


def error_ratio_query(window: str) -> str:
    """One query for the error ratio over `window` of every SLO that records it."""
    return selector(ERROR_RATIO, {LABEL_WINDOW: window})


@dataclasses.dataclass(frozen=True)
class TileSteps:
    """The hour boundaries at which a tiled window reads its tiles, fixed with `@`.

    A subquery `(x)[span:1h] @ anchor` evaluates `x` at the `steps` hour boundaries ending at
    `anchor`. Zones whose offset is not whole hours read the series `shift` seconds earlier than
    the (epoch-aligned) steps, with an inner `offset`.
    """

    span: str
    """Any range in ((steps-1)h, steps*h) picks exactly `steps` steps ending at the anchor, with
    closed (Prometheus 2) and left-open (Prometheus 3) ranges alike."""
    anchor: int
    """The last step, in Unix seconds (the window end plus `shift`)."""
    shift: int
    steps: int

    @property
    def offset(self) -> str:
        """The inner offset that moves a read from the steps back to the tile boundaries."""
        return f" offset {common.format_duration(self.shift)}" if self.shift else ""

    def over(self, inner: str) -> str:
        """`inner` (a selector, or parenthesized) evaluated at every step: the argument of a
        `*_over_time` function."""
        return f"{inner}[{self.span}:1h] @ {self.anchor}"

    def last(self, steps: int) -> TileSteps:
        """The last `steps` of these steps (at least one)."""
        steps = max(1, min(steps, self.steps))
        span = common.format_duration(steps * TILE_SECONDS - TILE_SECONDS // 2)
        return dataclasses.replace(self, span=span, steps=steps)


def tile_steps(end: datetime.datetime, tiles: int) -> TileSteps:
    """The steps of `tiles` hourly tiles ending at `end` (a tile boundary)."""
    end_epoch = round(end.timestamp())
    shift = -end_epoch % TILE_SECONDS
    span = common.format_duration(tiles * TILE_SECONDS - TILE_SECONDS // 2)
    return TileSteps(span=span, anchor=end_epoch + shift, shift=shift, steps=tiles)


def rolling_tile_steps(window: FullWindow, evaluated_at: datetime.datetime) -> TileSteps:
    """The steps of a tiled rolling window read at `evaluated_at`: the tiles its recorded sums
    hold (`window_end`)."""
    return tile_steps(window_end(window, evaluated_at), window.seconds // TILE_SECONDS)


@dataclasses.dataclass(frozen=True)
class CalendarQuery:
    """PromQL for a calendar SLO's bad or total sum since the period start, and what it covers."""

    query: str
    """Returns one series per SLO (and group, and threshold) of the calendar."""
    window_start: datetime.datetime
    """The period start."""
    window_end: datetime.datetime
    """The end of the last whole hour tile since the period start."""
    tiles: int
    """Number of hourly tiles summed."""
    steps: TileSteps
    """Where the tiles are read."""


def calendar_tile_steps(
    period_start: datetime.datetime, evaluated_at: datetime.datetime
) -> TileSteps | None:
    """The whole hour tiles between `period_start` and `evaluated_at`; None in the period's
    first hour, when no tile is complete."""
    elapsed = (evaluated_at - period_start).total_seconds()
    tiles = math.floor(elapsed / TILE_SECONDS)
    if tiles < 1:
        return None
    return tile_steps(period_start + datetime.timedelta(seconds=tiles * TILE_SECONDS), tiles)


def calendar_window_query(
    metric: str,
    calendar: slo.Calendar,
    period_start: datetime.datetime,
    evaluated_at: datetime.datetime,
) -> CalendarQuery | None:
    """Sum the hourly tiles (`BAD_TILE` or `TOTAL_TILE`) of every SLO of one calendar.

    The tiles between `period_start` and the last whole hour since it are summed with a subquery
    at a 1h step anchored with `@` at the tile boundary, so the result does not depend on when
    the query runs. Zones whose offset is not whole hours (Asia/Kolkata) shift the read with an
    inner `offset`. Returns None in the period's first hour, when no tile is complete.
    """
    if metric not in (BAD_TILE, TOTAL_TILE):
        raise ValueError(f"calendar windows are summed from {BAD_TILE} or {TOTAL_TILE}")
    steps = calendar_tile_steps(period_start, evaluated_at)
    if steps is None:
        return None
    series = selector(metric, {LABEL_CALENDAR: calendar_label(calendar)})
    inner = f"({series}{steps.offset})" if steps.shift else series
    query = f"sum_over_time({steps.over(inner)})"
    end = period_start + datetime.timedelta(seconds=steps.steps * TILE_SECONDS)
    return CalendarQuery(
        query=query, window_start=period_start, window_end=end, tiles=steps.steps, steps=steps
    )
