"""Benchmark 4: when each tool's alerts fire on the scripted incidents, and when nothing is wrong.

The incidents of :mod:`bench.data` on a one-tenant copy of the data (alert timing depends on
the error ratio, not on the number of series, and one tenant keeps 27 days of every peer's
multi-day windows cheap to backfill). Every recording rule of each tool is backfilled from day
5 (after the longest alert window, Pyrra's 4d6h51m) to the end; every burn-rate alert
expression is then evaluated at each step of its group's interval over that range, and an
alert *fires* once its expression has held for its ``for`` duration, as in Prometheus.

For each incident and each SLO it affects (error incidents: availability SLOs of that job;
latency degradations: latency SLOs): minutes from the incident's start to the first page
(``severity=critical``) and to the first ticket (``warning``), and how long alerts went on
firing after it ended. A *false* alert is a firing episode that starts when no incident
affecting the SLO is under way or ended less than 6 hours before.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from slo_operator.api import common
from testkit import synthetic

from . import data, harness, rulesets, specs

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 6 * 3600
"""An alert episode starting up to this long after an incident's end belongs to it."""
MAX_STEPS = 10_000


@dataclasses.dataclass(frozen=True)
class AlertRow:
    tool: str
    slo: str
    incident: str
    """An incident's name, or ``""`` for the false-alert summary of the SLO."""
    severity: str
    detected_minutes: float | None
    """Minutes from the incident's start to the first firing (None: never fired)."""
    firing_after_end_minutes: float | None
    """How long the incident's alerts went on firing after it ended."""
    false_episodes: int = 0
    false_minutes: float = 0.0


def _affects(incident: synthetic.Incident, item: specs.BenchSlo) -> bool:
    if incident.jobs and item.job not in incident.jobs:
        return False
    if item.kind == "availability":
        return incident.error_ratio is not None
    return incident.degraded_ratio is not None


def _severity(rule: rulesets.Rule) -> str | None:
    labels = rule.body.get("labels") or {}
    severity = labels.get("severity")
    if severity == "critical":
        return "page"
    if severity == "warning":
        return "ticket"
    return None


def _is_burn_alert(rule: rulesets.Rule) -> bool:
    expr = rule.expr
    return "absent" not in expr and _severity(rule) is not None


def _firing_times(
    tool_server: harness.ToolServer, rule: rulesets.Rule, start: float, end: float
) -> set[float]:
    """Evaluation times at which the alert fires (its expression held for ``for``)."""
    step = rule.interval_seconds
    hold = common.parse_duration_seconds(str(rule.body["for"])) if rule.body.get("for") else 0.0
    active: dict[tuple[tuple[str, str], ...], list[float]] = {}
    chunk = step * MAX_STEPS
    begin = start
    while begin <= end:
        stop = min(end, begin + chunk - step)
        for series in tool_server.server.query_range(rule.expr, begin, stop, step):
            key = tuple(sorted(series.labels.items()))
            active.setdefault(key, []).extend(series.timestamps)
        begin = stop + step
    firing: set[float] = set()
    for times in active.values():
        since: float | None = None
        previous: float | None = None
        for moment in sorted(times):
            if previous is None or moment - previous > step * 1.5:
                since = moment
            previous = moment
            if since is not None and moment - since >= hold:
                firing.add(moment)
    return firing


def _episodes(times: set[float], step: float) -> list[tuple[float, float]]:
    episodes: list[tuple[float, float]] = []
    for moment in sorted(times):
        if episodes and moment - episodes[-1][1] <= step * 1.5:
            episodes[-1] = (episodes[-1][0], moment)
        else:
            episodes.append((moment, moment))
    return episodes


def run(
    tools: Sequence[str],
    items: Sequence[specs.BenchSlo],
    _data: synthetic.SyntheticData,
    _raw: Path,
    work_dir: Path,
) -> list[AlertRow]:
    scenario = data.scenario(tenants=1)
    _, raw = harness.raw_blocks(scenario)
    start = float(scenario.start + 5 * data.DAY)
    end = float(scenario.end - 600)
    rows: list[AlertRow] = []
    for tool in tools:
        tool_server = harness.start_tool(
            tool,
            items,
            raw,
            work_dir / "alerts",
            at=end,
            sli_from=end,
            rules_from=start,
            data_start=scenario.start,
        )
        try:
            rows += _measure_tool(tool_server, scenario, items, start, end)
        finally:
            tool_server.server.stop()
    return rows


def _measure_tool(
    tool_server: harness.ToolServer,
    scenario: synthetic.Scenario,
    items: Sequence[specs.BenchSlo],
    start: float,
    end: float,
) -> list[AlertRow]:
    firing: dict[tuple[str, str], set[float]] = {}
    steps: dict[tuple[str, str], float] = {}
    for rule in tool_server.rule_set.rules:
        if rule.record or not _is_burn_alert(rule):
            continue
        slo = harness.slo_of_group(rule.group, items)
        severity = _severity(rule) or ""
        key = (slo, severity)
        firing.setdefault(key, set()).update(_firing_times(tool_server, rule, start, end))
        steps[key] = rule.interval_seconds
    rows = []
    for item in items:
        incidents = [i for i in scenario.incidents if _affects(i, item) and i.start >= start]
        for severity in ("page", "ticket"):
            times = firing.get((item.name, severity), set())
            episodes = _episodes(times, steps.get((item.name, severity), 60.0))
            claimed: set[int] = set()
            for incident in incidents:
                mine = [
                    (index, episode)
                    for index, episode in enumerate(episodes)
                    if incident.start <= episode[0] <= incident.end + SETTLE_SECONDS
                ]
                claimed.update(index for index, _ in mine)
                detected = (mine[0][1][0] - incident.start) / 60 if mine else None
                after = max(0.0, (max(e[1] for _, e in mine) - incident.end) / 60) if mine else None
                rows.append(
                    AlertRow(tool_server.tool, item.name, incident.name, severity, detected, after)
                )
            false = [e for index, e in enumerate(episodes) if index not in claimed]
            rows.append(
                AlertRow(
                    tool_server.tool,
                    item.name,
                    "",
                    severity,
                    None,
                    None,
                    false_episodes=len(false),
                    false_minutes=sum((e[1] - e[0]) / 60 + 1 for e in false),
                )
            )
    return rows


def _minutes(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value >= 120:
        return f"{value / 60:.1f} h"
    return f"{value:.0f} min"


def report(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    tools = list(dict.fromkeys(row["tool"] for row in rows))
    out = [
        "## 4. Alert detection time and false alerts",
        "",
        "The incidents above on a one-tenant copy of the data (alert timing depends on the "
        "error ratio, not on the number of series, and one tenant keeps 27 days of every "
        "peer's multi-day windows cheap to backfill). Each tool's recording rules are "
        "backfilled from day 5 (after the longest alert window, Pyrra's 4d6h51m) to the end; "
        "every burn-rate alert expression is evaluated at each step of its group's interval "
        "over that range, and an alert *fires* once its expression has held for its `for` "
        "duration, as in Prometheus ([bench/alerts.py](../bench/alerts.py)). Each tool's "
        "default alerts: ours and Sloth's page and ticket on the SRE workbook's windows, "
        "Pyrra's four windows scaled to 30 days (its two critical ones count as pages, its "
        "two warnings as tickets).",
        "",
        "An incident is matched with the SLOs it affects (errors: availability SLOs of its "
        "service; slow requests: latency SLOs). A *false* alert is a firing episode that "
        "starts when no incident affecting the SLO is under way or ended less than 6 hours "
        "before.",
        "",
        "Detection: time to the first page / first ticket after the incident started "
        "(— : none fired); in brackets, how long alerts kept firing after it ended.",
        "",
    ]
    keys = list(dict.fromkeys((row["slo"], row["incident"]) for row in rows if row["incident"]))
    table_rows = []
    for slo, incident in keys:
        row = [f"`{incident}`", f"`{slo}`"]
        for tool in tools:
            cells = []
            for severity in ("page", "ticket"):
                match = next(
                    (
                        r
                        for r in rows
                        if r["tool"] == tool
                        and r["slo"] == slo
                        and r["incident"] == incident
                        and r["severity"] == severity
                    ),
                    None,
                )
                if match is None or match["detected_minutes"] is None:
                    cells.append("—")
                else:
                    cells.append(
                        f"{_minutes(match['detected_minutes'])} "
                        f"({_minutes(match['firing_after_end_minutes'])})"
                    )
            row.append(" / ".join(cells))
        table_rows.append(row)
    header = ["Incident", "SLO", *[f"{tool}: page / ticket" for tool in tools]]
    out += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in table_rows]
    out += ["", "False alerts over the whole range (episodes, minutes firing):", ""]
    header = ["SLO", *[f"{tool}: page / ticket" for tool in tools]]
    out += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for slo in dict.fromkeys(row["slo"] for row in rows):
        row = [f"`{slo}`"]
        for tool in tools:
            cells = []
            for severity in ("page", "ticket"):
                match = next(
                    (
                        r
                        for r in rows
                        if r["tool"] == tool
                        and r["slo"] == slo
                        and not r["incident"]
                        and r["severity"] == severity
                    ),
                    None,
                )
                cells.append(
                    "—"
                    if match is None
                    else f"{match['false_episodes']} ({match['false_minutes']:.0f} min)"
                )
            row.append(" / ".join(cells))
        out.append("| " + " | ".join(row) + " |")
    out += [""]
    return out
