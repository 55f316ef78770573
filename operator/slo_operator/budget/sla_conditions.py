"""Conditions of a ServiceLevelAgreement, decided from its spec, its SLOs and its numbers.

Pure decisions (type, status, reason, message); `kube` stamps transition times and writes them.
`Ready` is the evaluator's (it depends on the backend answering) and is not decided here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ..api import conditions, sla, slo, status, times
from . import sla_attainment

Type = conditions.ConditionType
Reason = conditions.Reason
ConditionState = conditions.ConditionState
"""What a condition says; the caller adds lastTransitionTime and observedGeneration."""


@dataclasses.dataclass(frozen=True)
class Backing:
    """The SLO objective a commitment rests on, or why it cannot be found."""

    commitment: sla.Commitment
    objective: slo.Objective | None
    """The resolved objective; None when `problem` says why not."""
    problem: str | None
    """A Stalled message naming the commitment and what is missing."""


def _percent(value: float) -> str:
    return f"{round(value, 4):g}%"


def resolve(
    commitment: sla.Commitment,
    slo_spec: slo.ServiceLevelObjectiveSpec | None,
    group_found: bool | None = None,
) -> Backing:
    """Find the objective a commitment rests on in its SLO's spec (None: the SLO is missing).

    `group_found` is the evaluator's answer to "does the SLO have series for `groupLabels`"
    (None: not asked yet). `groupLabels` may name a subset of the SLO's `groupBy` labels; the
    groups that match are summed. A label the SLO does not group by selects nothing.
    """
    name = commitment.name
    slo_name = commitment.slo_ref.name
    if slo_spec is None:
        return Backing(
            commitment,
            None,
            f"commitment {name!r}: ServiceLevelObjective {slo_name!r} not found in this namespace",
        )
    wanted = commitment.objective or slo_spec.primary_objective or slo_spec.objectives[0].name
    objective = next((o for o in slo_spec.objectives if o.name == wanted), None)
    if objective is None:
        known = ", ".join(o.name for o in slo_spec.objectives)
        return Backing(
            commitment,
            None,
            f"commitment {name!r}: SLO {slo_name!r} has no objective {wanted!r} "
            f"(its objectives: {known})",
        )
    unknown = sorted(set(commitment.group_labels) - set(slo_spec.group_by))
    if unknown:
        grouped = ", ".join(slo_spec.group_by) if slo_spec.group_by else "nothing"
        return Backing(
            commitment,
            None,
            f"commitment {name!r}: groupLabels name {', '.join(unknown)} but SLO {slo_name!r} "
            f"groups by {grouped}",
        )
    if group_found is False:
        labels = ",".join(f"{k}={v}" for k, v in sorted(commitment.group_labels.items()))
        return Backing(
            commitment,
            None,
            f"commitment {name!r}: SLO {slo_name!r} has no series for group {{{labels}}}",
        )
    return Backing(commitment, objective, None)


def stalled(backings: Sequence[Backing]) -> ConditionState:
    """True while any commitment's SLO, objective or group is missing, naming each."""
    problems = [b.problem for b in backings if b.problem is not None]
    if problems:
        return ConditionState(Type.STALLED, "True", Reason.REFERENCE_NOT_FOUND, "; ".join(problems))
    return ConditionState(
        Type.STALLED,
        "False",
        Reason.REFERENCES_RESOLVED,
        "every commitment's SLO objective was found",
    )


def unbacked(backings: Sequence[Backing]) -> ConditionState:
    """True when a commitment's target is not looser (lower) than its SLO objective's target.

    A contract must rest on a stricter internal target, so the SLO's alerts fire before the
    contract is breached. Equal targets are Unbacked too: they leave no margin.
    """
    offenders = []
    for backing in backings:
        objective = backing.objective
        if objective is None or backing.commitment.target < objective.target:
            continue
        offenders.append(
            f"commitment {backing.commitment.name!r} targets "
            f"{_percent(backing.commitment.target)} but SLO "
            f"{backing.commitment.slo_ref.name!r} objective {objective.name!r} targets only "
            f"{_percent(objective.target)}"
        )
    if offenders:
        message = "; ".join(offenders) + ": an SLA target must be looser than its SLO's"
        return ConditionState(Type.UNBACKED, "True", Reason.TARGET_NOT_LOOSER_THAN_SLO, message)
    if any(b.objective is None for b in backings):
        return ConditionState(
            Type.UNBACKED,
            "Unknown",
            Reason.REFERENCE_NOT_FOUND,
            "not every commitment's SLO was found",
        )
    return ConditionState(
        Type.UNBACKED,
        "False",
        Reason.BACKED_BY_STRICTER_SLOS,
        "every commitment is looser than the SLO objective it rests on",
    )


def compliant(period: status.PeriodStatus) -> ConditionState:
    """True while every commitment meets its target in the current period so far."""
    missed = [
        f"{c.name} at {_percent(c.attainment)} is below its {_percent(c.target)} target"
        for c in period.commitments
        if c.met is False and c.attainment is not None
    ]
    if missed:
        return ConditionState(Type.COMPLIANT, "False", Reason.TARGET_MISSED, "; ".join(missed))
    unmeasured = [c.name for c in period.commitments if c.attainment is None]
    if unmeasured:
        return ConditionState(
            Type.COMPLIANT,
            "Unknown",
            Reason.NO_DATA,
            f"no events measured this period for {', '.join(unmeasured)}",
        )
    return ConditionState(
        Type.COMPLIANT, "True", Reason.TARGETS_MET, "every commitment meets its target this period"
    )


def at_risk(period: status.PeriodStatus) -> ConditionState:
    """True when any commitment is projected to end the period below its target."""
    end = times.format_timestamp(period.end)
    risky = [
        f"{c.name} is projected at {_percent(c.projected)} by {end}, "
        f"below its {_percent(c.target)} target"
        for c in period.commitments
        if c.projected is not None and not sla_attainment.meets(c.projected, c.target)
    ]
    if risky:
        return ConditionState(Type.AT_RISK, "True", Reason.PROJECTED_TO_MISS, "; ".join(risky))
    unprojected = [c.name for c in period.commitments if c.projected is None]
    if unprojected:
        return ConditionState(
            Type.AT_RISK,
            "Unknown",
            Reason.NO_DATA,
            f"no projection without events for {', '.join(unprojected)}",
        )
    return ConditionState(
        Type.AT_RISK,
        "False",
        Reason.PROJECTED_TO_MEET,
        f"every commitment is projected to meet its target by {end}",
    )


def low_coverage(
    current: status.PeriodStatus | None,
    closed: status.PeriodStatus | None,
    minimum: float,
) -> ConditionState:
    """True when the current period so far, or the newest closed period, had data for less
    than `minimum` percent of its measured time: its numbers rest on part of the period."""
    low = []
    for what, period in (
        ("the current period so far", current),
        ("the last closed period", closed),
    ):
        if period is not None and period.coverage is not None and period.coverage < minimum:
            start, end = times.format_timestamp(period.start), times.format_timestamp(period.end)
            low.append(
                f"{what} ({start} to {end}) has data for "
                f"{period.coverage:.4g}% of its measured time, below the {minimum:g}% minimum"
            )
    if low:
        return ConditionState(Type.LOW_COVERAGE, "True", Reason.PARTIAL_DATA, "; ".join(low))
    return ConditionState(
        Type.LOW_COVERAGE,
        "False",
        Reason.COVERED,
        f"data for at least {minimum:g}% of the measured time",
    )


def sla_conditions(
    spec: sla.ServiceLevelAgreementSpec,
    slo_specs: Mapping[str, slo.ServiceLevelObjectiveSpec],
    current: status.PeriodStatus | None,
    groups_found: Mapping[str, bool] | None = None,
) -> list[ConditionState]:
    """Stalled, Unbacked, Compliant and AtRisk for an SLA.

    `slo_specs` maps SLO names (same namespace) to their specs; `groups_found` maps commitment
    names to whether their group has series. Without a current period Compliant and AtRisk
    are Unknown.
    """
    found = groups_found or {}
    backings = [
        resolve(c, slo_specs.get(c.slo_ref.name), found.get(c.name)) for c in spec.commitments
    ]
    decided = [stalled(backings), unbacked(backings)]
    if current is None:
        decided.append(ConditionState(Type.COMPLIANT, "Unknown", Reason.NOT_EVALUATED, ""))
        decided.append(ConditionState(Type.AT_RISK, "Unknown", Reason.NOT_EVALUATED, ""))
    else:
        decided.append(compliant(current))
        decided.append(at_risk(current))
    return decided
