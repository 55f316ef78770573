"""`slo-operator evaluate` over 10,000 SLOs against a Prometheus that never ran our rules.

    .venv/bin/python -m bench.bench_evaluate_offline [--slos 10000]

What a new user tries first: a fleet of SLO manifests against the Prometheus they already have,
before deploying any rule. 10,000 availability SLOs over one pair of selectors (the errors and
the total of `http_requests_total{job="checkout"}`), with 1d, 7d and 30d windows in turn, each
in one of 50 namespaces. A real Prometheus serves 31 days of two raw counters (one sample every
5 minutes, backfilled with promtool). The CLI runs as a user runs it (`evaluate -f FILE
--prometheus-url URL --at TIME -o json`); measured: its wall time, and the queries it sent, read
from that Prometheus' own `prometheus_http_requests_total{handler="/api/v1/query"}`. Every SLO
must come back measured from the raw series with the exact SLI of the data.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

import yaml

from testkit import backfill, prometheus

from . import summary_rows

WINDOWS = (("1d", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400))
END = 1_767_225_600  # 2026-01-01T00:00:00Z
STEP = 300
DAYS = 31
GOOD_PER_STEP = 997
BAD_PER_STEP = 3
TARGET_SECONDS = 20.0
TARGET_QUERIES = 100
ERRORS = 'http_requests_total{job="checkout",code=~"5.."}'
TOTAL = 'http_requests_total{job="checkout"}'


def manifest(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": f"checkout-{index:05d}", "namespace": f"team-{index % 50:02d}"},
        "spec": {
            "service": "checkout",
            "indicator": {"ratio": {"errors": ERRORS, "total": TOTAL}},
            "window": WINDOWS[index % len(WINDOWS)][0],
            "objectives": [{"name": "standard", "target": 99.5}],
        },
    }


def write_raw_series(path: pathlib.Path) -> None:
    """Two counters, 200s and 500s, growing by a fixed amount every step for 31 days."""
    start = END - DAYS * 86_400
    lines = ["# TYPE http_requests counter"]
    for code, per_step in (("200", GOOD_PER_STEP), ("500", BAD_PER_STEP)):
        labels = f'{{job="checkout",code="{code}"}}'
        for step, moment in enumerate(range(start, END + 1, STEP)):
            lines.append(f"http_requests_total{labels} {step * per_step} {moment}")
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")


PHASES_DRIVER = """
import functools, io, json, sys, time
began = time.process_time()
from slo_operator import cli
from slo_operator.api import validation
from slo_operator.evaluation import loop, offline
cpu = {"imports": time.process_time() - began}
def timed(owner, attribute, phase):
    function = getattr(owner, attribute)
    async def run_async(*args, **kwargs):
        began = time.process_time()
        try:
            return await function(*args, **kwargs)
        finally:
            cpu[phase] = cpu.get(phase, 0.0) + time.process_time() - began
    def run(*args, **kwargs):
        began = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            cpu[phase] = cpu.get(phase, 0.0) + time.process_time() - began
    wrapper = run_async if attribute in ("run_cycle", "_from_raw_series", "evaluate") else run
    setattr(owner, attribute, functools.wraps(function)(wrapper))
timed(validation, "load_resources", "read and check the manifests")
timed(loop.EvaluationLoop, "run_cycle", "the operator's cycle (no recorded series)")
timed(offline, "_from_raw_series", "raw series: plan, queries, statuses")
timed(offline, "evaluate", "evaluate")
stdout, sys.stdout = sys.stdout, io.StringIO()
began = time.process_time()
cli.main(sys.argv[1:])
sys.stdout = stdout
run = time.process_time() - began
cpu["registry and the rest of evaluate"] = (
    cpu.pop("evaluate") - cpu["the operator's cycle (no recorded series)"]
    - cpu["raw series: plan, queries, statuses"]
)
cpu["output (-o json) and the rest"] = run - cpu["read and check the manifests"] - sum(
    cpu[phase] for phase in ("the operator's cycle (no recorded series)",
                             "raw series: plan, queries, statuses",
                             "registry and the rest of evaluate"))
cpu["total"] = time.process_time()
print(json.dumps(cpu))
"""
"""Runs the CLI in-process with each phase's CPU time (`time.process_time`, unaffected by other
work on the machine) summed: reading and checking the manifests, the operator's cycle, the raw
series path, the output."""

PROFILE_BEFORE = {
    "commit": "908c463",
    "wall": "24.2 s and 29.4 s of wall time at load averages 10.8 and 9.7",
    "cpu": {
        "imports": 1.00,
        "read and check the manifests": 5.21,
        "the operator's cycle (no recorded series)": 3.47,
        "raw series: plan, queries, statuses": 2.47,
        "registry and the rest of evaluate": 1.53,
        "output (-o json) and the rest": 1.02,
        "total": 14.74,
    },
}
"""`PHASES_DRIVER` on the same input before `evaluate` was sped up (commit 908c463), measured
2026-12-01 at load average 10, back to back with the code that sped it up (7.5 s in total).
Its cycle spent 1.5 s parsing every SLO again for the SLA evaluator, and the cyclic garbage
collector about a third of the whole."""


def phases(cli: pathlib.Path, manifests: pathlib.Path, url: str, at: str) -> dict[str, float]:
    """CPU seconds per phase of the benchmark's command (`PHASES_DRIVER`)."""
    done = subprocess.run(
        [str(cli.parent / "python"), "-c", PHASES_DRIVER, "evaluate", "-f", str(manifests),
         "--prometheus-url", url, "--at", at, "-o", "json"],
        capture_output=True, text=True, check=True, timeout=1800,
    )  # fmt: skip
    found: dict[str, float] = json.loads(done.stdout)
    return found


def query_requests(url: str) -> float:
    """Instant queries this Prometheus has answered, from its own metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("prometheus_http_requests_total{") and 'handler="/api/v1/query"' in line
    )


def measure(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as scratch:
        folder = pathlib.Path(scratch)
        write_raw_series(folder / "raw.om")
        process = backfill.backfill_openmetrics_file(folder / "raw.om", folder / "blocks")
        output, _ = process.communicate()
        if process.returncode:
            raise RuntimeError(output.decode())
        manifests = folder / "slos.yaml"
        manifests.write_text(yaml.safe_dump_all([manifest(index) for index in range(count)]))
        cli = pathlib.Path(sys.executable).parent / "slo-operator"
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(END))
        with prometheus.PrometheusServer(folder / "blocks", work_dir=folder / "prom") as server:
            before = query_requests(server.url)
            began = time.monotonic()
            done = subprocess.run(
                [str(cli), "evaluate", "-f", str(manifests), "--prometheus-url", server.url,
                 "--at", at, "-o", "json"],
                capture_output=True, text=True, check=False, timeout=1800,
            )  # fmt: skip
            seconds = time.monotonic() - began
            queries = query_requests(server.url) - before
            cpu = phases(cli, manifests, server.url, at)
    if done.returncode:
        raise RuntimeError(f"evaluate failed: {done.stderr[-2000:]}")
    found = json.loads(done.stdout)
    expected = round(100 * GOOD_PER_STEP / (GOOD_PER_STEP + BAD_PER_STEP), 3)
    measured = [item for item in found if item["status"].get("source") == "RawSeries"]
    exact = [item for item in measured if abs(item["status"]["sli"] - expected) < 1e-9]
    return {
        "slos": count,
        "windows": [label for label, _ in WINDOWS],
        "seconds": seconds,
        "queries": int(queries),
        "raw_series_slos": len(measured),
        "exact_slos": len(exact),
        "expected_sli": expected,
        "command": f"slo-operator evaluate -f slos.yaml --prometheus-url URL --at {at} -o json",
        "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "cpu": cpu,
    }


SECTION = "## Offline `evaluate` without recorded series"


def summary(measured: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the page's summary table."""
    what = f"`evaluate`, {measured['slos']:,} SLOs, no recorded series"
    return [
        summary_rows.row(
            f"{what}: wall time",
            f"≤ {TARGET_SECONDS:g} s",
            f"{measured['seconds']:.1f} s",
            measured["seconds"] / TARGET_SECONDS,
            measured["seconds"] <= TARGET_SECONDS,
        ),
        summary_rows.row(
            f"{what}: queries sent",
            f"≤ {TARGET_QUERIES}",
            str(measured["queries"]),
            measured["queries"] / TARGET_QUERIES,
            measured["queries"] <= TARGET_QUERIES,
        ),
    ]


def render(measured: dict[str, Any]) -> str:
    load = "."
    if "load" in measured:
        load = f"; load average {measured['load']} at the end of the run."
    lines = [
        SECTION,
        "",
        "[bench/bench_evaluate_offline.py](../bench/bench_evaluate_offline.py): "
        f"{measured['slos']:,} availability SLOs on one pair of selectors "
        f"(`{ERRORS}` / `{TOTAL}`), windows {', '.join(measured['windows'])} in turn, against "
        "a real Prometheus holding 31 days of the two raw counters and none of our recorded "
        "series — a new user's first try. The CLI measures every SLO from the raw series; it "
        "sends every distinct query once for all SLOs. Queries are counted by that "
        'Prometheus (`prometheus_http_requests_total{handler="/api/v1/query"}`).',
        "",
        "| SLOs | wall time | queries | measured from raw series | exact SLI |",
        "|---|---|---|---|---|",
        f"| {measured['slos']:,} | {measured['seconds']:.1f} s | {measured['queries']} "
        f"| {measured['raw_series_slos']:,} | {measured['exact_slos']:,} "
        f"({measured['expected_sli']}%) |",
        "",
        f"Command: `{measured['command']}`. The wall time includes reading and checking the "
        "manifests and one evaluation cycle of the operator's loop (which finds no recorded "
        f"series) before the raw queries{load}",
        "",
    ]
    if "cpu" in measured:
        lines += _profile(measured["cpu"])
    return "\n".join(lines)


def _profile(cpu: dict[str, float]) -> list[str]:
    """Where the CPU time goes, before the speed-up (`PROFILE_BEFORE`) and in this run."""
    before = PROFILE_BEFORE["cpu"]
    assert isinstance(before, dict)
    lines = [
        "Where the time goes: CPU seconds per phase of the same command (`PHASES_DRIVER`; "
        "unlike wall time, CPU time hardly depends on other work on the machine). Before, at "
        f"commit {PROFILE_BEFORE['commit']} ({PROFILE_BEFORE['wall']} here), the SLA "
        "evaluator parsed every SLO again in the operator's cycle, the cyclic garbage "
        "collector re-scanned the 10,000 models kept alive, the raw series path planned each "
        "SLO's queries again and `-o json` indented in pure Python. Now only SLOs an SLA "
        "commits to are parsed there, the collector is off for the run (as in `generate`), a "
        "window is planned once per window shape and each distinct status is indented once "
        "(the output is byte-identical).",
        "",
        "| phase | CPU before | CPU now |",
        "|---|---|---|",
    ]
    for phase, seconds in before.items():
        lines.append(f"| {phase} | {seconds:.2f} s | {cpu.get(phase, float('nan')):.2f} s |")
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    args = parser.parse_args(argv)
    measured = measure(args.slos)
    print(json.dumps(measured, indent=1))
    print(render(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
