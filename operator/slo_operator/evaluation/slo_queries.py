"""An SLO's queries at one evaluation time: what the evaluation loop asks the backend.

Every query reads the recorded series of `rules.series` (never the raw data), so SLOs with the
same window or calendar share their queries; the loop sends each distinct query once per cycle.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Mapping, Sequence

from ..api import common, slo
from ..backends import client
from ..budget import periods
from ..rules import recording, series

SUM_LABEL = "slo_sum"
"""Set by the sums query on each series: `bad` or `total`."""


COVERAGE_STEPS = 720
"""Resolution of the coverage probe: a window is probed at 720 steps (1h for 30 days, 2m for a
day). Each step costs a lookup per series, so the probe is only sent for young SLOs whose start
is not known yet, at most `slo_evaluator.COVERAGE_BATCH` of them per window and cycle, and the
answer is kept: where a series starts does not change."""


@dataclasses.dataclass(frozen=True)
class Plan:
    """The queries one SLO needs at one evaluation time, and the window they cover."""

    at: datetime.datetime
    ratio_queries: Mapping[str, client.Query]
    """Alert window label -> the error-ratio query of that window."""
    sums: client.Query | None
    """Rolling windows: bad and total over the full window, in one query."""
    calendar_bad: client.Query | None
    calendar_total: client.Query | None
    presence: client.Query | None
    """Rolling windows: answers for the SLOs whose recorded sums reach back a whole window."""
    window_start: datetime.datetime | None
    window_seconds: int
    coverage: client.Query | None = None
    """Rolling windows with young SLOs of unknown start: per SLO, the first `coverage_step` at
    which its full-window sum was recorded (`coverage_query`)."""
    coverage_step: int = 0
    coverage_key: str = ""
    """The window (`30d`) or calendar (`Month/Europe/Berlin`) young SLOs are tracked under."""
    window_name: str = ""
    """For messages: `30d window`, `Month period in Europe/Berlin`."""
    coverage_precision: int = 0
    """How much earlier than reported the covered data may start: one coverage step, plus one
    tile for tiled windows (their sum first appears at the first hour boundary after the rules
    started)."""
    tiles: series.TileSteps | None = None
    """Tiled windows: the hour boundaries their sums read tiles at."""
    tile_check: client.Query | None = None
    """Tiled windows: per SLO, how many tiles were read and the first (`tile_check_query`)."""
    tile_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Labels selecting the tiles of this window's SLOs (their calendar, or none)."""
    tile_check_names: frozenset[str] | None = None
    """The SLOs `tile_check` asks about; None: all of the window's."""

    def checks_tiles_of(self, name: str) -> bool:
        """Whether this plan's tile check answers for the SLO `name`."""
        if self.tile_check is None:
            return False
        return self.tile_check_names is None or name in self.tile_check_names

    def checking(self, names: Sequence[str]) -> Plan:
        """The same plan with its tile check narrowed to `names`."""
        if self.tiles is None or self.tile_check is None:
            return self
        query = client.Query(tile_check_query(self.tile_labels, self.tiles, names), self.at)
        return dataclasses.replace(self, tile_check=query, tile_check_names=frozenset(names))

    @property
    def queries(self) -> tuple[client.Query, ...]:
        optional = (
            self.sums,
            self.calendar_bad,
            self.calendar_total,
            self.presence,
            self.coverage,
            self.tile_check,
        )
        return (*self.ratio_queries.values(), *(q for q in optional if q is not None))


def coverage_step(window_seconds: int) -> int:
    """Step of the coverage subquery: the window / 720, in whole minutes."""
    return max(60, window_seconds // COVERAGE_STEPS // 60 * 60)


def presence_query(window_label: str) -> str:
    """The SLOs of this window whose full-window total was recorded one window ago: their series
    cover the whole window. One lookup per series."""
    recorded = series.selector(series.TOTAL_SUM, {series.LABEL_WINDOW: window_label})
    return (
        f"group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
        f"({recorded} offset {window_label})"
    )


def coverage_query(window_label: str, window_seconds: int, names: Sequence[str]) -> str:
    """For the SLOs named (any namespace; the answer is matched by namespace too): the first
    step inside the window at which each one's full-window total was recorded."""
    step = common.format_duration(coverage_step(window_seconds))
    recorded = _named(series.TOTAL_SUM, {series.LABEL_WINDOW: window_label}, names)
    return (
        f"min_over_time(timestamp(group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
        f"({recorded}))[{window_label}:{step}])"
    )


def _pattern(names: Sequence[str]) -> str:
    """A regex matching exactly these SLO names."""
    return "|".join(re.escape(name) for name in sorted(set(names)))


def _named(metric: str, labels: Mapping[str, str], names: Sequence[str]) -> str:
    pattern = _pattern(names)
    matchers = [f"{key}={common.quote_promql_string(value)}" for key, value in labels.items()]
    matchers.append(f"{series.LABEL_SLO}=~{common.quote_promql_string(pattern)}")
    return f"{metric}{{{','.join(matchers)}}}"


def calendar_presence_query(calendar_label: str, period_start: datetime.datetime) -> str:
    """The SLOs of this calendar whose hourly tiles were recorded an hour into the period (the
    first tile's end): their tiles cover the period. One lookup per series."""
    tiles = series.selector(series.TOTAL_TILE, {series.LABEL_CALENDAR: calendar_label})
    first_tile = round(period_start.timestamp()) + series.TILE_SECONDS
    return f"group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) ({tiles} @ {first_tile})"


def calendar_coverage_query(
    calendar_label: str,
    period_start: datetime.datetime,
    at: datetime.datetime,
    names: Sequence[str],
) -> tuple[str, int]:
    """For the SLOs named: the first step since the period start at which each one's tiles were
    recorded; and the step."""
    elapsed = int((at - period_start).total_seconds())
    step = coverage_step(elapsed)
    tiles = _named(series.TOTAL_TILE, {series.LABEL_CALENDAR: calendar_label}, names)
    query = (
        f"min_over_time(timestamp(group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
        f"({tiles}))[{common.format_duration(elapsed)}:{common.format_duration(step)}] "
        f"@ {round(at.timestamp())})"
    )
    return query, step


TILES_LABEL = "slo_tiles"
"""Set by the tile check on each series: `read` (how many tiles) or `first` (the first's step)."""
HOUR_RANGE = "59m59s999ms"
"""The level-1 points of the hour ending at a boundary: (h - 1h, h] on every engine."""


def _tiles_present(labels: Mapping[str, str], steps: series.TileSteps, names: str = "") -> str:
    """1 per SLO at every step where its total tile was recorded (within the lookback)."""
    matchers = _matchers(labels, names)
    return (
        f"(group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
        f"({series.TOTAL_TILE}{{{matchers}}}{steps.offset}))"
    )


def _matchers(labels: Mapping[str, str], names: str = "", metric_regex: str = "") -> str:
    found = [f"__name__=~{common.quote_promql_string(metric_regex)}"] if metric_regex else []
    found += [f"{key}={common.quote_promql_string(value)}" for key, value in labels.items()]
    if names:
        found.append(f"{series.LABEL_SLO}=~{common.quote_promql_string(names)}")
    return ",".join(found)


def tile_check_query(
    labels: Mapping[str, str], steps: series.TileSteps, names: Sequence[str] = ()
) -> str:
    """Per SLO whose tiles carry `labels`: how many of the window's tiles were read (`read`)
    and the step of the first one (`first`); only the SLOs named, if any. Two lookups per step
    and SLO.

    A tile is read at each hour boundary from the rule group's last evaluation within the
    lookback; when the evaluator (Prometheus) was down over a boundary, that step finds none,
    and the hour before it is in no tile (docs/reliability.md)."""
    present = _tiles_present(labels, steps, _pattern(names) if names else "")
    read = f"count_over_time({steps.over(present)})"
    first = f"min_over_time({steps.over(f'timestamp({present})')})"
    return (
        f'label_replace({read}, "{TILES_LABEL}", "read", "", "")'
        f' or label_replace({first}, "{TILES_LABEL}", "first", "", "")'
    )


def tiles_expected(
    samples: Sequence[client.Sample], steps: series.TileSteps, whole_window: bool
) -> tuple[int, int]:
    """(tiles read, tiles expected) of one SLO from its `tile_check_query` samples: every step
    when its series reach back a whole window, otherwise the steps since its first tile; (0, 0)
    without any tile (no data: nothing to repair)."""
    read = first = None
    for sample in samples:
        if sample.labels.get(TILES_LABEL) == "read":
            read = sample.value
        elif sample.labels.get(TILES_LABEL) == "first":
            first = sample.value
    if read is None or first is None or math.isnan(read) or math.isnan(first):
        return 0, 0
    if whole_window:
        return round(read), steps.steps
    since_first = round((steps.anchor - first) / series.TILE_SECONDS) + 1
    return round(read), max(0, min(since_first, steps.steps))


def tile_repair_query(
    labels: Mapping[str, str],
    steps: series.TileSteps,
    names: Sequence[str],
    slice_duration: str | None,
    keep: str,
) -> str:
    """For the SLOs named: bad and total (told apart by `slo_sum`) of the hours whose tile was
    not read at `steps`, summed from the points the tiles are made of. For young SLOs, `steps`
    start at their first tile: the hours before hold no tile of theirs by design.

    Occurrences: the level-1 points of the hour ending at the missing boundary, `(h - 1h, h]`,
    exactly the points neither neighbouring tile holds. Timeslice methods: the slices starting
    in `[h - 1h, h)`, as a tile recorded in the minute before `h` holds them. An hour without
    points (Prometheus down all of it) adds nothing: it stays missing.
    """
    pattern = _pattern(names)
    hole = _tiles_present(labels, steps, pattern)
    named = _matchers({}, pattern)
    if slice_duration is None:
        total = _matchers({}, pattern, "|".join(series.LEVEL1_TOTAL_NAMES))
        bad = _matchers({}, pattern, "|".join(series.LEVEL1_BAD_NAMES))
        hour_total = f"sum_over_time({{{total}}}[{HOUR_RANGE}]{steps.offset})"
        hour_bad = f"sum_over_time({{{bad}}}[{HOUR_RANGE}]{steps.offset})"
    else:
        slices = f"{series.SLICE_ERROR}{{{named}}}[1h:{slice_duration}]"
        # 1ms earlier: the steps h - 1h ... h - d, as the tile recorded just before h has them.
        earlier = common.format_duration(steps.shift + 0.001)
        hour_total = f"count_over_time({slices} offset {earlier})"
        hour_bad = f"sum_over_time({slices} offset {earlier})"
    on = f"on ({series.LABEL_NAMESPACE}, {series.LABEL_SLO})"

    def missing_hours(hour: str) -> str:
        return f"sum_over_time({steps.over(f'({hour} unless {on} {hole})')})"

    return (
        _tagged(missing_hours(hour_bad), keep, "bad")
        + " or "
        + _tagged(missing_hours(hour_total), keep, "total")
    )


_IDENTITY = (series.LABEL_NAMESPACE, series.LABEL_SLO, series.LABEL_THRESHOLD)


def keep_labels(group_labels: Sequence[str]) -> str:
    return ", ".join(dict.fromkeys([*_IDENTITY, *sorted(group_labels)]))


def _slim(promql: str, keep: str) -> str:
    """The same series with only the labels the evaluation reads (they identify each series)."""
    return f"max by ({keep}) ({promql})"


def _tagged(promql: str, keep: str, value: str) -> str:
    return f'label_replace({_slim(promql, keep)}, "{SUM_LABEL}", "{value}", "", "")'


def plan(
    spec: slo.ServiceLevelObjectiveSpec,
    at: datetime.datetime,
    keep: str | None = None,
    young: Sequence[str] = (),
) -> Plan:
    """The queries for an SLO at `at`; equal for every SLO with the same window or calendar."""
    keep = keep or keep_labels(spec.group_by)
    ratio_queries = {
        series.window_label(seconds): client.Query(
            _slim(series.error_ratio_query(series.window_label(seconds)), keep), at
        )
        for seconds in recording.alert_windows(spec)
    }
    window = series.full_window(spec)
    if window is not None:
        return _rolling_plan(window, at, keep, young, ratio_queries)
    return _calendar_plan(spec, at, keep, young, ratio_queries)


def _rolling_plan(
    window: series.FullWindow,
    at: datetime.datetime,
    keep: str,
    young: Sequence[str],
    ratio_queries: Mapping[str, client.Query],
) -> Plan:
    """A rolling window: its bad and total sums in one query, presence, coverage if young."""
    window_labels = {series.LABEL_WINDOW: window.label}
    # Bad and total in one query, told apart by a label (`max by` drops the metric name).
    sums = client.Query(
        _tagged(series.selector(series.BAD_SUM, window_labels), keep, "bad")
        + " or "
        + _tagged(series.selector(series.TOTAL_SUM, window_labels), keep, "total"),
        at,
    )
    presence = client.Query(presence_query(window.label), at)
    coverage = None
    if young:
        coverage = client.Query(coverage_query(window.label, window.seconds, young), at)
    step = coverage_step(window.seconds)
    start = series.window_end(window, at) - datetime.timedelta(seconds=window.seconds)
    precision = step + (series.TILE_SECONDS if window.tiled else 0)
    tiles = tile_check = None
    # Rolling SLOs' tiles carry no calendar (the matcher on an empty value selects them).
    tile_labels = {series.LABEL_CALENDAR: ""}
    if window.tiled:
        tiles = series.rolling_tile_steps(window, at)
        tile_check = client.Query(tile_check_query(tile_labels, tiles), at)
    return Plan(
        at,
        ratio_queries,
        sums,
        None,
        None,
        presence,
        start,
        window.seconds,
        coverage,
        step,
        window.label,
        f"{window.label} window",
        precision,
        tiles,
        tile_check,
        tile_labels,
    )


def _calendar_plan(
    spec: slo.ServiceLevelObjectiveSpec,
    at: datetime.datetime,
    keep: str,
    young: Sequence[str],
    ratio_queries: Mapping[str, client.Query],
) -> Plan:
    """A calendar period: bad and total over its tiles so far, presence, coverage if young."""
    assert spec.calendar is not None  # the model guarantees window xor calendar
    period_start, _ = periods.period_bounds(
        spec.calendar.period,
        spec.calendar.time_zone,
        at,
        slo.week_start_index(spec.calendar.week_start),
    )
    bad = series.calendar_window_query(series.BAD_TILE, spec.calendar, period_start, at)
    total = series.calendar_window_query(series.TOTAL_TILE, spec.calendar, period_start, at)
    label = series.calendar_label(spec.calendar)
    tiles_presence: client.Query | None = None
    tiles_coverage: client.Query | None = None
    tiles_step = 0
    tile_labels = {series.LABEL_CALENDAR: label}
    tile_check: client.Query | None = None
    if total is not None:
        tiles_presence = client.Query(calendar_presence_query(label, period_start), at)
        tile_check = client.Query(tile_check_query(tile_labels, total.steps), at)
        if young:
            text, tiles_step = calendar_coverage_query(label, period_start, at, young)
            tiles_coverage = client.Query(text, at)
    return Plan(
        at,
        ratio_queries,
        None,
        client.Query(_slim(bad.query, keep), at) if bad else None,
        client.Query(_slim(total.query, keep), at) if total else None,
        tiles_presence,
        period_start,
        series.window_seconds(spec),
        tiles_coverage,
        tiles_step,
        label,
        f"{spec.calendar.period.value} period in {spec.calendar.time_zone}",
        tiles_step,
        None if total is None else total.steps,
        tile_check,
        tile_labels,
    )
