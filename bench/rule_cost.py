"""Estimate how many samples a rule file makes Prometheus read per minute.

    .venv/bin/python bench/rule_cost.py examples/checkout-availability.yaml PEER_RULES.yaml ...

Inputs are plain rule files (`groups:`), PrometheusRule objects, or SLO manifests (rendered with
our rules first). The same model is applied to every input, so rule sets compare fairly:

- every raw selector (a metric name without `:`) matches `--raw-series` series (100), scraped
  every `--scrape-interval` (60s); every recorded selector matches `--groups` series (1);
- a recorded series has one point per evaluation interval of the group that records it;
- `x[r]` reads r / resolution points per series, an instant selector one, and a subquery
  `[R:step]` repeats its inner expression R / step times;
- a rule runs 60s / its group's interval times per minute (a group without interval: 1m).

It is an estimate: Prometheus' own `stats=all` counts differ by the odd boundary point.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from slo_operator.api import common, slo
from slo_operator.rules import render


@dataclasses.dataclass(frozen=True)
class Model:
    raw_series: int = 100
    scrape_seconds: float = 60
    groups: int = 1


@dataclasses.dataclass(frozen=True)
class RuleCost:
    name: str
    per_minute: float
    raw_per_minute: float


def _seconds(text: str | None) -> float:
    return common.parse_duration_seconds(text) if text else 60.0


_WRAPPERS = (promql_parser.AggregateExpr, promql_parser.ParenExpr, promql_parser.UnaryExpr)


def _expr_cost(expr: str, model: Model, resolution: dict[str, float]) -> tuple[float, float]:
    """(all samples, raw samples) one evaluation of `expr` reads."""
    total = raw = 0.0

    def selector(node: Any, points: float, repeat: float) -> None:
        nonlocal total, raw
        name = node.name or ""
        is_raw = ":" not in name
        series = model.raw_series if is_raw else model.groups
        samples = series * points * repeat
        total += samples
        if is_raw:
            raw += samples

    def step_of(name: str) -> float:
        return model.scrape_seconds if ":" not in name else resolution.get(name, 60.0)

    def walk(node: Any, repeat: float) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            selector(node, 1, repeat)
        elif isinstance(node, promql_parser.MatrixSelector):
            inner = node.vector_selector
            points = node.range.total_seconds() / step_of(inner.name or "")
            selector(inner, max(points, 1), repeat)
        elif isinstance(node, promql_parser.SubqueryExpr):
            step = node.step.total_seconds() if node.step else 60.0
            walk(node.expr, repeat * max(node.range.total_seconds() / step, 1))
        elif isinstance(node, promql_parser.Call):
            for argument in node.args:
                walk(argument, repeat)
        elif isinstance(node, promql_parser.BinaryExpr):
            walk(node.lhs, repeat)
            walk(node.rhs, repeat)
        elif isinstance(node, _WRAPPERS):
            walk(node.expr, repeat)

    walk(promql_parser.parse(expr), 1)
    return total, raw


def rule_costs(rule_file: dict[str, Any], model: Model) -> list[RuleCost]:
    groups = rule_file.get("groups") or []
    resolution: dict[str, float] = {}
    for group in groups:
        for rule in group.get("rules", []):
            if "record" in rule:
                resolution[rule["record"]] = _seconds(group.get("interval"))
    costs = []
    for group in groups:
        runs_per_minute = 60 / _seconds(group.get("interval"))
        for rule in group.get("rules", []):
            total, raw = _expr_cost(str(rule["expr"]), model, resolution)
            name = rule.get("record") or rule.get("alert", "?")
            costs.append(RuleCost(name, total * runs_per_minute, raw * runs_per_minute))
    return costs


def load(path: Path) -> dict[str, Any]:
    """A rule file from a rule file, a PrometheusRule or SLO manifests."""
    documents = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    slos = [
        slo.ServiceLevelObjective.model_validate(d)
        for d in documents
        if d.get("kind") == "ServiceLevelObjective"
    ]
    if slos:
        return render.render_rule_file(slos)
    groups: list[Any] = []
    for document in documents:
        if document.get("kind") == "PrometheusRule":
            groups += document["spec"]["groups"]
        else:
            groups += document.get("groups") or []
    return {"groups": groups}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--raw-series", type=int, default=100)
    parser.add_argument("--scrape-interval", default="1m")
    parser.add_argument("--groups", type=int, default=1)
    parser.add_argument("--top", type=int, default=3, help="show the costliest rules")
    args = parser.parse_args(argv)
    model = Model(args.raw_series, _seconds(args.scrape_interval), args.groups)
    for path in args.files:
        costs = rule_costs(load(path), model)
        total = sum(c.per_minute for c in costs)
        raw = sum(c.raw_per_minute for c in costs)
        print(f"{path}: {total:,.0f} samples/min ({raw:,.0f} raw), {len(costs)} rules")
        for cost in sorted(costs, key=lambda c: -c.per_minute)[: args.top]:
            print(f"    {cost.per_minute:>12,.0f}  {cost.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
