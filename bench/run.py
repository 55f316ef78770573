"""``make bench``: every benchmark in one run, then docs/benchmarks.md rewritten.

    .venv/bin/python -m bench [--quick] [--only generate,ui] [--output docs/benchmarks.md]
    BENCH_ONLY=generate make bench        # one section (the page then holds only it)
    BENCH_SOAK_SLOS=10000 make bench      # the soak at 10,000 SLOs / 1,000 SLAs (> 1 h)

1. Prometheus cost per evaluation cycle of each tool's rules for the same SLOs (:mod:`bench.cost`),
   on Prometheus 2.42 and again on Prometheus 3 (``measure_engine_costs``).
2. Long-window SLI error against the exact truth, per tool and slo-generator
   (:mod:`bench.accuracy`).
3. Offline ``generate`` for 10,000 SLOs against ``sloth generate`` (:mod:`bench.generate_speed`).
4. Alert detection time and false alerts on the scripted incidents (:mod:`bench.alerts`).
5. The sections of :mod:`bench.sections`: offline ``evaluate`` without recorded series, the
   evaluation cycle on a control plane, the operator at scale, the web UI.

Every figure of the page comes from this one run: results.json is written anew with what was
measured, and the page is rendered from it alone (no section is kept from an earlier page).

Peers are installed first (``bench/install-peers.sh``, idempotent, into ~/.cache). The raw data
is generated and backfilled once per scenario and cached; each tool's rules are backfilled into
its own TSDB in a scratch folder (``--work-dir``), which is deleted at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from testkit import backfill, engines, prometheus, synthetic

from . import (
    accuracy,
    alerts,
    bench_soak,
    cost,
    data,
    generate_speed,
    harness,
    peers,
    report,
    sections,
    specs,
)

logger = logging.getLogger("bench")

REPO = Path(__file__).resolve().parent.parent


@dataclasses.dataclass
class Results:
    started: str
    environment: dict[str, str]
    peers: dict[str, dict[str, str]]
    scenario: dict[str, Any]
    at: float
    sli_times: list[float]
    costs: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    readings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    alerts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    generate: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    setup_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    slo_generator_samples: dict[str, int] = dataclasses.field(default_factory=dict)
    generate_phases: dict[str, float] = dataclasses.field(default_factory=dict)
    generate_profiles: dict[str, Any] = dataclasses.field(default_factory=dict)
    engine_costs: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    """Benchmark 1 on the other engines that count samples (`costs` is Prometheus 2.42's)."""
    sections: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Data of the `bench.sections` benchmarks run, by name."""
    run: list[str] = dataclasses.field(default_factory=list)
    """The sections measured in this run (`ALL_SECTIONS`)."""
    notes: list[str] = dataclasses.field(default_factory=list)


ALL_SECTIONS = tuple(report.all_sections())


def _first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return "missing"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ""
    )


def environment() -> dict[str, str]:
    memory = "?"
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    cpu = "?"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    os_name = "?"
    if Path("/etc/os-release").is_file():
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    commit = _first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
    load = os.getloadavg()
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "memory": memory,
        "os": f"{os_name}, Linux {platform.release()}",
        "python": platform.python_version(),
        "prometheus": _first_line([prometheus.prometheus_binary(), "--version"]),
        "promtool": _first_line([backfill.promtool_binary(), "--version"]),
        "slo-operator": f"{commit}{' (uncommitted changes)' if dirty else ''}",
        "sloth": peers.sloth_version(),
        "hyperfine": _first_line(["hyperfine", "--version"]),
        "load at start": f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
    }


@dataclasses.dataclass
class MeasuredCosts:
    rules: list[cost.RuleCost]
    setup_seconds: dict[str, float]
    slo_generator_samples: dict[str, int] = dataclasses.field(default_factory=dict)
    """Samples slo-generator's queries read for one SLI computation, per SLO."""


def measure_tools(
    tools: list[str],
    items: list[specs.BenchSlo],
    synthetic_data: synthetic.SyntheticData,
    raw: Path,
    work: Path,
    *,
    at: float,
    sli_times: list[float],
    repeats: int = 5,
    with_slo_generator: bool = False,
) -> tuple[MeasuredCosts, list[accuracy.Reading]]:
    """Benchmarks 1 and 2: per tool, one Prometheus with its rules, every rule's cost at
    ``at``, the SLI readings at ``sli_times`` (and slo-generator's on the first server)."""
    measured = MeasuredCosts([], {})
    readings: list[accuracy.Reading] = []
    for tool in tools:
        began = time.monotonic()
        tool_server = harness.start_tool(
            tool,
            items,
            raw,
            work,
            at=at,
            sli_from=min(sli_times),
            data_start=synthetic_data.scenario.start,
        )
        measured.setup_seconds[tool] = time.monotonic() - began
        try:
            measured.rules += cost.measure(tool_server, items, at, repeats=repeats)
            readings += accuracy.read_tool(tool_server, synthetic_data, items, sli_times)
            if with_slo_generator and tool == tools[0]:
                generator_readings, queries = accuracy.read_slo_generator(
                    tool_server.server.url, synthetic_data, items, sli_times
                )
                readings += generator_readings
                for name, sent in queries.items():
                    measured.slo_generator_samples[name] = sum(
                        tool_server.server.query_stats(query, at).total_queryable_samples
                        for query in sent
                    )
        finally:
            tool_server.server.stop()
    return measured, readings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=REPO / "docs/benchmarks.md")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=peers.cache_dir().parent / "bench-work",
        help="scratch TSDBs and generated inputs (deleted at the end unless --keep)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--quick", action="store_true", help="small scale, no report (smoke)")
    parser.add_argument(
        "--only",
        default=os.environ.get("BENCH_ONLY", ""),
        help="comma-separated sections to run (default: all; env BENCH_ONLY): "
        + ", ".join(ALL_SECTIONS),
    )
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--skip-alerts", action="store_true")
    parser.add_argument("--skip-operator-scale", action="store_true")
    parser.add_argument("--skip-ui", action="store_true")
    parser.add_argument("--repeats", type=int, default=5, help="timed evaluations per rule")
    parser.add_argument("--generate-runs", type=int, default=3)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite the page and charts from docs/benchmarks/results.json",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        saved = json.loads((args.output.parent / "benchmarks/results.json").read_text())
        write_report(saved, args.output)
        return 0
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(ALL_SECTIONS)
    unknown = sorted(set(chosen) - set(ALL_SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(ALL_SECTIONS)}")
    skipped = {
        "generate": args.skip_generate,
        "alerts": args.skip_alerts,
        "operator-scale": args.skip_operator_scale,
        "ui": args.skip_ui,
    }
    selected = [name for name in ALL_SECTIONS if name in chosen and not skipped.get(name)]
    if "soak" in selected:
        try:
            bench_soak.size_from_environment(os.environ)
        except ValueError as error:
            parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    began = time.monotonic()
    installed = peers.install()
    results = Results(
        started=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        environment=environment(),
        peers={name: dataclasses.asdict(peer) for name, peer in installed.items()},
        scenario={},
        at=0.0,
        sli_times=[],
        run=selected,
    )
    # Which Pyrra was measured, and how far bench/pyrra.py's fallback is from it.
    results.peers.setdefault("pyrra", {"name": "pyrra", "status": "reproduced", "detail": ""})
    results.peers["pyrra"]["source"] = peers.pyrra_source()
    results.environment["slo-generator"] = installed.get(
        "slo-generator", peers.Peer("", "", "?")
    ).detail.split(" ")[-1]
    tools = [
        tool
        for tool in harness.TOOLS
        if tool != "sloth"
        or installed.get("sloth", peers.Peer("", "missing", "")).status == "built"
    ]

    work = args.work_dir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        if "cost" in selected or "alerts" in selected:
            measure_against_peers(args, results, tools, installed, work)
        if "generate" in selected and not args.quick:
            results.generate = [
                dataclasses.asdict(timing)
                for timing in generate_speed.run(work / "generate", runs=args.generate_runs)
            ]
            inputs = work / "generate/inputs/ours"
            results.generate_phases = generate_speed.phases(inputs)
            results.generate_profiles = generate_speed.profiles(inputs, work / "generate")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for section in sections.SECTIONS:
        if section.name in selected and not args.quick:
            logger.info("section %s", section.name)
            results.sections[section.name] = section.measure()

    results.environment["wall time"] = f"{(time.monotonic() - began) / 60:.1f} min"
    if args.quick:
        json.dump(dataclasses.asdict(results), sys.stdout, indent=1)
        return 0
    saved = dataclasses.asdict(results)
    charts = args.output.parent / "benchmarks"
    charts.mkdir(parents=True, exist_ok=True)
    (charts / "results.json").write_text(json.dumps(saved, indent=1) + "\n")
    write_report(saved, args.output)
    return 0


def measure_engine_costs(
    tools: list[str],
    items: list[specs.BenchSlo],
    scenario: synthetic.Scenario,
    work: Path,
    *,
    at: float,
    repeats: int,
) -> dict[str, list[dict[str, Any]]]:
    """Benchmark 1 again on each other engine that counts samples (Prometheus 3): the same
    data, written by its own promtool, and the same rules of every tool, backfilled by it."""
    found: dict[str, list[dict[str, Any]]] = {}
    for engine in harness.COUNTING_ENGINES[1:]:
        _, raw = harness.raw_blocks(scenario, engine)
        rows: list[dict[str, Any]] = []
        for tool in tools:
            logger.info("cost of %s's rules on %s", tool, engine)
            tool_server = harness.start_tool(
                tool, items, raw, work, at=at, sli_from=at, data_start=scenario.start, engine=engine
            )
            try:
                measured = cost.measure(tool_server, items, at, repeats=repeats)
                rows += [dataclasses.asdict(item) for item in measured]
            finally:
                tool_server.server.stop()
        found[engine] = rows
    return found


def measure_against_peers(
    args: argparse.Namespace,
    results: Results,
    tools: list[str],
    installed: dict[str, peers.Peer],
    work: Path,
) -> None:
    """Benchmarks 1, 2 and 4 on the synthetic scenario: cost, accuracy, alerts."""
    scenario = data.scenario(tenants=2) if args.quick else data.scenario()
    items = list(specs.SINGLE if args.quick else specs.MULTI)
    results.peers["pyrra"]["reproduction_differences"] = peers.pyrra_reproduction_differences(items)
    results.scenario = data.describe(scenario)
    synthetic_data, raw = harness.raw_blocks(scenario)
    at = float(scenario.end - 600)
    sli_times = [at - k * 6180 + (0, 17, 31, 46)[k] for k in range(1 if args.quick else 4)]
    results.at = at
    results.sli_times = sli_times
    if "cost" in results.run:
        costs, readings = measure_tools(
            tools,
            items,
            synthetic_data,
            raw,
            work,
            at=at,
            sli_times=sli_times,
            repeats=args.repeats,
            with_slo_generator="slo-generator" in installed,
        )
        for name, seconds in costs.setup_seconds.items():
            results.setup_seconds[name] = seconds
        results.costs = [dataclasses.asdict(item) for item in costs.rules]
        results.slo_generator_samples = costs.slo_generator_samples
        results.readings = [
            {**dataclasses.asdict(reading), "error_pp": reading.error_pp} for reading in readings
        ]
        if not args.quick:
            results.engine_costs = measure_engine_costs(
                tools, items, scenario, work, at=at, repeats=args.repeats
            )
            results.environment["prometheus 3"] = _first_line(
                [engines.prometheus3_binaries()[0], "--version"]
            )
    if "alerts" in results.run and not args.quick:
        results.alerts = [
            dataclasses.asdict(row) for row in alerts.run(tools, items, synthetic_data, raw, work)
        ]


def write_report(results: dict[str, Any], output: Path) -> None:
    """The page and its charts from the saved results of one run, and nothing else."""
    rendered = report.render(results, output.parent / "benchmarks", output.parent)
    output.write_text(rendered)
    logger.info("wrote %s", output)
