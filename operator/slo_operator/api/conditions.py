"""metav1.Condition bookkeeping, pure: one owner per decision about a condition.

A transition time moves only when the status does. Ready and Stalled are shared by the
reconcile handlers and the evaluation loop: whoever set the current reason owns it
(`reconcile_owns`), so an edit of the spec never hides a backend outage and a cycle never
overwrites a rejected spec. Both write status through `status_patch`, which keeps unchanged
objects free of writes.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from . import times


class ConditionType(enum.StrEnum):
    """Every condition type the operator writes."""

    READY = "Ready"
    """The operator did its job: rules applied, last evaluation succeeded (both kinds)."""
    STALLED = "Stalled"
    """True: cannot progress, e.g. an invalid spec or a backend down too long (both kinds)."""
    ERROR_BUDGET_EXHAUSTED = "ErrorBudgetExhausted"
    """SLO: the primary objective's error budget is spent."""
    RELEASE_FREEZE = "ReleaseFreeze"
    """SLO: a policy step with a ReleaseFreeze action is active."""
    COMPLIANT = "Compliant"
    """SLA: every commitment meets its target this period so far."""
    AT_RISK = "AtRisk"
    """SLA: a commitment is projected to end the period below its target."""
    UNBACKED = "Unbacked"
    """SLA: a commitment's target is not looser than its SLO objective's."""
    LOW_COVERAGE = "LowCoverage"
    """SLA: the period's numbers rest on data for too little of its time."""


class Reason(enum.StrEnum):
    """Every reason the operator writes: on conditions, and on the Events it posts.

    docs/api.md lists each with its meaning (a unit test keeps the two lists equal).
    """

    # Ready and Stalled, by the reconcile handlers.
    RECONCILED = "Reconciled"
    """Stalled=False: the spec is valid (both kinds)."""
    RULES_APPLIED = "RulesApplied"
    """Ready=True: the SLO's rule object is in place; the loop has not measured it yet."""
    INVALID_SPEC = "InvalidSpec"
    RENDER_FAILED = "RenderFailed"
    FORBIDDEN = "Forbidden"
    PROMETHEUS_RULE_CRD_MISSING = "PrometheusRuleCRDMissing"
    API_ERROR = "ApiError"
    # Ready and Stalled, by the evaluation loop.
    EVALUATED = "Evaluated"
    NO_DATA = "NoData"
    """Also ErrorBudgetExhausted, Compliant and AtRisk Unknown: no events to judge by."""
    PARTIAL_WINDOW = "PartialWindow"
    NOT_MEASURABLE = "NotMeasurable"
    BACKEND_UNAVAILABLE = "BackendUnavailable"
    BACKEND_NOT_ALLOWED = "BackendNotAllowed"
    RAW_SERIES = "RawSeries"
    """Ready=True from `slo-operator evaluate`: measured from the raw series."""
    # SLA Stalled and Unbacked: its references.
    REFERENCE_NOT_FOUND = "ReferenceNotFound"
    REFERENCES_RESOLVED = "ReferencesResolved"
    # SLO domain conditions.
    BUDGET_EXHAUSTED = "BudgetExhausted"
    BUDGET_LEFT = "BudgetLeft"
    """ErrorBudgetExhausted=False, and ReleaseFreeze=False."""
    POLICY_STEP_REACHED = "PolicyStepReached"
    # SLA domain conditions.
    TARGET_NOT_LOOSER_THAN_SLO = "TargetNotLooserThanSLO"
    BACKED_BY_STRICTER_SLOS = "BackedByStricterSLOs"
    TARGET_MISSED = "TargetMissed"
    TARGETS_MET = "TargetsMet"
    PROJECTED_TO_MISS = "ProjectedToMiss"
    PROJECTED_TO_MEET = "ProjectedToMeet"
    NOT_EVALUATED = "NotEvaluated"
    PARTIAL_DATA = "PartialData"
    COVERED = "Covered"
    # Warning Events.
    ERROR_BUDGET_POLICY = "ErrorBudgetPolicy"
    WEBHOOK_FAILED = "WebhookFailed"
    SLA_BREACHED = "SLABreached"
    LOW_COVERAGE = "LowCoverage"
    """A period closed on data for less than `spec.minimumCoverage` of its time."""
    SERVICE_CREDIT_OWED = "ServiceCreditOwed"


RECONCILE_REASONS = frozenset(
    {
        Reason.INVALID_SPEC,
        Reason.RENDER_FAILED,
        Reason.FORBIDDEN,
        Reason.PROMETHEUS_RULE_CRD_MISSING,
        Reason.API_ERROR,
    }
)
"""Ready/Stalled reasons the reconcile handler owns: while one is set the rules are not in place
and the loop leaves the object alone."""


ConditionStatus = Literal["True", "False", "Unknown"]


@dataclasses.dataclass(frozen=True, slots=True)
class ConditionState:
    """What a domain condition says, decided by pure code; `set_condition` adds the times."""

    type: ConditionType
    status: ConditionStatus
    reason: Reason
    message: str = ""


def condition_status(value: bool | None) -> ConditionStatus:
    """A condition's status for a yes/no answer; None (not known) is Unknown."""
    if value is None:
        return "Unknown"
    return "True" if value else "False"


def utc_now() -> str:
    """Now, as Kubernetes writes timestamps (RFC 3339, second precision, Z)."""
    return times.format_timestamp(datetime.datetime.now(datetime.UTC))


def set_condition(
    conditions: Sequence[dict[str, Any]],
    type_: ConditionType,
    status: bool | ConditionStatus,
    reason: Reason,
    message: str = "",
    generation: int | None = None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """A copy of `conditions` with `type_` set; `lastTransitionTime` kept if status is unchanged."""
    status_text = status if isinstance(status, str) else ("True" if status else "False")
    result = []
    found = False
    for condition in conditions:
        if condition.get("type") != type_:
            result.append(dict(condition))
            continue
        found = True
        transition = condition.get("lastTransitionTime")
        if condition.get("status") != status_text or not transition:
            transition = now or utc_now()
        result.append(_condition(type_, status_text, reason, message, generation, transition))
    if not found:
        result.append(_condition(type_, status_text, reason, message, generation, now or utc_now()))
    return result


def _condition(
    type_: ConditionType,
    status: str,
    reason: Reason,
    message: str,
    generation: int | None,
    transition: str,
) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": str(type_),  # enum members as the plain strings YAML and JSON writers expect
        "status": status,
        "reason": str(reason),
        "message": message,
        "lastTransitionTime": transition,
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def set_conditions(
    conditions: Sequence[dict[str, Any]],
    decided: Sequence[ConditionState],
    generation: int | None = None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """A copy of `conditions` with each decided condition set (`set_condition`)."""
    result = list(conditions)
    for item in decided:
        result = set_condition(
            result, item.type, item.status, item.reason, item.message, generation, now
        )
    return result


def get_condition(
    conditions: Sequence[Mapping[str, Any]], type_: ConditionType
) -> Mapping[str, Any] | None:
    for condition in conditions:
        if condition.get("type") == type_:
            return condition
    return None


def same_conditions(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> bool:
    """Whether two condition lists say the same thing (ignores ordering)."""

    def key(items: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                c.get("type"),
                c.get("status"),
                c.get("reason"),
                c.get("message"),
                c.get("lastTransitionTime"),
                c.get("observedGeneration"),
            )
            for c in items
        )

    return key(old) == key(new)


def reconcile_owns(items: Sequence[Mapping[str, Any]], type_: ConditionType) -> bool:
    """Whether the reconcile may set `type_`: it is absent or carries a reconcile reason."""
    for condition in items:
        if condition.get("type") == type_:
            return condition.get("reason") in RECONCILE_REASONS
    return True


def reconcile_failure_pending(items: Sequence[Mapping[str, Any]]) -> bool:
    """Whether Ready or Stalled carries a reason of a failed reconcile (the loop waits)."""
    return any(
        c.get("reason") in RECONCILE_REASONS
        and c.get("type") in (ConditionType.READY, ConditionType.STALLED)
        for c in items
    )


def with_observed_generation(
    items: Sequence[Mapping[str, Any]], type_: ConditionType, generation: int | None
) -> list[dict[str, Any]]:
    """A copy of `items` whose `type_` condition records `generation` (nothing else changes).

    A copy, never an edit: the items usually come from the live body, and the status diff
    compares against that body.
    """
    result = [dict(condition) for condition in items]
    if generation is None:
        return result
    for condition in result:
        if condition.get("type") == type_:
            condition["observedGeneration"] = generation
    return result


def set_ready_and_stalled(
    items: Sequence[Mapping[str, Any]],
    *,
    ready: bool,
    stalled: bool,
    reason: Reason,
    message: str,
    generation: int | None,
    now: str | None = None,
    stalled_reason: Reason | None = None,
) -> list[dict[str, Any]]:
    """Ready and Stalled set together; Stalled takes `stalled_reason` (and no message) when it
    is given, as for a healthy object whose Stalled=False needs no explanation."""
    result = set_condition(
        [dict(c) for c in items], ConditionType.READY, ready, reason, message, generation, now
    )
    if stalled_reason is None:
        return set_condition(
            result, ConditionType.STALLED, stalled, reason, message, generation, now
        )
    return set_condition(
        result, ConditionType.STALLED, stalled, stalled_reason, "", generation, now
    )


def status_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7396) from `current` to `desired` over the keys of `desired`: an
    unchanged object sees no write; condition lists are compared regardless of order.

    A merge patch merges objects key by key, so a key that is gone from a nested object (a
    policy's `since` once no step is active, a burn-rate window without events, a new period's
    attainment not measured yet) is written as null, or the old value would stay. Lists are
    replaced whole.
    """
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        old = current.get(key)
        if key == "conditions":
            if not same_conditions(old or [], value):
                patch[key] = value
        elif isinstance(value, Mapping) and isinstance(old, Mapping):
            if nested := _merge_patch(old, value):
                patch[key] = nested
        elif old != value:
            patch[key] = value
    return patch


def _merge_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {key: None for key in current if key not in desired}
    for key, value in desired.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            if nested := _merge_patch(old, value):
                patch[key] = nested
        elif old != value or key not in current:
            patch[key] = value
    return patch
