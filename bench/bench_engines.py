"""How many SLOs one operator evaluates per cycle against each engine.

    .venv/bin/python -m bench.bench_engines [--slos 1000] [--cycles 5]
    BENCH_ONLY=engines-cycle make bench        # into docs/benchmarks.md

The SLOs and recorded series of the evaluation-cycle benchmark (`bench_evaluation.manifest`,
`bench_evaluation.recorded_series`: 1d, 7d and 30d windows, every fifth grouped by three
tenants) held by each engine of `testkit.engines`:

- Prometheus 2.42 and Prometheus 3 on blocks their own promtool wrote from the OpenMetrics text;
- VictoriaMetrics with the same series imported through `/api/v1/import`;
- Thanos Query over `ThanosStack`'s shards (Prometheus 3 behind sidecars, shard-a as two
  replicas merged by deduplication, the tenants split between the shards).

On each, the operator's own `EvaluationLoop` runs `cycles` cycles at the benchmark's instant
through the engine's Prometheus query API. The statuses go back into the registry as the watch
would deliver them, so the cycles after the first write nothing; the status patches themselves
are not sent anywhere (the evaluation-cycle section sends them to a real apiserver; they do not
depend on the engine). Reported per engine: wall time of the first cycle and the median of the
others, the process's CPU time per cycle, queries per cycle, SLOs per second of wall time, and
how many SLIs equal those read from Prometheus 2.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from slo_operator.api import conditions
from slo_operator.backends import backend_config
from slo_operator.evaluation import loop, registry
from testkit import backfill, engines, prometheus

from . import bench_evaluation

LABELS = {
    "prometheus2": "Prometheus 2.42 (Debian)",
    "prometheus3": "Prometheus 3",
    "victoriametrics": "VictoriaMetrics (single node)",
    "thanos": "Thanos Query (2 shards, one replicated)",
}
KIND = "ServiceLevelObjective"


def _blocks(series_file: pathlib.Path, output: pathlib.Path, promtool: str) -> None:
    process = backfill.backfill_openmetrics_file(series_file, output, promtool=promtool)
    printed, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(printed.decode(errors="replace"))


@contextmanager
def _engine(
    engine: engines.Engine,
    bodies: list[dict[str, Any]],
    blocks: Mapping[str, pathlib.Path],
    work: pathlib.Path,
) -> Iterator[str]:
    """The query URL of ``engine`` holding the recorded series of ``bodies``."""
    work.mkdir(parents=True)
    if engine in ("prometheus2", "prometheus3"):
        binary, promtool = (
            engines.prometheus3_binaries()
            if engine == "prometheus3"
            else (prometheus.prometheus_binary(), prometheus.promtool_binary())
        )
        backfill.link_blocks(blocks[engine], work / "tsdb")
        with prometheus.PrometheusServer(
            work / "tsdb", work_dir=work / "server", binary=binary, promtool=promtool
        ) as server:
            yield server.url
    elif engine == "victoriametrics":
        stack = engines.VictoriaMetricsStack(None, work)
        with stack:
            stack.import_series(
                [
                    (labels, [(moment, value) for moment in sorted(set(moments))])
                    for labels, value, moments in bench_evaluation.recorded_series(bodies)
                ]
            )
            yield stack.url
    else:
        with engines.ThanosStack(None, work, blocks=blocks["prometheus3"]) as thanos:
            yield thanos.url


class _Unsent:
    """The status writer of this benchmark: the patches are counted by the loop, not sent."""

    async def patch_status(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        return None

    async def emit_event(
        self,
        ref: registry.ObjectRef,
        uid: str,
        reason: conditions.Reason,
        message: str,
        *,
        warning: bool,
    ) -> None:
        return None

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        raise LookupError("the benchmark's SLOs read no Secrets")


def _registry(bodies: list[dict[str, Any]]) -> registry.Registry:
    """The SLOs as the watch delivers them (a uid and a generation each)."""
    objects = registry.Registry()
    for index, body in enumerate(bodies):
        delivered = {**body, "metadata": {**body["metadata"], "uid": f"u-{index}", "generation": 1}}
        objects.upsert(KIND, delivered, handed_over=True)
    return objects


async def _cycles(url: str, bodies: list[dict[str, Any]], count: int) -> dict[str, Any]:
    """`count` cycles of the operator's loop against `url`; the SLIs of the last one."""
    objects = _registry(bodies)
    backends = backend_config.Backends(
        [backend_config.BackendConfig(name="default", url=url, timeout_seconds=120)]
    )
    evaluation = loop.EvaluationLoop(
        objects,
        backends,
        _Unsent(),
        loop.Settings(run_policy_actions=False),
        require_rules=False,
    )
    rows = []
    slis: dict[str, float | None] = {}
    for _ in range(count):
        cpu = time.process_time()
        report = await evaluation.run_cycle(bench_evaluation.AT, collect_statuses=True)
        cpu = time.process_time() - cpu
        if report.failed_backends:
            raise RuntimeError(f"{url}: {evaluation.last_errors}")
        rows.append(
            {
                "seconds": report.seconds,
                "cpu_seconds": cpu,
                "queries": report.queries,
                "patches": report.patches,
                "evaluated": report.evaluated,
            }
        )
        # What the watch delivers after the patches: every object with its new status.
        for ref, status in report.statuses.items():
            entry = objects.get(ref)
            assert entry is not None
            objects.upsert(KIND, {**entry.body, "status": status}, handed_over=True)
            slis[str(ref)] = status.get("sli")
    return {"cycles": rows, "slis": slis}


def _version(engine: engines.Engine) -> str:
    if engine == "prometheus2":
        argv = [prometheus.prometheus_binary(), "--version"]
    elif engine == "prometheus3":
        argv = [engines.prometheus3_binaries()[0], "--version"]
    elif engine == "victoriametrics":
        argv = [str(engines.engine_dir("victoriametrics") / "victoria-metrics"), "-version"]
    else:
        argv = [str(engines.engine_dir("thanos") / "thanos"), "--version"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def measure(count: int = 1_000, cycles: int = 5) -> dict[str, Any]:
    """Every engine of `testkit.engines` holding the series of `count` SLOs, `cycles` cycles
    each."""
    bodies = [bench_evaluation.manifest(index) for index in range(count)]
    load_before = os.getloadavg()
    began = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as scratch:
        folder = pathlib.Path(scratch)
        series_count = bench_evaluation.write_series(bodies, folder / "series.om")
        blocks = {"prometheus2": folder / "blocks-2", "prometheus3": folder / "blocks-3"}
        _blocks(folder / "series.om", blocks["prometheus2"], prometheus.promtool_binary())
        _blocks(folder / "series.om", blocks["prometheus3"], engines.prometheus3_binaries()[1])
        reference: dict[str, float | None] = {}
        for engine in engines.ENGINES:
            started = time.monotonic()
            with _engine(engine, bodies, blocks, folder / engine) as url:
                setup = time.monotonic() - started
                measured = asyncio.run(_cycles(url, bodies, cycles))
            reference = reference or measured["slis"]
            rows.append(
                {
                    "engine": engine,
                    "version": _version(engine),
                    "setup_seconds": setup,
                    "cycles": measured["cycles"],
                    "with_sli": sum(1 for sli in measured["slis"].values() if sli is not None),
                    "equal_to_first": sum(
                        1
                        for ref, sli in measured["slis"].items()
                        if sli is not None and _close(sli, reference.get(ref))
                    ),
                }
            )
    load_after = os.getloadavg()
    return {
        "slos": count,
        "series": series_count,
        "engines": rows,
        "seconds": time.monotonic() - began,
        "load_before": list(load_before),
        "load_after": list(load_after),
        "cores": os.cpu_count(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _close(value: float, other: float | None) -> bool:
    return other is not None and abs(value - other) <= 1e-9 * max(1.0, abs(other))


def steady(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The cycle after the first with the median wall time (the first if there is no other)."""
    later = list(row["cycles"][1:]) or list(row["cycles"][:1])
    median = statistics.median_low(cycle["seconds"] for cycle in later)
    return next(cycle for cycle in later if cycle["seconds"] == median)


SECTION = "## Evaluation cycle per engine"


def render(measured: Mapping[str, Any]) -> str:
    count = measured["slos"]
    first_engine = measured["engines"][0]["engine"] if measured["engines"] else ""
    lines = [
        SECTION,
        "",
        "[bench/bench_engines.py](../bench/bench_engines.py): the operator's own evaluation "
        f"loop over {count:,} SLOs (the evaluation-cycle section's SLOs: 1d, 7d and 30d windows, "
        "every fifth grouped by three tenants, two objectives) against each engine of "
        "[docs/engines.md](engines.md) holding the same recorded series "
        f"({measured['series']:,} series): Prometheus 2 and 3 on blocks written by their own "
        "promtool, VictoriaMetrics with the series imported through `/api/v1/import`, and "
        "Thanos Query over two Prometheus 3 shards behind sidecars (one shard as two replicas, "
        "merged by deduplication; the tenants split between the shards). Every engine is read "
        "through its Prometheus query API. The statuses go back into the registry as the watch "
        "would deliver them, so the cycles after the first write nothing; the status patches "
        "are not sent (the evaluation-cycle section sends them to a real apiserver; they do "
        "not depend on the engine).",
        "",
        "    BENCH_ONLY=engines-cycle make bench",
        "",
        "| Engine | first cycle | later cycle (median) | CPU time of the operator per later "
        "cycle | queries per cycle | status patches (first, later) | SLOs per second (later "
        f"cycle) | SLIs | equal to {LABELS.get(first_engine, first_engine)}'s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in measured["engines"]:
        first = row["cycles"][0]
        later = steady(row)
        lines.append(
            f"| {LABELS.get(row['engine'], row['engine'])} | {first['seconds']:.2f} s "
            f"| {later['seconds']:.2f} s | {later['cpu_seconds']:.2f} s | {later['queries']} "
            f"| {first['patches']:,}, {later['patches']:,} | {count / later['seconds']:,.0f} "
            f"| {row['with_sli']:,} | {row['equal_to_first']:,} |"
        )
    load_before = " ".join(f"{value:.2f}" for value in measured["load_before"])
    load_after = " ".join(f"{value:.2f}" for value in measured["load_after"])
    lines += [
        "",
        "Versions: "
        + "; ".join(
            f"{LABELS.get(row['engine'], row['engine'])} `{row['version']}`"
            for row in measured["engines"]
        )
        + ".",
        "",
        f"Measured {measured['date']} on {measured['cores']} cores shared with other work "
        f"(load average {load_before} before, {load_after} after; 1, 5 and 15 minutes), "
        f"{measured['seconds'] / 60:.1f} min in all with the engines' start-up. The engine runs "
        "on the same cores as the operator, so each wall time holds both sides; the CPU time "
        "is the operator's alone. The first cycle also parses every manifest.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=1_000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures there")
    args = parser.parse_args()
    measured = measure(args.slos, args.cycles)
    if args.json:
        args.json.write_text(json.dumps(measured, indent=1) + "\n")
    print(render(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
