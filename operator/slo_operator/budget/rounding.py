"""How numbers are rounded before they are written into status.

Status is patched only when a rounded value changes, so the precision decides both what a reader
sees and how often an object is written. Every rounding goes *down* (towards the worse outcome):
an SLI of 99.8996% shows as 99.899, never as 99.9 next to `met: false` for a 99.9% target, and a
budget never looks larger than it is. `met` is decided on the unrounded numbers.

| Field | Precision |
|---|---|
| `sli` | 3 decimals of a percent (0.001 pp) |
| `errorBudgetRemainingPercent` | 1 decimal |
| `burnRates` | 2 decimals |
| `errorBudgetRemaining` | whole events or whole minutes |
"""

from __future__ import annotations

import math

SLI_DECIMALS = 3
BUDGET_PERCENT_DECIMALS = 1
BURN_RATE_DECIMALS = 2

_GUARD_DIGITS = 6
"""Float noise below this many extra digits is not allowed to push a value down a step
(99.412 stored as 99.41199999999 still shows as 99.412)."""


def floor_to(value: float, decimals: int) -> float:
    """`value` rounded down to `decimals` decimals, robust to float representation noise."""
    scale = 10**decimals
    scaled = round(value * scale, _GUARD_DIGITS)
    return float(round(math.floor(scaled) / scale, decimals))


def sli(percent: float) -> float:
    return floor_to(percent, SLI_DECIMALS)


def budget_percent(percent: float) -> float:
    return floor_to(percent, BUDGET_PERCENT_DECIMALS)


def burn_rate(rate: float) -> float:
    """Burn rates are not a budget: rounded down too, so a 1.004x burn never reads 1.01."""
    return floor_to(rate, BURN_RATE_DECIMALS)


def budget_amount(amount: float, unit: str) -> str:
    """`1234 events`, `-17 minutes`: whole units, rounded down."""
    return f"{math.floor(round(amount, _GUARD_DIGITS))} {unit}"
