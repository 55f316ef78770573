"""The public face of rule generation: SLO models in, Prometheus rule groups out.

Pure: no I/O. The operator adds ownerReferences; the CLI prints YAML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .. import errors
from ..api import slo
from . import alerting, model, recording, series

RuleGroup = model.RuleGroup
RecordingRule = model.RecordingRule
AlertingRule = model.AlertingRule

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "slo-operator"
GROUP_INTERVAL = "1m"


def group_name(resource: slo.ServiceLevelObjective, level: str) -> str:
    """`slo-operator/<namespace>/<name>/<level>`: unique per SLO, stable across renders."""
    return f"slo-operator/{resource.namespace}/{resource.name}/{level}"


def check_labels(resource: slo.ServiceLevelObjective) -> None:
    """Reject label names the rules set themselves, which would silently merge series.

    Raises InvalidSpec naming the field. (The API models accept these names; only the rules
    know which names they reserve.)
    """
    spec = resource.spec
    reserved = series.RESERVED_LABELS
    for index, name in enumerate(spec.group_by):
        if name in reserved:
            raise errors.InvalidSpec(
                f"spec.groupBy[{index}]",
                f"{name!r} is set by the generated rules; group by another label "
                f"(reserved: {', '.join(sorted(reserved))})",
            )
    maps = {
        "spec.labels": (spec.labels, reserved | set(spec.group_by)),
        "spec.alerting.labels": (spec.alerting.labels, reserved),
        "spec.alerting.page.labels": (spec.alerting.page.labels, reserved),
        "spec.alerting.ticket.labels": (spec.alerting.ticket.labels, reserved),
    }
    for field, (labels, forbidden) in maps.items():
        for name in labels:
            if name in forbidden:
                raise errors.InvalidSpec(
                    f"{field}.{name}",
                    f"{name!r} is set by the generated rules (or is a groupBy label) and "
                    "cannot be overridden",
                )


def render_rule_groups(resource: slo.ServiceLevelObjective) -> list[model.RuleGroup]:
    """The rule groups of one SLO: all recording rules in one group (one evaluation timestamp,
    so windows tile exactly), then the alerts."""
    check_labels(resource)
    groups = [
        model.RuleGroup(
            name=group_name(resource, "recording"),
            interval=GROUP_INTERVAL,
            rules=tuple(recording.recording_rules(resource)),
        )
    ]
    alerts = alerting.alerting_rules(resource)
    if alerts:
        groups.append(
            model.RuleGroup(
                name=group_name(resource, "alerting"),
                interval=GROUP_INTERVAL,
                rules=tuple(alerts),
            )
        )
    return groups


def count_rules(groups: Iterable[model.RuleGroup]) -> tuple[int, int]:
    """(recording, alerting) rules in the groups."""
    recording_count = alerting_count = 0
    for group in groups:
        for rule in group.rules:
            if isinstance(rule, model.RecordingRule):
                recording_count += 1
            else:
                alerting_count += 1
    return recording_count, alerting_count


def render_prometheus_rule(
    resource: slo.ServiceLevelObjective, extra_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A monitoring.coreos.com/v1 PrometheusRule `slo-<name>` in the SLO's namespace.

    No ownerReferences: the operator adds them. `extra_labels` (e.g. for a Prometheus
    `ruleSelector`) cannot override the managed-by label.
    """
    labels = {**(extra_labels or {}), MANAGED_BY_LABEL: MANAGED_BY}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"slo-{resource.name}",
            "namespace": resource.namespace,
            "labels": dict(sorted(labels.items())),
        },
        "spec": {"groups": [group.to_dict() for group in render_rule_groups(resource)]},
    }


VMRULE_API_VERSION = "operator.victoriametrics.com/v1beta1"


def as_vmrule(prometheus_rule: dict[str, Any]) -> dict[str, Any]:
    """The same rules as a vm-operator VMRule: its `spec.groups` take the PrometheusRule's
    groups unchanged (vmalert evaluates the same rule files; docs/engines.md)."""
    return {**prometheus_rule, "apiVersion": VMRULE_API_VERSION, "kind": "VMRule"}


def render_rule_file(resources: Sequence[slo.ServiceLevelObjective]) -> dict[str, Any]:
    """One plain Prometheus rule file with the groups of all SLOs, ordered by namespace/name."""
    ordered = sorted(resources, key=lambda item: (item.namespace, item.name))
    seen: set[tuple[str, str]] = set()
    groups: list[dict[str, Any]] = []
    for resource in ordered:
        key = (resource.namespace, resource.name)
        if key in seen:
            raise errors.InvalidSpec(
                "metadata.name",
                f"SLO {resource.namespace}/{resource.name} appears twice; rule group names "
                "must be unique in a rule file",
            )
        seen.add(key)
        groups.extend(group.to_dict() for group in render_rule_groups(resource))
    return {"groups": groups}
