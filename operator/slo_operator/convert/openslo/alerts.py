"""Alerting: OpenSLO alert policies and burn-rate conditions as our page/ticket alerting."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ...api import common
from ...rules import burn_rates
from . import reading, references, reporting, vocabulary


@dataclasses.dataclass
class _Route:
    enabled: bool = False
    severity: str | None = None
    matched: set[tuple[int, float]] = dataclasses.field(default_factory=set)


def _resolve_named(
    item: Any,
    ref_key: str,
    kind: str,
    at: reporting.At,
    index: references.Index,
    report: reporting.Report,
) -> tuple[Mapping[str, Any], Mapping[str, Any], reporting.At] | None:
    """(metadata, spec, where) of an inline object or of the document a `*Ref` names."""
    body = reading.as_mapping(item, at, report, f"an {kind} or {ref_key}")
    if body is None:
        return None
    if ref_key in body:
        ref = body[ref_key]
        document = index.find(kind, ref) if isinstance(ref, str) else None
        if document is None:
            report.problem(at / ref_key, f"no {kind} named {ref!r} in the input files; ignored")
            return None
        body, where = document.body, reporting.At(document)
    else:
        report.unknown_fields(at, body, ("apiVersion", "kind", "metadata", "spec"))
        where = at
    metadata = body.get("metadata")
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        report.problem(where / "spec", f"an {kind} needs a spec mapping; ignored")
        return None
    return (metadata if isinstance(metadata, Mapping) else {}), spec, where


def string_map(value: Any, at: reporting.At, report: reporting.Report, what: str) -> dict[str, str]:
    """Labels or annotations with Prometheus label names and one string value each."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        report.problem(at, f"must be a mapping; not converted into {what}")
        return {}
    result: dict[str, str] = {}
    for key, item in value.items():
        key_text = str(key)
        if isinstance(key, str) and key.startswith(vocabulary.OUR_ANNOTATION_PREFIX):
            continue
        if not vocabulary.LABEL_NAME.match(key_text) or key_text.startswith("__"):
            report.problem(
                at / key_text,
                f"{key_text!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*); not "
                f"converted into {what}",
            )
            continue
        text = item[0] if isinstance(item, list) and len(item) == 1 else item
        if not isinstance(text, str):
            report.problem(
                at / key_text,
                f"{what} have one string value; {reading.type_name(item)} is not converted",
            )
            continue
        result[key_text] = text
    return result


def convert_alerting(
    spec: Mapping[str, Any],
    window_seconds: int,
    at: reporting.At,
    index: references.Index,
    report: reporting.Report,
) -> dict[str, Any]:
    """Our `alerting` from the SLO's alert policies, judged against the burn-rate table."""
    policies = spec.get("alertPolicies")
    at = at / "alertPolicies"
    if policies is None or policies == []:
        return {"enabled": False}
    if not isinstance(policies, list):
        report.problem(at, "must be a list of alert policies; alerting disabled")
        return {"enabled": False}
    table: dict[str, burn_rates.BurnAlert] = {
        alert.severity: alert for alert in burn_rate_table(window_seconds)
    }
    found = _Policies()
    for number, item in enumerate(policies):
        _policy(item, table, found, at / number, index, report)
    alerting: dict[str, Any] = {}
    if found.labels:
        alerting["labels"] = found.labels
    if found.annotations:
        alerting["annotations"] = found.annotations
    for severity, route in found.routes.items():
        alerting[severity] = _route_body(severity, route, table[severity], at, report)
    alerting["noData"] = {"enabled": found.no_data}
    if not any(route.enabled for route in found.routes.values()) and not found.no_data:
        return {"enabled": False}
    return alerting


@dataclasses.dataclass
class _Policies:
    """What the SLO's alert policies add up to."""

    routes: dict[str, _Route] = dataclasses.field(
        default_factory=lambda: {"page": _Route(), "ticket": _Route()}
    )
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    no_data: bool = False


def _policy(
    item: Any,
    table: Mapping[str, burn_rates.BurnAlert],
    found: _Policies,
    at: reporting.At,
    index: references.Index,
    report: reporting.Report,
) -> None:
    """One alert policy (inline or referenced): its labels, annotations and conditions."""
    resolved = _resolve_named(item, "alertPolicyRef", "AlertPolicy", at, index, report)
    if resolved is None:
        return
    metadata, policy, where = resolved
    report.unknown_fields(where / "spec", policy, vocabulary.POLICY_FIELDS)
    labels_at = where / "metadata" / "labels"
    for name, value in string_map(
        metadata.get("labels"), labels_at, report, "alert labels"
    ).items():
        if found.labels.setdefault(name, value) != value:
            report.problem(
                labels_at / name,
                f"another alert policy sets {name}={found.labels[name]!r}; kept that",
            )
    annotations_at = where / "metadata" / "annotations"
    found.annotations.update(
        string_map(metadata.get("annotations"), annotations_at, report, "alert annotations")
    )
    if policy.get("alertWhenNoData") is True:
        found.no_data = True
    _policy_notes(policy, where, index, report)
    if policy.get("alertWhenBreaching") is False:
        report.note(
            where / "spec" / "alertWhenBreaching",
            "false: this policy's conditions are not converted into alerts",
        )
        return
    conditions = policy.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        report.problem(where / "spec" / "conditions", "required: a list of conditions")
        return
    for position, condition in enumerate(conditions):
        condition_at = where / "spec" / "conditions" / position
        _condition(condition, table, found.routes, condition_at, index, report)


def _policy_notes(
    policy: Mapping[str, Any],
    where: reporting.At,
    index: references.Index,
    report: reporting.Report,
) -> None:
    """What a policy says that Alertmanager, not the rules, carries out."""
    if policy.get("alertWhenResolved") is True:
        report.note(
            where / "spec" / "alertWhenResolved",
            "resolved notifications are Alertmanager's send_resolved setting",
        )
    targets = policy.get("notificationTargets")
    for target in targets if isinstance(targets, list) else []:
        if isinstance(target, Mapping) and isinstance(target.get("targetRef"), str):
            index.find("AlertNotificationTarget", target["targetRef"])
    if targets:
        report.note(
            where / "spec" / "notificationTargets",
            "notification targets are Alertmanager's routing; route on the alerts' labels "
            "(slo, severity and the policy's labels)",
        )


def _route_body(
    severity: str,
    route: _Route,
    alert: burn_rates.BurnAlert,
    at: reporting.At,
    report: reporting.Report,
) -> dict[str, Any]:
    """Our page or ticket alert; a problem for each generated condition nobody asked for."""
    body: dict[str, Any] = {"enabled": route.enabled}
    if not route.enabled:
        return body
    body["labels"] = {"severity": route.severity or _DEFAULT_SEVERITY[severity]}
    for condition in alert.conditions:
        if (condition.long_seconds, condition.factor) not in route.matched:
            report.problem(
                at,
                f"the {severity} alert also fires at {_condition_text(condition)}, which "
                "no alert condition asks for",
            )
    return body


_DEFAULT_SEVERITY = {"page": "critical", "ticket": "warning"}


def burn_rate_table(window_seconds: int) -> tuple[burn_rates.BurnAlert, ...]:
    """The alerts our rules generate for a window (what imported conditions are judged by)."""
    return burn_rates.burn_rate_alerts(window_seconds)


def _condition_text(condition: burn_rates.BurnCondition) -> str:
    return (
        f"burn rate > {condition.factor:g} over {condition.long_label} "
        f"(and {condition.short_label})"
    )


def _condition(
    item: Any,
    table: Mapping[str, burn_rates.BurnAlert],
    routes: dict[str, _Route],
    at: reporting.At,
    index: references.Index,
    report: reporting.Report,
) -> None:
    """One alert condition: the page or ticket alert it becomes, or why it cannot be one."""
    resolved = _resolve_named(item, "conditionRef", "AlertCondition", at, index, report)
    if resolved is None:
        return
    _, spec, where = resolved
    report.unknown_fields(where / "spec", spec, vocabulary.CONDITION_FIELDS)
    condition_at = where / "spec" / "condition"
    burn_rate = _burn_rate(spec.get("condition"), condition_at, report)
    if burn_rate is None:
        return
    threshold, seconds = burn_rate
    severity = _matching_alert(table, routes, threshold, seconds, spec, condition_at, report)
    route = routes[severity]
    route.enabled = True
    alert_after = spec["condition"].get("alertAfter")
    for_seconds = table[severity].for_seconds
    if alert_after is not None:
        parsed = reading.shorthand_seconds(alert_after)
        if alert_after not in ("0m", "0s") and (parsed is None or parsed[0] != for_seconds):
            report.problem(
                condition_at / "alertAfter",
                f"the {severity} alert waits for "
                f"{common.format_duration(for_seconds)} (for:), not {alert_after}",
            )
    _severity_label(route, severity, spec.get("severity"), where, report)


def _burn_rate(
    condition: Any, condition_at: reporting.At, report: reporting.Report
) -> tuple[float, int] | None:
    """(threshold, lookback seconds) of a burn-rate condition; None (said why) otherwise."""
    if not isinstance(condition, Mapping):
        report.problem(condition_at, "required: a condition mapping; not converted")
        return None
    report.unknown_fields(condition_at, condition, vocabulary.BURN_RATE_FIELDS)
    kind = condition.get("kind", "burnrate")
    if kind != "burnrate":
        report.problem(
            condition_at / "kind", f"only burnrate conditions can be converted, not {kind!r}"
        )
        return None
    op = condition.get("op")
    if op not in ("gt", "gte"):
        report.problem(
            condition_at / "op",
            f"op {op!r}: a burn-rate alert fires when the budget burns faster than a threshold "
            "(gt or gte); not converted",
        )
        return None
    threshold = reading.as_number(condition.get("threshold"))
    lookback = reading.shorthand_seconds(condition.get("lookbackWindow"))
    if threshold is None or threshold <= 0:
        report.problem(condition_at / "threshold", "required: a positive burn rate; not converted")
        return None
    if lookback is None:
        report.problem(
            condition_at / "lookbackWindow",
            f"{condition.get('lookbackWindow')!r} is not a duration-shorthand in m, h, d or w; "
            "not converted",
        )
        return None
    return threshold, lookback[0]


def _matching_alert(
    table: Mapping[str, burn_rates.BurnAlert],
    routes: dict[str, _Route],
    threshold: float,
    seconds: int,
    spec: Mapping[str, Any],
    condition_at: reporting.At,
    report: reporting.Report,
) -> str:
    """The severity whose generated conditions include this one; else the nearest, said so."""
    page_longest = max(c.long_seconds for c in table["page"].conditions)
    exact = [
        (severity, candidate)
        for severity, alert in table.items()
        for candidate in alert.conditions
        if candidate.long_seconds == seconds and math.isclose(candidate.factor, threshold)
    ]
    if exact:
        severity, matched = exact[0]
        routes[severity].matched.add((matched.long_seconds, matched.factor))
        return severity
    severity = "page" if seconds <= page_longest else "ticket"
    generated = "; or ".join(_condition_text(c) for c in table[severity].conditions)
    lookback = spec["condition"].get("lookbackWindow")
    report.problem(
        condition_at,
        f"burn rate > {threshold:g} over {lookback} is not one of the "
        f"conditions generated for this window; converted into the {severity} alert, which "
        f"fires at {generated}",
    )
    return severity


def _severity_label(
    route: _Route, severity: str, label: Any, where: reporting.At, report: reporting.Report
) -> None:
    """The condition's severity becomes the alert's `severity` label; one per alert."""
    if isinstance(label, str) and label:
        if route.severity is None:
            route.severity = label
        elif route.severity != label:
            report.problem(
                where / "spec" / "severity",
                f"the {severity} alert has one severity label; kept {route.severity!r}",
            )
    else:
        report.problem(where / "spec" / "severity", "required: a severity string")
