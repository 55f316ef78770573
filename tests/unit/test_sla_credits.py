"""Service credits by the worst commitment (budget/sla_attainment.py)."""

from __future__ import annotations

import datetime

import hypothesis
import pytest
from hypothesis import strategies

from slo_operator.api import sla, status
from slo_operator.budget import intervals, sla_attainment

UTC = datetime.UTC

# The schedule of docs/api.md's example: 10% under 99.5, 25% under 99.0, 100% under 95.0.
SCHEDULE = [
    sla.Credit(below=99.5, credit_percent=10),
    sla.Credit(below=99.0, credit_percent=25),
    sla.Credit(below=95.0, credit_percent=100),
]


@pytest.mark.parametrize(
    ("attainment", "credit"),
    [
        (100.0, 0),
        (99.71, 0),
        (99.5, 0),  # at a tier's `below` is not under it
        (99.49999999999999, 0),  # exactly 99.5 with float noise
        (99.4999, 10),
        (99.49, 10),
        (99.0, 10),
        (98.99, 25),
        (95.0, 25),
        (94.99, 100),
        (50.0, 100),
        (0.0, 100),
    ],
)
def test_credit_for(attainment: float, credit: float) -> None:
    assert sla_attainment.credit_for(attainment, SCHEDULE) == credit


def test_no_schedule_owes_nothing() -> None:
    assert sla_attainment.credit_for(12.0, []) == 0


def test_the_lowest_tier_matching_wins_in_any_order() -> None:
    assert sla_attainment.credit_for(94.0, list(reversed(SCHEDULE))) == 100
    assert sla_attainment.credit_for(98.0, [SCHEDULE[1], SCHEDULE[0]]) == 25


@hypothesis.given(
    low=strategies.floats(min_value=0, max_value=100),
    high=strategies.floats(min_value=0, max_value=100),
)
def test_a_lower_attainment_never_owes_less(low: float, high: float) -> None:
    low, high = sorted((low, high))
    assert sla_attainment.credit_for(low, SCHEDULE) >= sla_attainment.credit_for(high, SCHEDULE)


@pytest.mark.parametrize(
    ("attainment", "target", "met"),
    [
        (99.5, 99.5, True),
        (99.49999999999999, 99.5, True),
        (99.89999999999999, 99.9, True),  # 13 bad of 13 000, summed in tenths
        (99.4999, 99.5, False),
        (100.0, 99.999, True),
    ],
)
def test_meets(attainment: float, target: float, met: bool) -> None:
    assert sla_attainment.meets(attainment, target) is met


def commitment(name: str, target: float, attainment: float | None) -> status.CommitmentStatus:
    return status.CommitmentStatus(name=name, target=target, attainment=attainment)


@pytest.mark.parametrize(
    ("commitments", "worst"),
    [
        ([commitment("a", 99.5, 99.7), commitment("b", 99.0, 99.2)], "b"),
        # The lowest attainment, not the largest shortfall: b misses its target by 0.1, a
        # meets its own but is under the 99.0 tier.
        ([commitment("a", 98.0, 98.9), commitment("b", 99.5, 99.4)], "a"),
        # A tie goes to the first in spec order.
        ([commitment("a", 99.5, 99.2), commitment("b", 99.0, 99.2)], "a"),
        # Commitments without events are skipped...
        ([commitment("a", 99.5, None), commitment("b", 99.0, 99.9)], "b"),
        # ...and without any, there is no worst.
        ([commitment("a", 99.5, None)], None),
        ([], None),
    ],
)
def test_worst_commitment(commitments: list[status.CommitmentStatus], worst: str | None) -> None:
    found = sla_attainment.worst_commitment(commitments)
    assert (found.name if found else None) == worst


NOVEMBER = intervals.Interval(
    datetime.datetime(2026, 11, 1, tzinfo=UTC), datetime.datetime(2026, 12, 1, tzinfo=UTC)
)


def test_period_status_applies_the_schedule_to_the_worst_commitment() -> None:
    period = sla_attainment.period_status(
        NOVEMBER,
        [commitment("checkout", 99.5, 99.71), commitment("search", 99.0, 98.7)],
        SCHEDULE,
    )
    assert period.start == NOVEMBER.start
    assert period.end == NOVEMBER.end
    assert period.attainment == 98.7
    assert period.credit_percent == 25
    assert [c.name for c in period.commitments] == ["checkout", "search"]


def test_period_without_measurements_owes_nothing_it_cannot_know() -> None:
    period = sla_attainment.period_status(NOVEMBER, [commitment("checkout", 99.5, None)], SCHEDULE)
    assert period.attainment is None
    assert period.credit_percent is None


def test_commitment_status() -> None:
    spec = sla.Commitment.model_validate(
        {"name": "checkout-availability", "sloRef": {"name": "checkout"}, "target": 99.5}
    )
    measured = sla_attainment.Measurement(
        so_far=sla_attainment.Counts(29, 10_000),
        trailing=sla_attainment.Counts(10, 2_000),
        attainment=99.71,
        projected=99.64,
        coverage=97.5,
    )
    entry = sla_attainment.commitment_status(spec, measured)
    assert entry.model_dump(by_alias=True) == {
        "name": "checkout-availability",
        "target": 99.5,
        "attainment": 99.71,
        "met": True,
        "projected": 99.64,
        "coverage": 97.5,
    }
    unmeasured = sla_attainment.Measurement(
        so_far=sla_attainment.Counts(),
        trailing=sla_attainment.Counts(),
        attainment=None,
        projected=None,
    )
    assert sla_attainment.commitment_status(spec, unmeasured).met is None
