"""Multiwindow, multi-burn-rate alert windows and factors, derived from the SLO's own window.

The SRE workbook's scheme for a 30-day SLO: page when 2% of the budget burns in 1h (checked
against 5m so the alert resets quickly) or 5% in 6h (30m); ticket when 10% burns in 1d (2h) or
in 3d (6h). A burn-rate factor is `fraction consumed x W / long window`.

- Windows of 30 days or more keep the workbook's windows and fractions, so the factor grows with
  W: a year's budget tolerates a faster burn for an hour than a month's.
- Shorter windows shrink the alert windows in proportion (rounded up to a ladder of standard
  windows, at least 10m long and 5m short) and keep the workbook's burn rates, so a 1d SLO pages
  at 14.4x over 10m, not on a 0.48x burn that a naive fraction would give.
- No factor is at or below `MIN_FACTOR`: at 1x a service that spends exactly its budget sits on
  the threshold, and normal noise would open tickets. Slower burns are the error budget
  policy's business (`whenConsumedPercent`). This raises the workbook's 3d ticket from 1x to
  1.5x (15% of a 30d budget in 3d).
- No alert may need more than `MAX_FRACTION` of the budget before it fires, and no window is
  longer than W; windows are capped and factors lowered (never below `MIN_FACTOR`) to fit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Literal

from ..api import common

DAY = 86400
HOUR = 3600
MINUTE = 60

REFERENCE_WINDOW_SECONDS = 30 * DAY
"""The window the SRE workbook's table is written for."""

MIN_FACTOR = 1.5
"""The lowest burn rate any alert fires at."""
MAX_FRACTION = 0.5
"""The largest share of the budget an alert may let burn before it fires."""
MIN_LONG_SECONDS = 10 * MINUTE
"""Shortest long window: shorter ones see too few events to tell a burn from noise."""
MIN_SHORT_SECONDS = 5 * MINUTE
"""Shortest short window, as in the workbook: five one-minute counts."""
SHORT_TO_LONG = 12
"""A short window is 1/12 of its long window, as in the workbook."""

LADDER_SECONDS = (
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
)
"""Windows are picked from this ladder, so SLOs share windows and the evaluator's query count
grows with the few distinct windows, not with the SLOs."""

Severity = Literal["page", "ticket"]
SEVERITIES: tuple[Severity, ...] = ("page", "ticket")


@dataclasses.dataclass(frozen=True)
class Reference:
    """One row of the SRE workbook's table for a 30d window."""

    severity: Severity
    long_seconds: int
    short_seconds: int
    fraction: float


REFERENCES = (
    Reference("page", HOUR, 5 * MINUTE, 0.02),
    Reference("page", 6 * HOUR, 30 * MINUTE, 0.05),
    Reference("ticket", DAY, 2 * HOUR, 0.10),
    Reference("ticket", 3 * DAY, 6 * HOUR, 0.10),
)

FOR_SECONDS: dict[Severity, int] = {"page": 2 * MINUTE, "ticket": 10 * MINUTE}
"""`for` of each alert, so a single evaluation's blip (e.g. after a restart) does not notify;
capped at a fifth of the alert's shortest long window."""


@dataclasses.dataclass(frozen=True)
class BurnCondition:
    """Fire when both windows burn faster than `factor` times the budget rate."""

    long_seconds: int
    short_seconds: int
    factor: float
    budget_fraction: float
    """Share of the window's budget that burns in `long_seconds` at exactly `factor`."""

    @property
    def long_label(self) -> str:
        return common.format_duration(self.long_seconds)

    @property
    def short_label(self) -> str:
        return common.format_duration(self.short_seconds)


@dataclasses.dataclass(frozen=True)
class BurnAlert:
    """One alert (page or ticket): any of its conditions fires it."""

    severity: Severity
    conditions: tuple[BurnCondition, ...]
    for_seconds: int


def _ladder_at_least(seconds: float, ceiling: int) -> int:
    """The smallest ladder window >= seconds, but never above `ceiling`."""
    for candidate in LADDER_SECONDS:
        if candidate >= seconds:
            return min(candidate, ceiling)
    return min(LADDER_SECONDS[-1], ceiling)


def _round_factor(factor: float) -> float:
    """Three significant digits: factors are read by people in alert descriptions."""
    digits = 2 - math.floor(math.log10(abs(factor)))
    return round(factor, max(digits, 0))


def _condition(reference: Reference, window: int) -> BurnCondition:
    scale = min(1.0, window / REFERENCE_WINDOW_SECONDS)
    long_cap = max(MIN_LONG_SECONDS, window // 3)
    long_seconds = _ladder_at_least(max(reference.long_seconds * scale, MIN_LONG_SECONDS), long_cap)
    short_seconds = _ladder_at_least(
        max(long_seconds / SHORT_TO_LONG, MIN_SHORT_SECONDS), long_seconds
    )
    if short_seconds >= long_seconds:
        short_seconds = MIN_SHORT_SECONDS
    factor = reference.fraction * max(window, REFERENCE_WINDOW_SECONDS) / reference.long_seconds
    factor = max(factor, MIN_FACTOR)
    factor = min(factor, MAX_FRACTION * window / long_seconds)
    factor = _round_factor(factor)
    if factor <= 1:  # pragma: no cover - the caps above keep it >= MIN_FACTOR
        raise AssertionError(
            f"burn factor {factor} for a {window}s window would fire on normal load"
        )
    return BurnCondition(
        long_seconds=long_seconds,
        short_seconds=short_seconds,
        factor=factor,
        budget_fraction=factor * long_seconds / window,
    )


# Cached (the result is immutable): every SLO of the same window has the same alerts.
@functools.lru_cache(maxsize=1024)
def burn_rate_alerts(window_seconds: int) -> tuple[BurnAlert, ...]:
    """The page and ticket alerts for an SLO window of `window_seconds` (>= 1h)."""
    if window_seconds < HOUR:
        raise ValueError(f"an SLO window must be at least 1h, got {window_seconds}s")
    alerts = []
    for severity in SEVERITIES:
        by_windows: dict[tuple[int, int], BurnCondition] = {}
        for reference in REFERENCES:
            if reference.severity != severity:
                continue
            condition = _condition(reference, window_seconds)
            key = (condition.long_seconds, condition.short_seconds)
            # Two rows that land on the same windows: the lower factor fires first anyway.
            if key not in by_windows or condition.factor < by_windows[key].factor:
                by_windows[key] = condition
        conditions = tuple(sorted(by_windows.values(), key=lambda c: c.long_seconds))
        shortest_long = min(c.long_seconds for c in conditions)
        for_seconds = max(MINUTE, min(FOR_SECONDS[severity], shortest_long // 5) // MINUTE * MINUTE)
        alerts.append(BurnAlert(severity=severity, conditions=conditions, for_seconds=for_seconds))
    return tuple(alerts)
