"""One Prometheus per tool on the same raw blocks, with that tool's rules backfilled.

Each tool gets its own TSDB folder: the cached raw blocks hard-linked in (no copy), then its
recording rules backfilled level by level over the ranges its readers need. Nothing of another
tool is in it, so what a query touches is that tool's own cost.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from slo_operator.rules import render
from testkit import backfill, engines, prometheus, synthetic

from . import peers, pyrra, rulesets, specs

logger = logging.getLogger(__name__)

TOOLS = ("slo-operator", "sloth", "pyrra")
CountingEngine = Literal["prometheus2", "prometheus3"]
"""The engines that count the samples a query reads (``stats=all``)."""
COUNTING_ENGINES: tuple[CountingEngine, ...] = ("prometheus2", "prometheus3")


def rule_file(tool: str, items: Sequence[specs.BenchSlo]) -> dict[str, Any]:
    """The rule file ``tool`` generates for ``items``."""
    if tool == "slo-operator":
        return render.render_rule_file([specs.our_model(item) for item in items])
    if tool == "sloth":
        return peers.sloth_rules(list(items))
    if tool == "pyrra":
        return peers.pyrra_rules(list(items))
    raise ValueError(tool)


def sli_query(tool: str, item: specs.BenchSlo) -> str:
    """The query that reads ``tool``'s long-window SLI (a fraction) for ``item``, as its
    dashboards and APIs do: from the series its rules record."""
    if tool == "slo-operator":
        window = f"{item.window_days}d"
        return (
            f'1 - slo:sli_error:ratio{{slo="{item.name}",slo_namespace="{specs.NAMESPACE}",'
            f'slo_window="{window}"}}'
        )
    if tool == "sloth":
        return f'1 - slo:sli_error:ratio_rate30d{{sloth_id="{item.name}"}}'
    if tool == "pyrra":
        window = pyrra.duration_text(item.window_days * pyrra.DAY_MS)
        if item.kind == "availability":
            series = f"http_requests:increase{window}"
            return (
                f'1 - sum({series}{{slo="{item.name}",code=~"5.."}}) '
                f'/ sum({series}{{slo="{item.name}"}})'
            )
        series = f"http_request_duration_seconds:increase{window}"
        return (
            f'sum({series}{{slo="{item.name}",le="{item.le}"}}) '
            f'/ sum({series}{{slo="{item.name}",le=""}})'
        )
    raise ValueError(tool)


def slo_of_group(group: str, items: Sequence[specs.BenchSlo]) -> str:
    """Which SLO a rule group belongs to (every tool names its groups after the SLO)."""
    for item in sorted(items, key=lambda i: -len(i.name)):
        if group == item.name or group.startswith(f"{item.name}-") or item.name in group:
            return item.name
    raise ValueError(f"no SLO for group {group}")


@dataclasses.dataclass
class ToolServer:
    tool: str
    rule_set: rulesets.RuleSet
    server: prometheus.PrometheusServer
    backfill_runs: list[rulesets.BackfillRun]


def start_tool(
    tool: str,
    items: Sequence[specs.BenchSlo],
    raw_blocks: Path,
    work_dir: Path,
    *,
    at: float,
    sli_from: float,
    rules_from: float | None = None,
    data_start: float = 0.0,
    engine: CountingEngine = "prometheus2",
) -> ToolServer:
    """A server for ``tool`` with its rules backfilled so that every rule can be evaluated
    from ``rules_from`` (default: only at ``at``) to ``at``, and the SLI queries from
    ``sli_from`` to ``at``. ``engine`` picks the Prometheus release (and its promtool, which
    backfills the rules); ``raw_blocks`` must be written by that release's promtool
    (:func:`raw_blocks`)."""
    folder = work_dir / tool if engine == "prometheus2" else work_dir / engine / tool
    shutil.rmtree(folder, ignore_errors=True)
    tsdb = folder / "tsdb"
    backfill.link_blocks(raw_blocks, tsdb)
    rule_set = rulesets.RuleSet.from_file(tool, rule_file(tool, items))
    binary, promtool = (
        engines.prometheus3_binaries()
        if engine == "prometheus3"
        else (prometheus.prometheus_binary(), prometheus.promtool_binary())
    )
    server = prometheus.PrometheusServer(
        tsdb,
        work_dir=folder / "server",
        binary=binary,
        promtool=promtool,
        extra_flags=("--query.max-samples=200000000",),
    )
    server.start()
    readers = [(sli_query(tool, item), sli_from) for item in items]
    runs = rulesets.backfill_rule_set(
        rule_set,
        server,
        end=at + 120,
        default_from=at if rules_from is None else rules_from,
        readers=readers,
        not_before=data_start,
        work_dir=folder / "rules",
    )
    return ToolServer(tool, rule_set, server, runs)


def raw_blocks(
    scenario: synthetic.Scenario, engine: CountingEngine = "prometheus2"
) -> tuple[synthetic.SyntheticData, Path]:
    """The scenario's data and its cached blocks, written by ``engine``'s promtool."""
    data = synthetic.generate(scenario)
    return data, engines.synthetic_blocks(engine, data)


def group_times(tool_server: ToolServer, at: float) -> Mapping[str, float]:
    """Each recording group's last evaluation at or before ``at`` (its phase), read from the
    timestamps of its recorded series; groups without recorded series use ``at``."""
    times: dict[str, float] = {}
    for rule in tool_server.rule_set.rules:
        if not rule.record or rule.group in times:
            continue
        labels = ",".join(
            f'{key}="{value}"' for key, value in sorted((rule.body.get("labels") or {}).items())
        )
        found = tool_server.server.query(f"max(timestamp({rule.record}{{{labels}}}))", at)
        if found:
            times[rule.group] = found[0].value
    return times
