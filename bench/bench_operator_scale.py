"""The operator at scale on a real control plane: 1,000 SLOs applied at once until all are Ready.

    .venv/bin/python -m bench.bench_operator_scale [--slos 1000]
    BENCH_ONLY=operator-scale make bench        # into docs/benchmarks.md

A fresh `ControlPlane` (etcd, kube-apiserver, kube-controller-manager, our CRDs and the
prometheus-operator CRDs) and `slo-operator run` as a process, as in production: PrometheusRule
output, the validating webhook on, no `--prometheus-url` (so nothing is evaluated and `Ready`
means "rules applied", reason RulesApplied). The four example SLO shapes of `examples/`, in turn,
with unique names spread over four namespaces (then, on a new control plane, all in one:
`--namespaces 4,1`), are applied in one `kubectl apply --server-side` (each create passes the
webhook). Measured, from the start of that command:

- until every SLO shows Ready=True with `status.observedGeneration == metadata.generation`;
- until every SLO's PrometheusRule exists;
- the operator's peak RSS (`VmHWM` of its process);
- the apiserver's requests on SLOs and PrometheusRules, by verb (its `apiserver_request_total`);

then the operator is stopped and started again, and measured: the time until it has resumed
every SLO (`slo_operator_reconciles_total{outcome="unchanged"}`), and that no SLO's or
PrometheusRule's resourceVersion moved. Results go to docs/benchmarks.md, section
"Operator at scale".
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import yaml

from testkit import controlplane, operator_process

from . import summary_rows

REPO = pathlib.Path(__file__).resolve().parent.parent
NAMESPACE_PREFIX = "bench-scale-"
TARGET_SECONDS = 60.0
SLO_PATH = "/apis/slo.dev/v1alpha1/servicelevelobjectives"
RULE_PATH = "/apis/monitoring.coreos.com/v1/prometheusrules"
WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION")


def shapes() -> list[dict[str, Any]]:
    """The SLOs of examples/, one per shape (availability, latency, uptime, calendar month)."""
    found = []
    for path in sorted((REPO / "examples").glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if body and body.get("kind") == "ServiceLevelObjective":
                found.append(body)
    return found


def manifests(count: int, namespaces: list[str]) -> list[dict[str, Any]]:
    templates = shapes()
    bodies = []
    for index in range(count):
        body = copy.deepcopy(templates[index % len(templates)])
        body["metadata"] = {
            "name": f"{body['metadata']['name']}-{index:05d}",
            "namespace": namespaces[index % len(namespaces)],
        }
        bodies.append(body)
    return bodies


def is_ready(body: dict[str, Any]) -> bool:
    status = body.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return bool(
        ready
        and ready[0].get("status") == "True"
        and status.get("observedGeneration") == body["metadata"].get("generation")
    )


def vm_field(pid: int, field: str) -> float:
    """`VmHWM` (peak) or `VmRSS` of a process, in MB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cluster:
    """Lists and apiserver metrics through the admin client certificate."""

    def __init__(self, plane: controlplane.ControlPlane) -> None:
        self.plane = plane
        self.lists: Counter[str] = Counter()

    def items(self, path: str) -> list[dict[str, Any]]:
        self.lists[path.rsplit("/", 1)[-1]] += 1
        for _ in range(30):
            response = self.plane.api_request("GET", path, timeout=60)
            if response.status != 429:  # a fresh CRD's watch cache is still initializing
                break
            time.sleep(1)
        assert response.status == 200, response.body
        return list(response.body["items"])

    def versions(self) -> dict[str, str]:
        found = {}
        for kind, path in (("slo", SLO_PATH), ("rule", RULE_PATH)):
            for item in self.items(path):
                meta = item["metadata"]
                found[f"{kind}/{meta['namespace']}/{meta['name']}"] = meta["resourceVersion"]
        return found

    def requests(
        self, resources: tuple[str, ...] = ("servicelevelobjectives", "prometheusrules")
    ) -> Counter[tuple[str, str]]:
        """apiserver_request_total on `resources`, by (resource[/subresource], verb)."""
        response = self.plane.api_request("GET", "/metrics", timeout=60)
        text = response.body if isinstance(response.body, str) else str(response.body)
        counts: Counter[tuple[str, str]] = Counter()
        for line in text.splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            series, _, value = line.rpartition(" ")
            labels = dict(
                pair.split("=", 1) for pair in series[series.index("{") + 1 : -1].split(",")
            )
            labels = {key: val.strip('"') for key, val in labels.items()}
            resource = labels.get("resource", "")
            if resource not in resources:
                continue
            if labels.get("subresource"):
                resource += "/" + labels["subresource"]
            counts[(resource, labels.get("verb", ""))] += int(float(value))
        return counts


def own_requests(
    cluster: Cluster, before: Counter[tuple[str, str]], lists_before: Counter[str]
) -> Counter[tuple[str, str]]:
    """Requests since `before`, without the benchmark's own polling LISTs."""
    delta = cluster.requests() - before
    for resource, lists in (cluster.lists - lists_before).items():
        delta[(resource, "LIST")] -= lists
    return +delta


def wait(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> float:
    """Poll until `condition()`; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached after {timeout:.0f}s")


def start_operator(plane: controlplane.ControlPlane, log_dir: pathlib.Path) -> Any:
    process = operator_process.OperatorProcess(
        [f"--namespace={NAMESPACE_PREFIX}*", "--rule-output=PrometheusRule"],
        kubeconfig=plane.kubeconfig,
        log_dir=log_dir,
    )
    process.start(timeout=60)
    return process


def measure(count: int, namespace_count: int = 4, keep_logs: bool = False) -> dict[str, Any]:
    namespaces = [f"{NAMESPACE_PREFIX}{index}" for index in range(namespace_count)]
    bodies = manifests(count, namespaces)
    document = "---\n".join(yaml.safe_dump(body) for body in bodies)
    results: dict[str, Any] = {
        "slos": count,
        "namespaces": namespace_count,
        "load": [os.getloadavg()[0]],
    }
    log_dir = pathlib.Path(tempfile.mkdtemp(prefix="bench-operator-scale-"))
    with controlplane.ControlPlane() as plane:
        cluster = Cluster(plane)
        for namespace in namespaces:
            plane.create_namespace(namespace)
        first = start_operator(plane, log_dir)
        try:
            assert first.process is not None
            wait(
                lambda: (
                    plane.kubectl(
                        "get", "validatingwebhookconfiguration", "slo-operator.slo.dev", check=False
                    ).returncode
                    == 0
                ),
                60,
                "the webhook configuration",
            )
            results["rss_idle_mb"] = vm_field(first.process.pid, "VmRSS")
            cpu_before = cpu_seconds(first.process.pid)
            requests_before = cluster.requests()
            lists_before = cluster.lists.copy()
            started = time.monotonic()
            plane.kubectl(
                "apply", "--server-side", "--field-manager=bench", "-f", "-",
                stdin=document, timeout=600,
            )  # fmt: skip
            results["apply_seconds"] = time.monotonic() - started
            rules_at: list[float] = []

            def all_ready() -> bool:
                results["load"].append(os.getloadavg()[0])
                items = cluster.items(SLO_PATH)
                if not rules_at and len(cluster.items(RULE_PATH)) >= count:
                    rules_at.append(time.monotonic())
                return len(items) == count and all(is_ready(item) for item in items)

            ready_at = wait(all_ready, 600, f"{count} SLOs Ready")
            if not rules_at:
                rules_at.append(wait(lambda: len(cluster.items(RULE_PATH)) >= count, 60, "rules"))
            results["ready_seconds"] = ready_at - started
            results["ready_after_apply_seconds"] = ready_at - started - results["apply_seconds"]
            results["cpu_seconds"] = cpu_seconds(first.process.pid) - cpu_before
            results["rules_seconds"] = rules_at[0] - started
            time.sleep(2)  # in-flight patches land; the operator has nothing more to do
            results["rss_peak_mb"] = vm_field(first.process.pid, "VmHWM")
            results["rss_after_mb"] = vm_field(first.process.pid, "VmRSS")
            delta = own_requests(cluster, requests_before, lists_before)
            results["requests"] = {f"{res} {verb}": n for (res, verb), n in sorted(delta.items())}
            results["created_first"] = first.metric_sum(
                "slo_operator_reconciles_total", kind="ServiceLevelObjective", outcome="created"
            )
            before = cluster.versions()
        finally:
            first.stop()
        results["load"].append(os.getloadavg()[0])

        requests_before = cluster.requests()
        lists_before = cluster.lists.copy()
        restarted = time.monotonic()
        second = start_operator(plane, log_dir)
        try:
            results["healthy_seconds"] = time.monotonic() - restarted
            resumed_at = wait(
                lambda: (
                    second.metric_sum(
                        "slo_operator_reconciles_total",
                        kind="ServiceLevelObjective",
                        outcome="unchanged",
                    )
                    >= count
                ),
                600,
                f"{count} SLOs resumed",
                interval=0.2,
            )
            results["resume_seconds"] = resumed_at - restarted
            assert second.process is not None
            results["resume_cpu_seconds"] = cpu_seconds(second.process.pid)
            time.sleep(2)
            after = cluster.versions()
            results["resume_rss_peak_mb"] = vm_field(second.process.pid, "VmHWM")
            delta = own_requests(cluster, requests_before, lists_before)
            results["resume_requests"] = {
                f"{res} {verb}": n for (res, verb), n in sorted(delta.items()) if n
            }
            results["resume_writes"] = sum(
                n for (_, verb), n in delta.items() if verb in WRITE_VERBS
            )
            results["objects_compared"] = len(before)
            results["versions_moved"] = sorted(k for k in before if after.get(k) != before[k])
        finally:
            second.stop()
            if not keep_logs:
                for path in log_dir.glob("*.log"):
                    path.unlink()
    results["load"].append(os.getloadavg()[0])
    return results


SECTION = "## Operator at scale"


def environment() -> dict[str, str]:
    cpu = "?"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    versions = controlplane.read_versions()
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    kopf_version = subprocess.run(
        [sys.executable, "-c", "import importlib.metadata as m; print(m.version('kopf'))"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "cpu": f"{os.cpu_count()} x {cpu}",
        "python": platform.python_version(),
        "kopf": kopf_version,
        "kubernetes": f"kube-apiserver {versions.get('K8S_VERSION', '?')}, etcd "
        f"{versions.get('ETCD_VERSION', '?')}",
        "commit": commit,
    }


NOTES = """\
Where the time goes: the same `kubectl apply` of 1,000 SLOs took 5.3 s with no operator and 8.9 s
with the operator's webhook alone (operator watching another namespace; 2.0 s of its CPU), both
at load 4.5 to 4.9. With the operator also reconciling, each admission review waits behind the
reconciles in the same Python process (one event loop, one GIL), so kubectl's one-at-a-time
requests slow down and the apply paces the whole run: the operator is done within 2 s after
kubectl returns. That wall time follows the machine's load: 22 to 26 s at load 1 to 2.4 (before
the change below), 40 to 51 s at load 4 to 6.4 (before and after it).

Change made after the first runs: kopf's `idle_timeout` lowered to 0.5 s (`kube/operator.py`;
kopf's default is 5 s). An idle per-object worker held one of the 64 worker slots of its watch
stream (one stream per namespace, or one for `--all-namespaces`) for 5 s after its last event,
so a stream took at most about 13 new objects per second. Back to back at load 4.3 to 5.2, four
namespaces: before, Ready after 49.0 s and restart resumed in 22.4 s; after, 41.0 s and 6.6 s.
At lower load before the change: Ready after 22.7 s and 27.2 s, resumed in 19.0 s and 20.0 s
with 5.2 s of CPU (4 streams x 64 slots / 5 s = 51 objects per second).
`tests/cluster/test_operator.py::test_two_hundred_slos_become_ready` (200 SLOs, one namespace,
client-side `kubectl apply`) printed 17.6 s before and 7.1, 8.1 and 8.2 s after (the last in
the whole module's run, 75 passed).
"""


def render(runs: list[dict[str, Any]], env: dict[str, str]) -> str:
    count = runs[0]["slos"]
    loads = [value for run in runs for value in run["load"]]

    def row(label: str, cell: Callable[[dict[str, Any]], str], target: str = "") -> str:
        return f"| {label} | " + " | ".join(cell(run) for run in runs) + f" | {target} |"

    def writes(requests: dict[str, int]) -> int:
        return sum(n for key, n in requests.items() if key.split()[-1] in WRITE_VERBS)

    met = all(run["ready_seconds"] <= TARGET_SECONDS for run in runs)
    lines = [
        SECTION,
        "",
        f"`bench/bench_operator_scale.py`: {count} SLOs applied at once to a fresh control plane "
        "with `slo-operator run` as a process, configured as in production (PrometheusRule "
        "output, validating webhook on; no `--prometheus-url`, so nothing is evaluated and "
        "Ready=True means the rules are applied, reason RulesApplied). The four SLO shapes of "
        "`examples/` in turn, unique names, spread over four namespaces and then all in one, "
        "applied by one `kubectl apply --server-side` (sequential requests; every create passes "
        "the webhook). Times run from the start of that command; Ready counts only with "
        "`observedGeneration` equal to `metadata.generation`. Then the operator is stopped and "
        "started again with nothing changed. Each column is a fresh control plane.",
        "",
        "    BENCH_ONLY=operator-scale make bench",
        "",
        f"| {count} SLOs | "
        + " | ".join(f"{run['namespaces']} namespace(s)" for run in runs)
        + " | target |",
        "|---" * (len(runs) + 2) + "|",
        row("`kubectl apply` of all returned", lambda r: f"{r['apply_seconds']:.1f} s"),
        row("every PrometheusRule exists", lambda r: f"{r['rules_seconds']:.1f} s"),
        row(
            "every SLO Ready, observedGeneration current",
            lambda r: (
                f"**{r['ready_seconds']:.1f} s** ({r['ready_after_apply_seconds']:.1f} s "
                "after the apply returned)"
            ),
            f"≤ {TARGET_SECONDS:.0f} s: {'met' if met else 'missed'}",
        ),
        row("operator CPU time until then", lambda r: f"{r['cpu_seconds']:.1f} s"),
        row(
            "operator peak RSS (VmHWM)",
            lambda r: f"{r['rss_peak_mb']:.0f} MB (idle: {r['rss_idle_mb']:.0f} MB)",
        ),
        row(
            "apiserver requests on SLOs and rules",
            lambda r: f"{sum(r['requests'].values())}, {writes(r['requests'])} writes",
        ),
        row(
            "restart: process start → all resumed",
            lambda r: f"{r['resume_seconds']:.1f} s (CPU {r['resume_cpu_seconds']:.1f} s)",
        ),
        row(
            "restart: writes / resourceVersions moved",
            lambda r: (
                f"{r['resume_writes']} / {len(r['versions_moved'])} of {r['objects_compared']}"
            ),
            "0 / 0",
        ),
        row("restart: operator peak RSS", lambda r: f"{r['resume_rss_peak_mb']:.0f} MB"),
        "",
        "apiserver requests by resource and verb (the benchmark's own polling LISTs subtracted), "
        "during the apply: "
        + ", ".join(f"{key} {n}" for key, n in runs[0]["requests"].items() if n)
        + "; after the restart: "
        + (", ".join(f"{key} {n}" for key, n in runs[0]["resume_requests"].items()) or "none")
        + ". Writes per SLO: kubectl's apply, the PrometheusRule create, kopf's annotation "
        "patch and the status patch. GETs of SLOs, when there are any, are not the operator's "
        "(it only watches them): most likely the garbage collector looking up an owner it has "
        "not seen yet.",
        "",
        f"Measured {runs[0]['date']} on {env['cpu']}, Python {env['python']}, kopf "
        f"{env['kopf']}, {env['kubernetes']}, slo-operator {env['commit']}. Load average "
        f"(1 min) {loads[0]:.2f} at the start, up to {max(loads):.2f} during, {loads[-1]:.2f} at "
        "the end: other work ran on the same two cores, so wall times are upper bounds; the "
        "apply's wall time is mostly kubectl's sequential requests, each through the webhook.",
        "",
        NOTES,
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_section(path: pathlib.Path, text: str, heading: str = SECTION) -> None:
    """Replace the section from its heading to the next `## ` heading (or add it at the end)."""
    page = path.read_text() if path.exists() else "# Benchmarks\n"
    if heading in page:
        before, _, rest = page.partition(heading)
        _, following, after = rest.partition("\n## ")
        page = before + text + (f"\n## {after}" if following else "")
    else:
        page = page.rstrip("\n") + "\n\n" + text
    path.write_text(page)


def measure_all(count: int = 1_000, namespace_counts: tuple[int, ...] = (4, 1)) -> dict[str, Any]:
    """One run per namespace count, each on a fresh control plane, and the environment."""
    runs = []
    for namespaces in namespace_counts:
        results = measure(count, namespaces)
        results["date"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(json.dumps(results, indent=1), file=sys.stderr)
        runs.append(results)
    return {"runs": runs, "environment": environment()}


def render_section(measured: dict[str, Any]) -> str:
    return render(measured["runs"], measured["environment"])


def summary(measured: dict[str, Any]) -> list[dict[str, Any]]:
    """The slowest run's time until every SLO is Ready, for the page's summary table."""
    runs = measured["runs"]
    worst = max(runs, key=lambda run: run["ready_seconds"])
    return [
        summary_rows.row(
            f"Operator: {worst['slos']:,} SLOs applied until all Ready (slowest run)",
            f"≤ {TARGET_SECONDS:.0f} s",
            f"{worst['ready_seconds']:.1f} s ({worst['namespaces']} namespace(s))",
            worst["ready_seconds"] / TARGET_SECONDS,
            worst["ready_seconds"] <= TARGET_SECONDS,
        )
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=1_000)
    parser.add_argument(
        "--namespaces",
        default="4,1",
        help="comma-separated: one run per value, the SLOs spread over that many namespaces",
    )
    args = parser.parse_args(argv)
    counts = tuple(int(value) for value in args.namespaces.split(","))
    print(render_section(measure_all(args.slos, counts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
