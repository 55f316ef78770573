"""Benchmark 1: what each tool's rules cost Prometheus per evaluation cycle.

Every rule expression of a tool is evaluated at one instant (each group at its own last
evaluation time at or before it) with ``stats=all``; ``totalQueryableSamples`` is what the
rule read from storage — noise-free, the same on any machine. A rule runs ``60s / interval``
times a minute (Pyrra's burn-rate group every 30s), so the per-minute figure weighs each rule by
its group's interval. The evaluation time is Prometheus' own ``evalTotalTime`` of each rule,
the median of ``repeats`` evaluations, summed: what one cycle of all the tool's groups takes.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from . import harness, rulesets, specs


@dataclasses.dataclass(frozen=True)
class RuleCost:
    tool: str
    slo: str
    group: str
    name: str
    window: str
    """The window label of the recorded series (``slo_window``, ``sloth_window``), if any."""
    expr: str
    interval_seconds: float
    samples: int
    peak_samples: int
    eval_seconds: float

    @property
    def samples_per_minute(self) -> float:
        return self.samples * 60 / self.interval_seconds

    @property
    def eval_seconds_per_minute(self) -> float:
        return self.eval_seconds * 60 / self.interval_seconds


def measure(
    tool_server: harness.ToolServer,
    items: Sequence[specs.BenchSlo],
    at: float,
    *,
    repeats: int = 5,
) -> list[RuleCost]:
    times = harness.group_times(tool_server, at)
    costs = []
    for rule in tool_server.rule_set.rules:
        when = times.get(rule.group, at)
        runs = [tool_server.server.query_stats(rule.expr, when) for _ in range(repeats)]
        costs.append(
            RuleCost(
                tool=tool_server.tool,
                slo=harness.slo_of_group(rule.group, items),
                group=rule.group,
                name=rule.name,
                window=_window_label(rule),
                expr=rule.expr,
                interval_seconds=rule.interval_seconds,
                samples=runs[0].total_queryable_samples,
                peak_samples=max(run.peak_samples for run in runs),
                eval_seconds=statistics.median(run.eval_seconds for run in runs),
            )
        )
    return costs


def _window_label(rule: rulesets.Rule) -> str:
    labels = rule.body.get("labels") or {}
    return str(labels.get("slo_window") or labels.get("sloth_window") or "")


@dataclasses.dataclass(frozen=True)
class Summary:
    tool: str
    slo: str
    """An SLO's name, or ``all``."""
    rules: int
    samples_per_cycle: int
    samples_per_minute: float
    eval_seconds_per_cycle: float
    eval_seconds_per_minute: float


def summarize(costs: Sequence[RuleCost], slo: str = "all") -> Summary:
    chosen = [cost for cost in costs if slo in ("all", cost.slo)]
    return Summary(
        tool=chosen[0].tool,
        slo=slo,
        rules=len(chosen),
        samples_per_cycle=sum(cost.samples for cost in chosen),
        samples_per_minute=sum(cost.samples_per_minute for cost in chosen),
        eval_seconds_per_cycle=sum(cost.eval_seconds for cost in chosen),
        eval_seconds_per_minute=sum(cost.eval_seconds_per_minute for cost in chosen),
    )
