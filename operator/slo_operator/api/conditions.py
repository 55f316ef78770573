"""metav1.Condition bookkeeping, pure: one owner per decision about a condition.

A transition time moves only when the status does. Ready and Stalled are shared by the
reconcile handlers and the evaluation loop: whoever set the current reason owns it
(`reconcile_owns`), so an edit of the spec never hides a backend outage and a cycle never
overwrites a rejected spec. Both write status through `status_patch`, which keeps unchanged
objects free of writes.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from . import times


class Reason(enum.StrEnum):
    """Every reason the operator writes on Ready and Stalled."""

    RECONCILED = "Reconciled"
    """Stalled=False: the spec is valid (both kinds)."""
    RULES_APPLIED = "RulesApplied"
    """Ready=True: the SLO's rule object is in place; the loop has not measured it yet."""
    INVALID_SPEC = "InvalidSpec"
    RENDER_FAILED = "RenderFailed"
    FORBIDDEN = "Forbidden"
    PROMETHEUS_RULE_CRD_MISSING = "PrometheusRuleCRDMissing"
    API_ERROR = "ApiError"
    EVALUATED = "Evaluated"
    NO_DATA = "NoData"
    PARTIAL_WINDOW = "PartialWindow"
    NOT_MEASURABLE = "NotMeasurable"
    BACKEND_UNAVAILABLE = "BackendUnavailable"
    BACKEND_NOT_ALLOWED = "BackendNotAllowed"


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


def utc_now() -> str:
    """Now, as Kubernetes writes timestamps (RFC 3339, second precision, Z)."""
    return times.format_timestamp(datetime.datetime.now(datetime.UTC))


def set_condition(
    conditions: Sequence[dict[str, Any]],
    type_: str,
    status: bool | str,
    reason: str,
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
    type_: str, status: str, reason: str, message: str, generation: int | None, transition: str
) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": type_,
        "status": status,
        "reason": str(reason),  # a `Reason` as the plain string YAML and JSON writers expect
        "message": message,
        "lastTransitionTime": transition,
    }
    if generation is not None:
        condition["observedGeneration"] = generation
    return condition


def get_condition(conditions: Sequence[dict[str, Any]], type_: str) -> dict[str, Any] | None:
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


def reconcile_owns(items: Sequence[Mapping[str, Any]], type_: str) -> bool:
    """Whether the reconcile may set `type_`: it is absent or carries a reconcile reason."""
    for condition in items:
        if condition.get("type") == type_:
            return condition.get("reason") in RECONCILE_REASONS
    return True


def reconcile_failure_pending(items: Sequence[Mapping[str, Any]]) -> bool:
    """Whether Ready or Stalled carries a reason of a failed reconcile (the loop waits)."""
    return any(
        c.get("reason") in RECONCILE_REASONS and c.get("type") in ("Ready", "Stalled")
        for c in items
    )


def with_observed_generation(
    items: Sequence[Mapping[str, Any]], type_: str, generation: int | None
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
    reason: str,
    message: str,
    generation: int | None,
    now: str | None = None,
    stalled_reason: str | None = None,
) -> list[dict[str, Any]]:
    """Ready and Stalled set together; Stalled takes `stalled_reason` (and no message) when it
    is given, as for a healthy object whose Stalled=False needs no explanation."""
    result = set_condition(
        [dict(c) for c in items], "Ready", ready, reason, message, generation, now
    )
    if stalled_reason is None:
        return set_condition(result, "Stalled", stalled, reason, message, generation, now)
    return set_condition(result, "Stalled", stalled, stalled_reason, "", generation, now)


def status_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `desired` whose value differs from `current`, so an unchanged object sees
    no write; condition lists are compared regardless of order."""
    patch: dict[str, Any] = {}
    for key, value in desired.items():
        if key == "conditions":
            if not same_conditions(current.get("conditions") or [], value):
                patch[key] = value
        elif current.get(key) != value:
            patch[key] = value
    return patch
