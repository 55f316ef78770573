"""Conditions of an SLA: Stalled, Unbacked, Compliant, AtRisk (budget/sla_conditions.py)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from slo_operator.api import sla, slo, status
from slo_operator.budget import intervals, sla_attainment, sla_conditions
from support import slo_factory

UTC = datetime.UTC


def commitment(**fields: Any) -> sla.Commitment:
    wire = {"name": "checkout-availability", "sloRef": {"name": "checkout"}, "target": 98.0}
    wire.update(fields)
    return sla.Commitment.model_validate(wire)


def slo_spec(**kwargs: Any) -> slo.ServiceLevelObjectiveSpec:
    # Objectives minimum 90, standard 99, stretch 99.5; primary: standard.
    return slo_factory.build(tiers=3, primaryObjective="standard", **kwargs).spec


@pytest.mark.parametrize(
    ("given", "spec", "group_found", "objective", "problem"),
    [
        (commitment(), slo_spec(), None, "standard", None),
        (commitment(objective="minimum", target=85), slo_spec(), None, "minimum", None),
        (
            commitment(),
            None,
            None,
            None,
            "commitment 'checkout-availability': ServiceLevelObjective 'checkout' not found "
            "in this namespace",
        ),
        (
            commitment(objective="gold"),
            slo_spec(),
            None,
            None,
            "commitment 'checkout-availability': SLO 'checkout' has no objective 'gold' "
            "(its objectives: minimum, standard, stretch)",
        ),
        (
            commitment(groupLabels={"tenant": "acme"}),
            slo_spec(),
            None,
            None,
            "commitment 'checkout-availability': groupLabels name tenant but SLO 'checkout' "
            "groups by nothing",
        ),
        (
            commitment(groupLabels={"tenant": "acme", "zone": "eu"}),
            slo_spec(group_by=("tenant",)),
            None,
            None,
            "commitment 'checkout-availability': groupLabels name zone but SLO 'checkout' "
            "groups by tenant",
        ),
        (
            commitment(groupLabels={"tenant": "acme"}),
            slo_spec(group_by=("tenant", "region")),
            False,
            None,
            "commitment 'checkout-availability': SLO 'checkout' has no series for group "
            "{tenant=acme}",
        ),
        # A subset of the groupBy labels sums the matching groups.
        (
            commitment(groupLabels={"tenant": "acme"}),
            slo_spec(group_by=("tenant", "region")),
            True,
            "standard",
            None,
        ),
    ],
)
def test_resolve(
    given: sla.Commitment,
    spec: slo.ServiceLevelObjectiveSpec | None,
    group_found: bool | None,
    objective: str | None,
    problem: str | None,
) -> None:
    backing = sla_conditions.resolve(given, spec, group_found)
    assert (backing.objective.name if backing.objective else None) == objective
    assert backing.problem == problem


def test_stalled_names_every_missing_reference() -> None:
    backings = [
        sla_conditions.resolve(commitment(name="a"), None),
        sla_conditions.resolve(commitment(name="b", objective="gold"), slo_spec()),
        sla_conditions.resolve(commitment(name="c"), slo_spec()),
    ]
    state = sla_conditions.stalled(backings)
    assert (state.status, state.reason) == ("True", "ReferenceNotFound")
    assert state.message == (
        "commitment 'a': ServiceLevelObjective 'checkout' not found in this namespace; "
        "commitment 'b': SLO 'checkout' has no objective 'gold' "
        "(its objectives: minimum, standard, stretch)"
    )
    assert sla_conditions.stalled(backings[2:]).status == "False"


@pytest.mark.parametrize(
    ("target", "objective", "status_", "message"),
    [
        (98.0, None, "False", "every commitment is looser than the SLO objective it rests on"),
        (
            99.9,
            None,
            "True",
            "commitment 'checkout-availability' targets 99.9% but SLO 'checkout' objective "
            "'standard' targets only 99%: an SLA target must be looser than its SLO's",
        ),
        # Equal is not looser: no margin between the internal alert and the contract.
        (
            99.0,
            None,
            "True",
            "commitment 'checkout-availability' targets 99% but SLO 'checkout' objective "
            "'standard' targets only 99%: an SLA target must be looser than its SLO's",
        ),
        (99.2, "stretch", "False", "every commitment is looser than the SLO objective it rests on"),
    ],
)
def test_unbacked(target: float, objective: str | None, status_: str, message: str) -> None:
    given = commitment(target=target, objective=objective)
    state = sla_conditions.unbacked([sla_conditions.resolve(given, slo_spec())])
    assert (state.type, state.status, state.message) == ("Unbacked", status_, message)


def test_unbacked_is_unknown_while_an_slo_is_missing() -> None:
    backings = [
        sla_conditions.resolve(commitment(name="a"), slo_spec()),
        sla_conditions.resolve(commitment(name="b"), None),
    ]
    assert sla_conditions.unbacked(backings).status == "Unknown"
    # ...but an offender found is reported whatever the others are.
    backings[0] = sla_conditions.resolve(commitment(name="a", target=99.9), slo_spec())
    assert sla_conditions.unbacked(backings).status == "True"


def period(*commitments: status.CommitmentStatus) -> status.PeriodStatus:
    return status.PeriodStatus(
        start=datetime.datetime(2026, 11, 1, tzinfo=UTC),
        end=datetime.datetime(2026, 12, 1, tzinfo=UTC),
        commitments=list(commitments),
    )


def entry(
    name: str, target: float, attainment: float | None, projected: float | None
) -> status.CommitmentStatus:
    met = None if attainment is None else attainment >= target
    return status.CommitmentStatus(
        name=name, target=target, attainment=attainment, met=met, projected=projected
    )


@pytest.mark.parametrize(
    ("current", "compliant", "at_risk"),
    [
        (
            period(entry("checkout", 99.5, 99.71, 99.64)),
            ("True", "TargetsMet", "every commitment meets its target this period"),
            (
                "False",
                "ProjectedToMeet",
                "every commitment is projected to meet its target by 2026-12-01T00:00:00Z",
            ),
        ),
        (
            period(entry("checkout", 99.5, 99.71, 99.31)),
            ("True", "TargetsMet", "every commitment meets its target this period"),
            (
                "True",
                "ProjectedToMiss",
                "checkout is projected at 99.31% by 2026-12-01T00:00:00Z, below its 99.5% target",
            ),
        ),
        (
            period(entry("checkout", 99.5, 99.2, 99.4), entry("search", 99.0, 99.3, 99.3)),
            ("False", "TargetMissed", "checkout at 99.2% is below its 99.5% target"),
            (
                "True",
                "ProjectedToMiss",
                "checkout is projected at 99.4% by 2026-12-01T00:00:00Z, below its 99.5% target",
            ),
        ),
        (
            period(entry("checkout", 99.5, None, None)),
            ("Unknown", "NoData", "no events measured this period for checkout"),
            ("Unknown", "NoData", "no projection without events for checkout"),
        ),
    ],
)
def test_compliant_and_at_risk(
    current: status.PeriodStatus, compliant: tuple[str, str, str], at_risk: tuple[str, str, str]
) -> None:
    state = sla_conditions.compliant(current)
    assert (state.status, state.reason, state.message) == compliant
    state = sla_conditions.at_risk(current)
    assert (state.status, state.reason, state.message) == at_risk


def test_sla_conditions_together() -> None:
    spec = sla.ServiceLevelAgreementSpec.model_validate(
        {
            "customer": "acme-store",
            "period": "Month",
            "commitments": [
                {"name": "checkout", "sloRef": {"name": "checkout"}, "target": 99.9},
                {"name": "search", "sloRef": {"name": "search"}, "target": 95},
            ],
        }
    )
    states = sla_conditions.sla_conditions(spec, {"checkout": slo_spec()}, current=None)
    by_type = {state.type: state for state in states}
    assert list(by_type) == ["Stalled", "Unbacked", "Compliant", "AtRisk"]
    assert by_type["Stalled"].status == "True"
    assert "'search' not found" in by_type["Stalled"].message
    assert by_type["Unbacked"].status == "True"
    assert "targets 99.9% but SLO 'checkout' objective 'standard' targets only 99%" in (
        by_type["Unbacked"].message
    )
    assert by_type["Compliant"].status == "Unknown"
    assert by_type["AtRisk"].status == "Unknown"


# --- coverage ---------------------------------------------------------------------------------


def _covered_period(coverage: float | None, month: int = 1) -> status.PeriodStatus:
    commitment = status.CommitmentStatus(
        name="checkout", target=99.5, attainment=99.9, met=True, projected=99.9, coverage=coverage
    )
    return sla_attainment.period_status(
        intervals.Interval(
            datetime.datetime(2026, month, 1, tzinfo=datetime.UTC),
            datetime.datetime(2026, month + 1, 1, tzinfo=datetime.UTC),
        ),
        [commitment],
        [],
        minimum_coverage=90,
    )


def test_a_period_below_the_minimum_coverage_is_flagged_met_or_not() -> None:
    # Met from 5 of 31 days: the numbers are shown, and flagged.
    sparse = _covered_period(100 * 5 / 31)
    assert sparse.commitments[0].met is True
    assert sparse.coverage == pytest.approx(16.129, abs=0.001)
    assert sparse.low_coverage is True
    assert _covered_period(90.0).low_coverage is False
    assert _covered_period(None).low_coverage is None


def test_low_coverage_condition_names_the_current_or_the_last_closed_period() -> None:
    full, sparse = _covered_period(99.0, 2), _covered_period(16.0, 1)
    closed = sla_conditions.low_coverage(full, sparse, 90)
    assert (closed.type, closed.status, closed.reason) == ("LowCoverage", "True", "PartialData")
    assert closed.message == (
        "the last closed period (2026-01-01T00:00:00Z to 2026-02-01T00:00:00Z) has data for "
        "16% of its measured time, below the 90% minimum"
    )
    current = sla_conditions.low_coverage(_covered_period(50.0, 2), full, 90)
    assert current.status == "True" and current.message.startswith("the current period so far")
    assert sla_conditions.low_coverage(full, full, 90).status == "False"
    assert sla_conditions.low_coverage(None, None, 90).status == "False"


def test_coverage_is_the_share_of_measured_minutes_with_data() -> None:
    spec = sla.ServiceLevelAgreementSpec.model_validate(
        {
            "customer": "acme",
            "period": "Week",
            "commitments": [{"name": "c", "sloRef": {"name": "s"}, "target": 99}],
            "exclusions": [{"name": "m", "schedule": "0 0 * * MON", "duration": "1d"}],
        }
    )
    week = sla_attainment.current_period(spec, datetime.datetime(2026, 1, 7, tzinfo=datetime.UTC))
    plan = sla_attainment.plan_measurement(spec, week, week.end)
    # Maintenance (Monday) is not measured: 6 days of minutes are the whole.
    assert sla_attainment.coverage_percent(plan, 6 * 1440) == 100.0
    assert sla_attainment.coverage_percent(plan, 3 * 1440) == 50.0
    empty = sla_attainment.plan_measurement(spec, week, week.start)
    assert sla_attainment.coverage_percent(empty, 0) is None
