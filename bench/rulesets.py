"""Rule files of any tool as data: what each rule reads, in which order to backfill, and the
backfill itself (``promtool tsdb create-blocks-from rules``, level by level).

Tools name their series differently, so nothing here knows a tool: a rule depends on every
recording rule of the same rule set whose metric name it reads. :func:`backfill_rule_set`
backfills each recording rule only over the range its readers need — readers evaluated over
``[first, last]`` reading it over a lookback ``L`` need it over ``[first - L, last]``, down the
dependency chain — so a 3-day rate is not recomputed for every minute of a month when it is read
only at the end.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from slo_operator.api import common
from testkit import backfill, prometheus

logger = logging.getLogger(__name__)

LOOKBACK_SECONDS = 300.0
"""Prometheus' default lookback delta: an instant selector reads up to 5m back."""


@dataclasses.dataclass(frozen=True)
class Rule:
    tool: str
    group: str
    interval_seconds: float
    body: Mapping[str, Any]
    """The rule as written in its rule file."""

    @property
    def record(self) -> str | None:
        return self.body.get("record")

    @property
    def name(self) -> str:
        return str(self.body.get("record") or self.body.get("alert"))

    @property
    def expr(self) -> str:
        return str(self.body["expr"])


@dataclasses.dataclass(frozen=True)
class RuleSet:
    """The rules one tool generated for a set of SLOs."""

    tool: str
    groups: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_file(cls, tool: str, document: Mapping[str, Any]) -> RuleSet:
        return cls(tool, tuple(document.get("groups") or ()))

    @property
    def rules(self) -> list[Rule]:
        found = []
        for group in self.groups:
            interval = common.parse_duration_seconds(group.get("interval") or "1m")
            for body in group.get("rules") or ():
                found.append(Rule(self.tool, str(group["name"]), interval, body))
        return found

    @property
    def recorded_names(self) -> set[str]:
        return {rule.record for rule in self.rules if rule.record}


def reads(expr: str) -> dict[str, float]:
    """Metric name -> the longest lookback (seconds) with which ``expr`` reads it.

    ``x[r]`` reads ``r``; an instant selector the lookback delta; inside a subquery
    ``[R:s]`` everything reads ``R + s`` further back.
    """
    found: dict[str, float] = {}

    def note(node: Any, lookback: float) -> None:
        name = node.name or ""
        offset = node.offset.total_seconds() if getattr(node, "offset", None) else 0.0
        found[name] = max(found.get(name, 0.0), lookback + offset)

    def walk(node: Any, extra: float) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            note(node, extra + LOOKBACK_SECONDS)
        elif isinstance(node, promql_parser.MatrixSelector):
            note(node.vector_selector, extra + node.range.total_seconds())
        elif isinstance(node, promql_parser.SubqueryExpr):
            step = node.step.total_seconds() if node.step else 60.0
            walk(node.expr, extra + node.range.total_seconds() + step)
        elif isinstance(node, promql_parser.Call):
            for argument in node.args:
                walk(argument, extra)
        elif isinstance(node, promql_parser.BinaryExpr):
            walk(node.lhs, extra)
            walk(node.rhs, extra)
        elif isinstance(
            node, (promql_parser.AggregateExpr, promql_parser.ParenExpr, promql_parser.UnaryExpr)
        ):
            walk(node.expr, extra)
            if isinstance(node, promql_parser.AggregateExpr) and node.param is not None:
                walk(node.param, extra)

    walk(promql_parser.parse(expr), 0.0)
    return found


def depths(rule_set: RuleSet) -> dict[str, int]:
    """Recorded metric name -> dependency depth (0: reads only raw series)."""
    producers: dict[str, list[Rule]] = {}
    for rule in rule_set.rules:
        if rule.record:
            producers.setdefault(rule.record, []).append(rule)
    result: dict[str, int] = {}

    def depth(name: str, path: tuple[str, ...]) -> int:
        if name in result:
            return result[name]
        if name in path:
            raise ValueError(f"{rule_set.tool}: recording rules read each other: {path}")
        deepest = 0
        for rule in producers[name]:
            for read in reads(rule.expr):
                if read in producers and read != name:
                    deepest = max(deepest, depth(read, (*path, name)) + 1)
        result[name] = deepest
        return deepest

    for name in producers:
        depth(name, ())
    return result


def needed_from(
    rule_set: RuleSet,
    evaluated_from: Mapping[str, float],
    default_from: float,
    readers: Sequence[tuple[str, float]] = (),
) -> dict[str, float]:
    """Recorded metric name -> the earliest time it must exist for every rule (recording or
    alerting) to be evaluated from ``evaluated_from[rule name]`` (default ``default_from``),
    and every ``(query, from)`` of ``readers`` (dashboards, APIs) from its time."""
    level = depths(rule_set)
    producers = {rule.record for rule in rule_set.rules if rule.record}
    needed: dict[str, float] = {}
    interval = {rule.record: rule.interval_seconds for rule in rule_set.rules if rule.record}

    def consume(rule: Rule, start: float) -> None:
        for name, lookback in reads(rule.expr).items():
            if name in producers:
                earliest = start - lookback - interval[name]
                needed[name] = min(needed.get(name, earliest), earliest)

    for rule in rule_set.rules:
        consume(rule, evaluated_from.get(rule.name, default_from))
    for query, start in readers:
        consume(Rule(rule_set.tool, "", 60.0, {"expr": query}), start)
    # Producers of deeper levels first: their need widens the need of what they read.
    for rule in sorted(
        (r for r in rule_set.rules if r.record), key=lambda r: -level[r.record or ""]
    ):
        if rule.record in needed:
            consume(rule, needed[rule.record or ""])
    return needed


@dataclasses.dataclass(frozen=True)
class BackfillRun:
    tool: str
    depth: int
    rules: int
    start: float
    end: float
    seconds: float


def block_hours(interval_seconds: float) -> int:
    """The largest of Prometheus' block ranges (2h * 3^k) that one ``query_range`` of at most
    11,000 steps covers: promtool writes one block per rule and window, so 162h blocks for a
    1m group instead of a block every 2 hours (its hidden ``--max-block-duration`` flag)."""
    limit = backfill.MAX_RANGE_QUERY_STEPS * interval_seconds * 1000
    return max(ms for ms in backfill.BLOCK_RANGES_MS if ms <= limit) // backfill.HOUR_MS


def _promtool_rules(
    server: prometheus.PrometheusServer,
    path: Path,
    start: float,
    end: float,
    block_seconds: int,
    work_dir: Path,
) -> None:
    with tempfile.TemporaryDirectory(dir=work_dir) as output:
        command = [
            server.promtool,
            "tsdb",
            "create-blocks-from",
            "rules",
            "--quiet",
            f"--url={server.url}",
            f"--start={int(start)}",
            f"--end={int(end)}",
            f"--output-dir={output}",
            f"--max-block-duration={block_seconds // 3600}h",
            str(path),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise backfill.BackfillError(command, done.returncode, done.stdout + done.stderr)
        backfill.move_blocks(Path(output), server.tsdb_dir)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def backfill_rule_set(
    rule_set: RuleSet,
    server: prometheus.PrometheusServer,
    *,
    end: float,
    evaluated_from: Mapping[str, float] | None = None,
    default_from: float | None = None,
    readers: Sequence[tuple[str, float]] = (),
    not_before: float = 0.0,
    work_dir: Path,
) -> list[BackfillRun]:
    """Backfill the recording rules of ``rule_set`` into ``server``'s TSDB, level by level,
    each over the range its readers need (see :func:`needed_from`) but not before
    ``not_before`` (the first raw sample), ending at ``end``.

    The server is restarted after each level so the next level reads it. A group keeps one
    rule-file path at every level, so promtool gives all its rules the same evaluation phase,
    as a live server would.
    """
    level = depths(rule_set)
    need = needed_from(
        rule_set, evaluated_from or {}, end if default_from is None else default_from, readers
    )
    runs: list[BackfillRun] = []
    folder = work_dir / _safe(rule_set.tool)
    folder.mkdir(parents=True, exist_ok=True)
    for depth in sorted(set(level.values())):
        batches: dict[tuple[float, str, float], list[Rule]] = {}
        for rule in rule_set.rules:
            if rule.record and level[rule.record] == depth and rule.record in need:
                start = max(need[rule.record], not_before)
                start -= start % 3600
                batches.setdefault((start, rule.group, rule.interval_seconds), []).append(rule)
        if not batches:
            continue
        for (start, group, interval), rules in sorted(batches.items()):
            began = time.monotonic()
            path = folder / f"{_safe(group)}.yaml"
            document = {
                "groups": [
                    {
                        "name": group,
                        "interval": f"{interval:g}s",
                        "rules": [dict(rule.body) for rule in rules],
                    }
                ]
            }
            path.write_text(yaml.safe_dump(document, sort_keys=False))
            hours = block_hours(interval)
            _promtool_rules(server, path, start, end, hours * 3600, work_dir)
            # promtool 2.42 ends each block's query a second before the block boundary: a
            # group whose evaluation offset falls in that last second loses the slot there.
            # Evaluate a few seconds around each boundary again, in blocks that do not end
            # there; identical samples of other groups are deduplicated by the TSDB.
            block_seconds = hours * 3600
            for boundary in range(int(start) - int(start) % block_seconds, int(end), block_seconds):
                if boundary <= start:
                    continue
                wider = next(
                    (ms // 1000 for ms in backfill.BLOCK_RANGES_MS if (boundary * 1000) % ms),
                    None,
                )
                if wider is not None:
                    _promtool_rules(server, path, boundary - 2, boundary + 2, wider, work_dir)
            runs.append(
                BackfillRun(rule_set.tool, depth, len(rules), start, end, time.monotonic() - began)
            )
            logger.info(
                "%s: backfilled %d rules of depth %d over %.1fh in %.1fs",
                rule_set.tool,
                len(rules),
                depth,
                (end - start) / 3600,
                runs[-1].seconds,
            )
        server.restart()
    return runs


def recording_rules(rule_sets: Iterable[RuleSet]) -> Sequence[Rule]:
    return [rule for rule_set in rule_sets for rule in rule_set.rules if rule.record]
