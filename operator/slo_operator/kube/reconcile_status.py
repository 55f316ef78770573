"""What the reconcile handlers write into status, decided without kopf or a cluster (pure).

The handlers in `kube.handlers` parse the body, call one of these and patch the result; the
unit tests call them directly. Ready and Stalled are shared with the evaluation loop:
`conditions.reconcile_owns` decides which of the two writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..api import conditions, validation
from ..api import status as status_api

Conditions = Sequence[Mapping[str, Any]]
READY = conditions.ConditionType.READY
STALLED = conditions.ConditionType.STALLED


def stalled(
    old_conditions: Conditions, generation: int | None, reason: conditions.Reason, message: str
) -> dict[str, Any]:
    """The status of an object the reconcile cannot progress: Stalled=True and Ready=False."""
    items = conditions.set_condition(
        [dict(c) for c in old_conditions], STALLED, True, reason, message, generation
    )
    items = conditions.set_condition(items, READY, False, reason, message, generation)
    return {**_observed(generation), "conditions": items}


def slo_rules_applied(
    old_conditions: Conditions,
    generation: int | None,
    rules: status_api.RulesSummary,
    target: float,
) -> dict[str, Any]:
    """The status of an SLO whose rule object is in place.

    The reconcile only takes back what it set itself (a failed reconcile): a Ready or Stalled
    the evaluation loop owns keeps its reason and message and records the new generation, so an
    edit never hides a backend outage.
    """
    items = [dict(c) for c in old_conditions]
    if conditions.reconcile_owns(old_conditions, STALLED):
        items = conditions.set_condition(
            items, STALLED, False, conditions.Reason.RECONCILED, "", generation
        )
    else:
        items = conditions.with_observed_generation(items, STALLED, generation)
    if conditions.reconcile_owns(old_conditions, READY):
        message = f"{rules.kind} {rules.name} applied"
        items = conditions.set_condition(
            items, READY, True, conditions.Reason.RULES_APPLIED, message, generation
        )
    else:
        items = conditions.with_observed_generation(items, READY, generation)
    values = status_api.ServiceLevelObjectiveStatus(
        observed_generation=generation, rules=rules, target=target
    )
    return {**values.to_wire(), "conditions": items}


def sla_accepted(old_status: Mapping[str, Any], generation: int | None) -> dict[str, Any] | None:
    """The status of a valid SLA: Stalled=False; None when there is nothing to write.

    Resumed (a restart) with the spec already accepted, Stalled is the loop's: resetting it
    would write the status twice, the loop then writing it back.
    """
    old_conditions = old_status.get("conditions") or []
    if old_status.get("observedGeneration") == generation and not conditions.reconcile_owns(
        old_conditions, STALLED
    ):
        return None
    items = conditions.set_condition(
        [dict(c) for c in old_conditions],
        STALLED,
        False,
        conditions.Reason.RECONCILED,
        "",
        generation,
    )
    return {**_observed(generation), "conditions": items}


def _observed(generation: int | None) -> dict[str, Any]:
    """`observedGeneration` (the same field in both kinds' status)."""
    return status_api.ServiceLevelObjectiveStatus(observed_generation=generation).to_wire()


def rule_write_failure(
    status_code: int | None, http_reason: str, rule_output: str
) -> tuple[conditions.Reason, str]:
    """(reason, message) of a failed write of the rule object, for status and the Event."""
    if status_code == 404 and rule_output == "PrometheusRule":
        return (
            conditions.Reason.PROMETHEUS_RULE_CRD_MISSING,
            "the PrometheusRule CRD (monitoring.coreos.com/v1) is not installed; install the "
            "prometheus-operator CRDs or run the operator with --rule-output ConfigMap",
        )
    if status_code == 403:
        return (
            conditions.Reason.FORBIDDEN,
            f"the operator may not write {rule_output} objects here: {http_reason}",
        )
    return (
        conditions.Reason.API_ERROR,
        f"writing {rule_output} failed: {status_code} {http_reason}",
    )


def retry_fixes(status_code: int | None) -> bool:
    """Whether retrying a failed write soon can help: not for a missing CRD (404) or RBAC (403),
    which wait for a person."""
    return status_code not in (403, 404)


def rule_write_retry_seconds(status_code: int | None, retry: int) -> float:
    """When to write the rule object again after the `retry`-th failure (0: the first).

    10 s where a retry can help. A missing CRD or permission waits for a person: the write is
    tried again ever more slowly (30 s, 1, 2, 4, 8 min, then every 10 min), so the fix is
    noticed without an edit of the SLO, and each attempt's Event stays rare.
    """
    if retry_fixes(status_code):
        return 10.0
    return float(min(600, 30 * 2 ** min(retry, 10)))


def admission_denial(problems: Sequence[validation.Problem]) -> str:
    """The admission webhook's message: every problem, `field: message`, in one line."""
    return "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
