"""Load and soak: many SLOs and SLAs on a real control plane, evaluated against a real Prometheus.

    .venv/bin/python -m bench.bench_soak [--slos 1000 --slas 100 --soak 300] [--write FILE]
    BENCH_SOAK_SLOS=10000 make bench        # the large variant inside `make bench`

`make bench` runs the default size (`SIZES["default"]`: 1,000 SLOs, 100 SLAs, a 5-minute soak;
about 10 minutes on 2 cores) so that the whole page comes from one run; the large variant
(`BENCH_SOAK_SLOS=10000`: 10,000 SLOs, 1,000 SLAs, a 10-minute soak) takes about 45 minutes
there (41 minutes in one run on its own).

A fresh `ControlPlane` (our CRDs, the prometheus-operator CRDs) and `slo-operator run` as a
process with PrometheusRule output, the validating webhook on, and the evaluation loop reading a
real Prometheus. The SLOs are `bench_evaluation.manifest`'s (1d, 7d and 30d windows, every fifth
grouped by three tenants, two objectives); each SLA commits to one ungrouped SLO. Prometheus
holds, backfilled with promtool, the recorded series the SLOs' status queries read and the
level-1 minutes the SLAs' attainment sums, at the test clock's instant (`SLO_OPERATOR_TEST_NOW`):
every cycle reads the same data, so after the first measurement nothing changes and the loop
must write nothing.

Measured: the wall time of applying everything (`kubectl apply --server-side`, four at a time,
each create through the webhook); the time until every SLO is Ready with an SLI and every SLA
Ready with an attainment; then over the soak, from the operator's own metrics and the
apiserver's `apiserver_request_total`: cycles, their mean duration, queries and status writes
per cycle, apiserver writes per cycle on SLOs, SLAs and PrometheusRules, and the operator's
resident memory sampled every few seconds (first minute, last minute, peak).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import pathlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from bench import bench_evaluation, bench_operator_scale
from testkit import backfill, controlplane, operator_process, prometheus

AT = bench_evaluation.AT
NAMESPACES = 10
NAMESPACE_PREFIX = "soak-"
SLA_PATH = "/apis/slo.dev/v1alpha1/servicelevelagreements"
RESOURCES = ("servicelevelobjectives", "servicelevelagreements", "prometheusrules")
LEVEL1 = ("slo:sli_total:increase1m", "slo:sli_bad:increase1m")
"""The level-1 series an SLA's attainment sums over the period so far (ratio SLOs)."""


@dataclasses.dataclass(frozen=True)
class Size:
    slos: int
    slas: int
    soak_seconds: float
    """Long enough for the RSS of the first and of the last minute to be compared."""


SIZES = {
    "default": Size(1_000, 100, 300.0),
    "large": Size(10_000, 1_000, 600.0),
}
SIZE_VARIABLE = "BENCH_SOAK_SLOS"


def size_from_environment(environment: Mapping[str, str]) -> Size:
    """The size `make bench` runs: the default, or `BENCH_SOAK_SLOS=N` SLOs with a tenth as
    many SLAs (the large variant's soak length from 10,000 SLOs up). A value that is not a
    positive number of at least 10 SLOs is refused naming the variable."""
    text = environment.get(SIZE_VARIABLE, "").strip()
    if not text:
        return SIZES["default"]
    try:
        slos = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{SIZE_VARIABLE}={text!r}: not a whole number of SLOs") from None
    if slos < 10:
        raise ValueError(f"{SIZE_VARIABLE}={text!r}: at least 10 SLOs (one SLA per 10)")
    large = slos >= SIZES["large"].slos
    soak = SIZES["large" if large else "default"].soak_seconds
    return Size(slos, slos // 10, soak)


def slo_manifests(count: int) -> list[dict[str, Any]]:
    bodies = []
    for index in range(count):
        body = bench_evaluation.manifest(index)
        body["metadata"] = {
            "name": body["metadata"]["name"],
            "namespace": f"{NAMESPACE_PREFIX}{index % NAMESPACES:02d}",
        }
        bodies.append(body)
    return bodies


def sla_manifests(slos: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """One SLA per ungrouped SLO, in order, until `count`: a 99% commitment on a 99.5% SLO."""
    ungrouped = [body for body in slos if "groupBy" not in body["spec"]][:count]
    if len(ungrouped) < count:
        raise ValueError(f"{count} SLAs need {count} ungrouped SLOs; raise --slos")
    return [
        {
            "apiVersion": "slo.dev/v1alpha1",
            "kind": "ServiceLevelAgreement",
            "metadata": {"name": f"sla-{index:05d}", "namespace": slo["metadata"]["namespace"]},
            "spec": {
                "customer": f"customer-{index}",
                "period": "Month",
                "timeZone": "UTC",
                "commitments": [
                    {
                        "name": "availability",
                        "sloRef": {"name": slo["metadata"]["name"]},
                        "target": 99.0,
                    }
                ],
                "credits": [{"below": 99.0, "creditPercent": 10}],
            },
        }
        for index, slo in enumerate(ungrouped)
    ]


def write_data(slos: list[dict[str, Any]], slas: list[dict[str, Any]], path: pathlib.Path) -> int:
    """The SLOs' recorded series (bench_evaluation.write_series) and, for the SLAs' SLOs,
    a level-1 point per minute of the month so far (00:00 to the test clock's 00:05)."""
    count = bench_evaluation.write_series(slos, path)
    text = path.read_text()
    assert text.endswith("# EOF\n")
    minutes = [AT.timestamp() - 60 * back for back in range(5)]
    committed = {
        (sla["metadata"]["namespace"], sla["spec"]["commitments"][0]["sloRef"]["name"])
        for sla in slas
    }
    with path.open("w") as output:
        output.write(text.removesuffix("# EOF\n"))
        for name in LEVEL1:
            output.write(f"# TYPE {name.replace(':', '_')} gauge\n")
            for index, (namespace, slo) in enumerate(sorted(committed)):
                value = 1000.0 if name == LEVEL1[0] else float(index % 7)
                prefix = f'{name}{{slo="{slo}",slo_namespace="{namespace}"}}'
                output.write("".join(f"{prefix} {value} {m:.0f}\n" for m in sorted(minutes)))
                count += 1
        output.write("# EOF\n")
    return count


def _apply(plane: controlplane.ControlPlane, path: pathlib.Path) -> None:
    plane.kubectl("apply", "--server-side", "-f", str(path), timeout=3600)


def _ready(body: dict[str, Any]) -> bool:
    status = body.get("status") or {}
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = conditions.get("Ready") or {}
    if ready.get("status") != "True":
        return False
    if body["kind"] == "ServiceLevelObjective":
        return status.get("sli") is not None
    commitments = (status.get("currentPeriod") or {}).get("commitments") or []
    return bool(commitments) and all(c.get("attainment") is not None for c in commitments)


def _requests(plane: controlplane.ControlPlane) -> Counter[tuple[str, str]]:
    return bench_operator_scale.Cluster(plane).requests(RESOURCES)


def _writes(counts: Counter[tuple[str, str]]) -> int:
    return sum(n for (_, verb), n in counts.items() if verb in bench_operator_scale.WRITE_VERBS)


def _operator_counters(running: operator_process.OperatorProcess) -> dict[str, float]:
    """The loop's counters from one scrape of the operator's `/metrics`, and how long the
    scrape took (it lists every SLO's series)."""
    began = time.monotonic()
    text = running.metrics(timeout=120)
    names = {
        "cycles": "slo_operator_evaluation_cycles_total",
        "queries": "slo_operator_evaluation_queries_total",
        "patches": "slo_operator_evaluation_status_patches_total",
        "seconds": "slo_operator_evaluation_duration_seconds_sum",
        "errors": "slo_operator_evaluation_errors_total",
    }
    found = {key: running.metric_sum(name, text) for key, name in names.items()}
    found["scrape_seconds"] = time.monotonic() - began
    return found


def measure(
    slo_count: int,
    sla_count: int,
    soak_seconds: float,
    interval: float,
    *,
    ready_timeout: float = 3600.0,
    log: Callable[[str], None] = lambda line: print(line, flush=True),
) -> dict[str, Any]:
    """Apply, wait until everything is Ready with numbers, soak; every figure in a dict."""
    slos = slo_manifests(slo_count)
    slas = sla_manifests(slos, sla_count)
    results: dict[str, Any] = {"slos": slo_count, "slas": sla_count, "interval": interval}
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as scratch:
        folder = pathlib.Path(scratch)
        began = time.monotonic()
        results["series"] = write_data(slos, slas, folder / "series.om")
        process = backfill.backfill_openmetrics_file(folder / "series.om", folder / "blocks")
        output, _ = process.communicate()
        if process.returncode:
            raise RuntimeError(output.decode())
        results["backfill_seconds"] = time.monotonic() - began
        log(f"{results['series']} series backfilled in {results['backfill_seconds']:.0f}s")
        with (
            prometheus.PrometheusServer(folder / "blocks", work_dir=folder / "prom") as server,
            controlplane.ControlPlane() as plane,
        ):
            for index in range(NAMESPACES):
                plane.create_namespace(f"{NAMESPACE_PREFIX}{index:02d}")
            running = operator_process.OperatorProcess(
                [
                    f"--namespace={NAMESPACE_PREFIX}*",
                    "--rule-output=PrometheusRule",
                    f"--prometheus-url={server.url}",
                    f"--evaluation-interval={interval}",
                ],
                kubeconfig=plane.kubeconfig,
                env={"SLO_OPERATOR_TEST_NOW": AT.isoformat()},
                log_dir=folder / "operator",
            )
            (folder / "operator").mkdir()
            running.start(timeout=120)
            try:
                results.update(
                    _load_and_soak(
                        plane, running, slos, slas, folder, soak_seconds, ready_timeout, log
                    )
                )
            finally:
                running.stop()
    load = pathlib.Path("/proc/loadavg").read_text().split()[0]
    results["load_average_end"] = float(load)
    results["measured"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return results


def _load_and_soak(
    plane: controlplane.ControlPlane,
    running: operator_process.OperatorProcess,
    slos: list[dict[str, Any]],
    slas: list[dict[str, Any]],
    folder: pathlib.Path,
    soak_seconds: float,
    ready_timeout: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    assert running.process is not None
    pid = running.process.pid
    results: dict[str, Any] = {"rss_idle_mb": bench_operator_scale.vm_field(pid, "VmRSS")}
    files = []
    bodies = slos + slas
    for part in range(4):
        path = folder / f"apply-{part}.yaml"
        path.write_text(yaml.safe_dump_all(bodies[part::4], sort_keys=False))
        files.append(path)
    began, cpu_before = time.monotonic(), bench_operator_scale.cpu_seconds(pid)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda path: _apply(plane, path), files))
    results["apply_seconds"] = time.monotonic() - began
    log(f"applied {len(bodies)} objects in {results['apply_seconds']:.0f}s")

    def not_ready(path: str) -> int:
        response = plane.api_request("GET", path, timeout=300)
        items = response.body.get("items", []) if isinstance(response.body, dict) else []
        return len(bodies_of(path)) - sum(1 for item in items if _ready(item))

    def bodies_of(path: str) -> list[dict[str, Any]]:
        return slos if path == bench_operator_scale.SLO_PATH else slas

    pending = {bench_operator_scale.SLO_PATH: len(slos), SLA_PATH: len(slas)}
    deadline = began + ready_timeout
    poll = 2.0 if len(bodies) < 2000 else 10.0
    while any(pending.values()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not Ready with numbers after {ready_timeout:.0f}s: {pending}")
        time.sleep(poll)
        for path in list(pending):
            if pending[path]:
                pending[path] = not_ready(path)
                if not pending[path]:
                    key = "slos" if path == bench_operator_scale.SLO_PATH else "slas"
                    results[f"{key}_ready_seconds"] = time.monotonic() - began
                    log(
                        f"all {key} Ready with numbers after {results[f'{key}_ready_seconds']:.0f}s"
                    )
    results["rss_after_ready_mb"] = bench_operator_scale.vm_field(pid, "VmRSS")
    results["cpu_until_ready_seconds"] = bench_operator_scale.cpu_seconds(pid) - cpu_before

    # The soak: steady state, nothing changes in the data or the objects.
    time.sleep(max(running_interval(running) * 2, 2.0))
    counters_before, requests_before = _operator_counters(running), _requests(plane)
    samples: list[tuple[float, float]] = []
    soak_began, soak_cpu = time.monotonic(), bench_operator_scale.cpu_seconds(pid)
    while time.monotonic() - soak_began < soak_seconds:
        samples.append((time.monotonic() - soak_began, bench_operator_scale.vm_field(pid, "VmRSS")))
        time.sleep(min(5.0, soak_seconds / 20))
    soak_cpu = bench_operator_scale.cpu_seconds(pid) - soak_cpu
    counters_after, requests_after = _operator_counters(running), _requests(plane)
    delta = {key: counters_after[key] - counters_before[key] for key in counters_after}
    writes = _writes(requests_after - requests_before)
    cycles = max(delta["cycles"], 1.0)
    minute = min(60.0, soak_seconds / 4)
    first = [rss for at, rss in samples if at <= minute]
    last = [rss for at, rss in samples if at >= samples[-1][0] - minute]
    results.update(
        {
            "soak_seconds": soak_seconds,
            "soak_cycles": int(delta["cycles"]),
            "cycle_seconds_mean": delta["seconds"] / cycles,
            "cpu_per_cycle_seconds": soak_cpu / cycles,
            "queries_per_cycle": delta["queries"] / cycles,
            "status_patches_per_cycle": delta["patches"] / cycles,
            "apiserver_writes_per_cycle": writes / cycles,
            "evaluation_errors": int(delta["errors"]),
            "metrics_scrape_seconds": max(
                counters_before["scrape_seconds"], counters_after["scrape_seconds"]
            ),
            "rss_first_minute_mb": statistics.median(first),
            "rss_last_minute_mb": statistics.median(last),
            "rss_peak_mb": max(rss for _, rss in samples),
            "rss_samples": len(samples),
        }
    )
    log(json.dumps({k: v for k, v in results.items() if not isinstance(v, list)}))
    return results


def running_interval(running: operator_process.OperatorProcess) -> float:
    for argument in running.args:
        if argument.startswith("--evaluation-interval="):
            return float(argument.split("=", 1)[1])
    return 60.0


SECTION = "## Load and soak"


def render(results: dict[str, Any]) -> str:
    r = results
    lines = [
        SECTION,
        "",
        "`bench/bench_soak.py`: SLOs and SLAs applied on a fresh control plane (four `kubectl "
        "apply --server-side` at a time, each create through the webhook) with `slo-operator "
        "run` evaluating them against a real Prometheus that holds their recorded series at "
        "the test clock's instant, so that once measured nothing changes; then a soak in that "
        "steady state. Figures from the operator's own metrics, the apiserver's "
        "`apiserver_request_total` (SLOs, SLAs, PrometheusRules) and `/proc` of the operator.",
        "",
        f"    BENCH_ONLY=soak make bench        # {SIZE_VARIABLE}=10000 for the large variant",
        "",
        f"| {r['slos']} SLOs, {r['slas']} SLAs, evaluation every {r['interval']:g} s | value |",
        "|---|---|",
        f"| recorded series backfilled | {r['series']} ({r['backfill_seconds']:.0f} s) |",
        f"| `kubectl apply` of all returned | {r['apply_seconds']:.0f} s |",
        f"| every SLO Ready with an SLI | {r['slos_ready_seconds']:.0f} s |",
        f"| every SLA Ready with an attainment | {r['slas_ready_seconds']:.0f} s |",
        f"| operator CPU time from the apply to all Ready | {r['cpu_until_ready_seconds']:.0f} s |",
        f"| soak | {r['soak_seconds']:.0f} s, {r['soak_cycles']} cycles |",
        f"| cycle duration (mean), operator CPU time per cycle | "
        f"{r['cycle_seconds_mean']:.2f} s, {r['cpu_per_cycle_seconds']:.2f} s |",
        f"| queries per cycle | {r['queries_per_cycle']:.1f} |",
        f"| status patches per cycle | {r['status_patches_per_cycle']:.1f} |",
        f"| apiserver writes per cycle | {r['apiserver_writes_per_cycle']:.1f} |",
        f"| evaluation errors | {r['evaluation_errors']} |",
        f"| one scrape of the operator's `/metrics` (slowest of two) | "
        f"{r['metrics_scrape_seconds']:.1f} s |",
        f"| operator RSS: idle, after all Ready | {r['rss_idle_mb']:.0f} MB, "
        f"{r['rss_after_ready_mb']:.0f} MB |",
        f"| operator RSS over the soak: first minute, last minute (medians), peak | "
        f"{r['rss_first_minute_mb']:.0f} MB, {r['rss_last_minute_mb']:.0f} MB, "
        f"{r['rss_peak_mb']:.0f} MB |",
        "",
        f"Size run: **{r['slos']:,} SLOs and {r['slas']:,} SLAs**. `make bench` runs "
        f"{SIZES['default'].slos:,} SLOs and {SIZES['default'].slas:,} SLAs with a "
        f"{SIZES['default'].soak_seconds / 60:g}-minute soak so that the whole page fits in "
        f"one run; `{SIZE_VARIABLE}=10000 make bench` runs {SIZES['large'].slos:,} SLOs and "
        f"{SIZES['large'].slas:,} SLAs with a {SIZES['large'].soak_seconds / 60:g}-minute soak "
        "(about 45 minutes on 2 cores, on top of the rest of the page). A run of that size on "
        "its own, outside this page's run, and what it found: "
        "[reliability.md](reliability.md#load-and-soak).",
        "",
        f"Measured {r['measured']} on 2 shared cores (load average {r['load_average_end']:.1f} "
        "at the end, other work included): wall times are upper bounds.",
        "",
    ]
    return "\n".join(lines)


def write_results(results: dict[str, Any], page: pathlib.Path) -> None:
    """The section in the page (bench_operator_scale's way) and the figures in results.json."""
    bench_operator_scale.write_section(page, render(results), heading=SECTION)
    saved = page.parent / "benchmarks" / "results.json"
    data = json.loads(saved.read_text()) if saved.exists() else {}
    data["soak"] = results
    saved.write_text(json.dumps(data, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = SIZES["default"]
    parser.add_argument("--slos", type=int, default=default.slos)
    parser.add_argument("--slas", type=int, default=default.slas)
    parser.add_argument(
        "--soak", type=float, default=default.soak_seconds, help="seconds of steady state"
    )
    parser.add_argument("--interval", type=float, default=30.0, help="evaluation interval")
    parser.add_argument(
        "--write", type=pathlib.Path, metavar="FILE", help="e.g. docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    results = measure(args.slos, args.slas, args.soak, args.interval)
    print(render(results))
    if args.write:
        write_results(results, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
