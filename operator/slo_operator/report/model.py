"""What a report shows: the data behind its tables and charts, gathered once, rendered twice.

Plain values, no I/O: `gather` fills them from a backend, `render` draws and writes text from
them, and tests assert on them (the series a chart is drawn from) against ground truth.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

WORST_GROUPS = 5


@dataclasses.dataclass(frozen=True)
class BudgetCurve:
    """Error budget remaining over time for one objective: the data behind the burn-down chart."""

    objective: str
    target: float
    times: tuple[float, ...]
    """Unix seconds; the first is the chart start (nothing spent yet)."""
    bad: tuple[float, ...]
    """Bad events (or slices) summed from the chart start to each time."""
    total: float
    """Events (or slices) over the whole span: the budget is `(1 - target) * total` of them."""
    remaining_percent: tuple[float, ...]

    def zero_crossing(self) -> float | None:
        """The first time the budget was spent (remaining below 0), or None."""
        for moment, remaining in zip(self.times, self.remaining_percent, strict=True):
            if remaining < 0:
                return moment
        return None


@dataclasses.dataclass(frozen=True)
class BurnRateCurve:
    """Burn rate of the primary objective over one alert window, at each time."""

    window: str
    times: tuple[float, ...]
    values: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class PolicyStepReached:
    name: str
    when_consumed_percent: float
    reached_at: float | None
    """When the primary objective's curve first consumed that much, within the chart span."""


@dataclasses.dataclass(frozen=True)
class SloReport:
    namespace: str
    name: str
    service: str
    window: str
    """`7d`, or `Month in Europe/Berlin` for calendar SLOs."""
    primary_objective: str
    status: Mapping[str, Any]
    """`evaluate`'s status, as is."""
    chart_start: float | None
    chart_end: float
    budget_curves: tuple[BudgetCurve, ...]
    burn_rates: tuple[BurnRateCurve, ...]
    policy_steps: tuple[PolicyStepReached, ...]
    chart_note: str = ""
    """Why charts are missing, when they are."""

    @property
    def worst_groups(self) -> list[Mapping[str, Any]]:
        groups: list[Mapping[str, Any]] = self.status.get("groups") or []
        return groups[:WORST_GROUPS]


@dataclasses.dataclass(frozen=True)
class SlaReport:
    namespace: str
    name: str
    customer: str
    status: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class ReportData:
    at: datetime.datetime
    """The instant every status was evaluated at."""
    requested_start: datetime.datetime | None
    """`--from` or the period's start; None: each SLO's own window."""
    slos: tuple[SloReport, ...]
    slas: tuple[SlaReport, ...]
