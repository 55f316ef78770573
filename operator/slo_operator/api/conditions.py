"""metav1.Condition bookkeeping: a transition time moves only when the status does (pure)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any


def utc_now() -> str:
    """Now, as Kubernetes writes timestamps (RFC 3339, second precision, Z)."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        "reason": reason,
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
