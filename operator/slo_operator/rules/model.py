"""Typed Prometheus rules and rule groups, and their plain-dict form for YAML and Kubernetes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class RecordingRule:
    """A `record:` rule."""

    record: str
    expr: str
    labels: Mapping[str, str]
    depth: int
    """0 when the rule reads only raw series; otherwise 1 + the deepest recorded series it reads.
    Rules of one depth can be backfilled together (`promtool tsdb create-blocks-from rules`
    evaluates each rule on its own, so a rule only sees series of earlier passes)."""

    def to_dict(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


@dataclasses.dataclass(frozen=True)
class AlertingRule:
    """An `alert:` rule; label and annotation values are already template-safe."""

    alert: str
    expr: str
    for_: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_:
            rule["for"] = self.for_
        if self.labels:
            rule["labels"] = dict(self.labels)
        if self.annotations:
            rule["annotations"] = dict(self.annotations)
        return rule


Rule = RecordingRule | AlertingRule


@dataclasses.dataclass(frozen=True)
class RuleGroup:
    """A Prometheus rule group: its rules run in order, all at the same evaluation timestamp."""

    name: str
    interval: str
    rules: tuple[Rule, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "interval": self.interval,
            "rules": [rule.to_dict() for rule in self.rules],
        }
