"""Inline SVG charts: no script and no style attribute (the pages' CSP forbids inline styles),
colours from CSS classes so the light and dark themes and print all apply. Pure.
"""

from __future__ import annotations

import dataclasses
import datetime
import html
import math
from collections.abc import Sequence

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28
X_TICKS = 6
Y_TICKS = 5
SERIES_CLASSES = 6
"""Colours `series-0` .. `series-5` in ui.css; more lines reuse them."""


@dataclasses.dataclass(frozen=True)
class Line:
    """One curve: (Unix seconds, value) points; NaN breaks the line."""

    label: str
    times: Sequence[float]
    values: Sequence[float]


def _time_label(moment: float, span: float) -> str:
    when = datetime.datetime.fromtimestamp(moment, datetime.UTC)
    return when.strftime("%m-%d %H:%M" if span <= 3 * 86400 else "%m-%d")


def _number_label(value: float) -> str:
    return f"{value:.6g}"


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering `low`..`high`."""
    if high <= low:
        low, high = low - 1.0, high + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(first + step * len(ticks))
    return [round(t, 12) for t in ticks]


def _scale(low: float, high: float, size: float, value: float, invert: bool) -> float:
    fraction = 0.5 if high == low else (value - low) / (high - low)
    return (1.0 - fraction) * size if invert else fraction * size


@dataclasses.dataclass(frozen=True)
class _Plot:
    """The plot area's scales: Unix seconds across, values up."""

    start: float
    end: float
    low: float
    high: float

    def x(self, moment: float) -> float:
        return LEFT + _scale(self.start, self.end, WIDTH - LEFT - RIGHT, moment, invert=False)

    def y(self, value: float) -> float:
        return TOP + _scale(self.low, self.high, HEIGHT - TOP - BOTTOM, value, invert=True)


def _value_ticks(lines: Sequence[Line], reference: float | None, y_from_zero: bool) -> list[float]:
    """Round ticks covering every drawn value, the reference, and zero if asked."""
    values = [v for line in lines for v in line.values if not math.isnan(v)]
    if reference is not None:
        values.append(reference)
    if y_from_zero:
        values.append(0.0)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    return nice_ticks(low, high, Y_TICKS)


def _value_axis(plot: _Plot, ticks: Sequence[float], unit: str) -> list[str]:
    parts = []
    for value in ticks:
        ty = plot.y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="tick" x="{LEFT - 4}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{html.escape(_number_label(value))}{html.escape(unit)}</text>"
        )
    return parts


def _time_axis(plot: _Plot) -> list[str]:
    span = max(plot.end - plot.start, 1.0)
    parts = []
    for k in range(X_TICKS + 1):
        moment = plot.start + span * k / X_TICKS
        tx = plot.x(moment)
        anchor = "start" if k == 0 else "end" if k == X_TICKS else "middle"
        parts.append(
            f'<text class="tick" x="{tx:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{_time_label(moment, span)}</text>"
        )
    return parts


def _reference_line(plot: _Plot, reference: float, label: str) -> str:
    ry = plot.y(reference)
    return (
        f'<line class="reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
        f'y1="{ry:.1f}" y2="{ry:.1f}"><title>{html.escape(label)}</title></line>'
    )


def _line_path(plot: _Plot, index: int, line: Line) -> str:
    """One series as a path; a NaN lifts the pen, so a gap in the data is a gap in the line."""
    commands = []
    pen_up = True
    drawn = 0
    for moment, value in zip(line.times, line.values, strict=True):
        if math.isnan(value):
            pen_up = True
            continue
        commands.append(f"{'M' if pen_up else 'L'}{plot.x(moment):.1f},{plot.y(value):.1f}")
        pen_up = False
        drawn += 1
    return (
        f'<path class="line series-{index % SERIES_CLASSES}" d="{" ".join(commands)}" '
        f'data-points="{drawn}"><title>{html.escape(line.label)}</title></path>'
    )


def _legend(lines: Sequence[Line], reference: float | None, reference_label: str) -> str:
    legend = "".join(
        f'<li><span class="swatch series-{index % SERIES_CLASSES}"></span>'
        f"{html.escape(line.label)}</li>"
        for index, line in enumerate(lines)
    )
    if reference is not None and reference_label:
        legend += f'<li><span class="swatch reference"></span>{html.escape(reference_label)}</li>'
    return f'<ul class="legend">{legend}</ul>'


def line_chart(
    title: str,
    lines: Sequence[Line],
    *,
    start: float,
    end: float,
    unit: str,
    reference: float | None = None,
    reference_label: str = "",
    y_from_zero: bool = False,
) -> str:
    """A line chart of `lines` from `start` to `end` (Unix seconds), with a dashed reference."""
    ticks = _value_ticks(lines, reference, y_from_zero)
    plot = _Plot(start, end, ticks[0], ticks[-1])
    label = html.escape(title)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" '
        f'data-lines="{len(lines)}">',
        f"<title>{label}</title>",
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" '
        f'height="{HEIGHT - TOP - BOTTOM}"/>',
        *_value_axis(plot, ticks, unit),
        *_time_axis(plot),
    ]
    if reference is not None:
        parts.append(_reference_line(plot, reference, reference_label))
    parts.extend(_line_path(plot, index, line) for index, line in enumerate(lines))
    parts.append("</svg>")
    legend = _legend(lines, reference, reference_label)
    return f'<figure class="chart-box">{"".join(parts)}{legend}</figure>'


def budget_bar(remaining_percent: float | None, label: str) -> str:
    """A 0-100% bar of the budget left: empty and red once overspent, grey when unmeasured."""
    if remaining_percent is None:
        level, width = "unknown", 0.0
    else:
        width = max(0.0, min(100.0, remaining_percent))
        level = "bad" if remaining_percent <= 0 else "warn" if remaining_percent < 25 else "good"
    return (
        f'<svg class="bar {level}" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" '
        f'aria-label="{html.escape(label)}"><rect class="track" width="100" height="8"/>'
        f'<rect class="fill" width="{width:.1f}" height="8"/></svg>'
    )


@dataclasses.dataclass(frozen=True)
class Span:
    """A stretch of a timeline (a maintenance window) in Unix seconds."""

    start: float
    end: float
    label: str


def timeline(start: float, end: float, now: float | None, spans: Sequence[Span]) -> str:
    """The period from `start` to `end` with its maintenance windows, and where now is."""
    plot_w = WIDTH - 2 * 16
    height = 64

    def x(moment: float) -> float:
        return 16 + _scale(start, end, plot_w, min(max(moment, start), end), invert=False)

    parts = [
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="Period timeline with {len(spans)} maintenance window(s)" '
        f'data-spans="{len(spans)}">',
        f'<rect class="period" x="16" y="12" width="{plot_w}" height="20"/>',
    ]
    for span in spans:
        left, right = x(span.start), x(span.end)
        parts.append(
            f'<rect class="excluded" x="{left:.1f}" y="12" width="{max(right - left, 1.5):.1f}" '
            f'height="20"><title>{html.escape(span.label)}</title></rect>'
        )
    if now is not None and start <= now <= end:
        parts.append(
            f'<line class="now" x1="{x(now):.1f}" x2="{x(now):.1f}" y1="6" y2="38">'
            "<title>now</title></line>"
        )
    for k in range(X_TICKS + 1):
        moment = start + (end - start) * k / X_TICKS
        anchor = "start" if k == 0 else "end" if k == X_TICKS else "middle"
        parts.append(
            f'<text class="tick" x="{x(moment):.1f}" y="54" text-anchor="{anchor}">'
            f"{_time_label(moment, end - start)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
