"""Burn-rate windows and factors derived from the SLO window (rules/burn_rates.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slo_operator.api import common
from slo_operator.rules import burn_rates

# (window, severity) -> [(long, short, factor)], and `for`. The 30d rows are the SRE workbook's
# (page 2% in 1h / 5% in 6h, ticket 10% in 1d) except the 3d ticket, raised from 1x to 1.5x.
EXPECTED = {
    ("30d", "page"): ([("1h", "5m", 14.4), ("6h", "30m", 6.0)], "2m"),
    ("30d", "ticket"): ([("1d", "2h", 3.0), ("3d", "6h", 1.5)], "10m"),
    ("28d", "page"): ([("1h", "5m", 14.4), ("6h", "30m", 6.0)], "2m"),
    ("28d", "ticket"): ([("1d", "2h", 3.0), ("3d", "6h", 1.5)], "10m"),
    ("7d", "page"): ([("15m", "5m", 14.4), ("2h", "10m", 6.0)], "2m"),
    ("7d", "ticket"): ([("6h", "30m", 3.0), ("1d", "2h", 1.5)], "10m"),
    ("1d", "page"): ([("10m", "5m", 14.4), ("15m", "5m", 6.0)], "2m"),
    ("1d", "ticket"): ([("1h", "5m", 3.0), ("3h", "15m", 1.5)], "10m"),
    # Longer than 30d: the workbook's windows and budget fractions, so the factor grows with W.
    ("90d", "page"): ([("1h", "5m", 43.2), ("6h", "30m", 18.0)], "2m"),
    ("90d", "ticket"): ([("1d", "2h", 9.0), ("3d", "6h", 3.0)], "10m"),
    ("365d", "page"): ([("1h", "5m", 175.0), ("6h", "30m", 73.0)], "2m"),
    ("365d", "ticket"): ([("1d", "2h", 36.5), ("3d", "6h", 12.2)], "10m"),
    # The shortest window allowed: both page rows land on 10m/5m; no factor may burn more than
    # half the budget before firing, so 3x.
    ("1h", "page"): ([("10m", "5m", 3.0)], "2m"),
    ("1h", "ticket"): ([("10m", "5m", 1.5)], "2m"),
}


@pytest.mark.parametrize(("window", "severity"), sorted(EXPECTED))
def test_windows_and_factors(window: str, severity: str) -> None:
    alerts = burn_rates.burn_rate_alerts(int(common.parse_duration_seconds(window)))
    (alert,) = [a for a in alerts if a.severity == severity]
    conditions = [(c.long_label, c.short_label, c.factor) for c in alert.conditions]
    expected_conditions, expected_for = EXPECTED[(window, severity)]
    assert conditions == expected_conditions
    assert common.format_duration(alert.for_seconds) == expected_for


def test_30d_budget_fractions_are_the_workbooks() -> None:
    alerts = burn_rates.burn_rate_alerts(30 * 86400)
    fractions = [round(c.budget_fraction, 4) for a in alerts for c in a.conditions]
    assert fractions == [0.02, 0.05, 0.10, 0.15]


@given(minutes=st.integers(min_value=60, max_value=366 * 24 * 60))
def test_every_window_gets_alerts_that_never_fire_on_normal_operation(minutes: int) -> None:
    window = minutes * 60
    alerts = burn_rates.burn_rate_alerts(window)
    assert [a.severity for a in alerts] == ["page", "ticket"]
    for alert in alerts:
        assert alert.conditions
        assert 60 <= alert.for_seconds <= 600
        for condition in alert.conditions:
            assert condition.factor >= burn_rates.MIN_FACTOR > 1
            assert condition.long_seconds <= window
            assert 300 <= condition.short_seconds < condition.long_seconds
            assert condition.long_seconds in burn_rates.LADDER_SECONDS
            assert condition.short_seconds in burn_rates.LADDER_SECONDS
            # It fires before the budget is gone at exactly its own burn rate.
            assert condition.budget_fraction <= burn_rates.MAX_FRACTION


def test_windows_shorter_than_an_hour_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1h"):
        burn_rates.burn_rate_alerts(1800)
