"""From measured bad and total counts to an objective's SLI, budget and burn rates.

Pure arithmetic on numbers the evaluation loop measured; nothing here knows where they came from.
The units of `bad` and `total` follow `rules.series`: events for Occurrences, slices for
Timeslices, and (sum of slice error ratios, number of slices) for RatioTimeslices. In every case
`bad / total` is the error ratio, so one set of formulas serves all three methods.
"""

from __future__ import annotations

import dataclasses
import enum
import math

from ..api import status as status_api
from . import rounding


class BudgetUnit(enum.StrEnum):
    """What `errorBudgetRemaining` counts."""

    EVENTS = "events"
    """Occurrences: events that may still fail."""
    MINUTES = "minutes"
    """Timeslice methods: bad slices that may still occur, times the slice length."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Bad and total over a window, as recorded (see the module docstring for units)."""

    bad: float
    total: float

    @property
    def has_data(self) -> bool:
        """Whether the window held any event (or slice with events) at all."""
        return self.total > 0 and math.isfinite(self.total) and math.isfinite(self.bad)

    @property
    def error_ratio(self) -> float:
        return self.bad / self.total

    def __add__(self, other: Measurement) -> Measurement:
        return Measurement(self.bad + other.bad, self.total + other.total)


@dataclasses.dataclass(frozen=True)
class ObjectiveNumbers:
    """Unrounded numbers of one objective over one window."""

    name: str
    target: float
    """Target percent."""
    sli: float
    """Percent of good events (or slices)."""
    met: bool
    error_budget_remaining_percent: float
    """Percent of the budget left; negative when overspent."""
    error_budget_remaining: float
    """Budget left in `unit`; negative when overspent."""
    unit: BudgetUnit

    @property
    def consumed_percent(self) -> float:
        """Percent of the budget spent, what policy steps are measured against."""
        return 100.0 - self.error_budget_remaining_percent

    def status(self) -> status_api.ObjectiveStatus:
        """The objective's status entry, rounded as `rounding` documents."""
        return status_api.ObjectiveStatus(
            name=self.name,
            target=self.target,
            sli=rounding.sli(self.sli),
            met=self.met,
            error_budget_remaining_percent=rounding.budget_percent(
                self.error_budget_remaining_percent
            ),
            error_budget_remaining=rounding.budget_amount(self.error_budget_remaining, self.unit),
        )


MET_TOLERANCE = 1e-9
"""An SLI equal to the target (up to float noise) meets it."""


def allowed_error_ratio(target: float) -> float:
    """The share of events (or slices) the budget allows to be bad: 0.01 for 99%."""
    if not 0 < target < 100:
        raise ValueError(f"target must be strictly between 0 and 100, got {target}")
    return (100.0 - target) / 100.0


def objective_numbers(
    name: str,
    target: float,
    measurement: Measurement,
    *,
    slice_minutes: float | None = None,
) -> ObjectiveNumbers | None:
    """SLI, met and remaining budget; None when the window held no events (never zeros).

    `slice_minutes` is the slice length for the timeslice methods: the remaining budget is then
    a number of minutes instead of events.
    """
    if not measurement.has_data:
        return None
    error_ratio = measurement.error_ratio
    allowed_ratio = allowed_error_ratio(target)
    allowed = allowed_ratio * measurement.total
    remaining = allowed - measurement.bad
    unit = BudgetUnit.EVENTS
    if slice_minutes is not None:
        remaining *= slice_minutes
        unit = BudgetUnit.MINUTES
    sli = 100.0 * (1.0 - error_ratio)
    return ObjectiveNumbers(
        name=name,
        target=target,
        sli=sli,
        met=sli >= target - MET_TOLERANCE,
        error_budget_remaining_percent=100.0 * (1.0 - error_ratio / allowed_ratio),
        error_budget_remaining=remaining,
        unit=unit,
    )


def burn_rate(error_ratio: float, target: float) -> float:
    """How many times faster than sustainable the budget burns: 1 spends it exactly in a window."""
    return error_ratio / allowed_error_ratio(target)
