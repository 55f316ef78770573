"""``make demo``: the product end to end on this machine, with live numbers.

``python -m testkit.demo up`` (``hack/demo.sh``):

1. starts the local control plane (:mod:`testkit.controlplane`, detached) or reuses
   a running one;
2. backfills :data:`~testkit.shop.HISTORY_DAYS` days of the synthetic shop
   (:mod:`testkit.shop`) and the examples' recording rules over them with promtool,
   so every window has history the moment Prometheus starts;
3. installs what the Helm chart renders (CRDs, namespace ``slo-system``, ServiceAccount, RBAC,
   webhook configuration) and mints a token of the chart's ServiceAccount (TokenRequest);
4. starts a detached supervisor (``serve``) that runs the shop's exporter, a Prometheus scraping
   it every 5 s and evaluating the examples' rules, and ``slo-operator run`` with the
   Deployment's arguments, the token's kubeconfig and a 10 s evaluation cycle;
5. applies ``examples/`` to namespace ``shop``, waits until every SLO and SLA shows numbers, and
   prints ``kubectl get slo,sla -A`` and how to explore and stop it.

``down`` stops the supervisor (and with it the operator, Prometheus and the shop), removes the
demo's state and stops the control plane. Running ``up`` again while it is up restarts the demo
from scratch on the same control plane.

State lives in ``~/.cache/slo-operator/demo/`` (``$SLO_OPERATOR_DEMO_DIR`` overrides):
``supervisor.pid``, ``supervisor.log``, ``ready.json`` (URLs, ports, pids), ``plan.json`` (what
the supervisor runs), ``rules.yaml``, ``chart.yaml``, ``token-kubeconfig``, ``prometheus/``
(TSDB, config, log), ``shop.log`` and ``operator/`` (the operator's log).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml

from . import backfill, controlplane, operator_process, processes, prometheus, shop, synthetic

logger = logging.getLogger(__name__)

_MODULE: Final = "testkit.demo"
REPO: Final = Path(__file__).resolve().parents[1]
EXAMPLES: Final = REPO / "examples"
CHART: Final = REPO / "charts" / "slo-operator"
RELEASE: Final = "slo-operator"
RELEASE_NAMESPACE: Final = "slo-system"
SHOP_NAMESPACE: Final = "shop"
EVALUATION_INTERVAL_SECONDS: Final = 10
SCRAPE_INTERVAL: Final = "5s"
_PROCESS_FLAGS: Final = (
    "--metrics-port",
    "--health-port",
    "--webhook-port",
    "--webhook-cert-dir",
    "--webhook-service",
    "--ui-port",
)
"""Deployment arguments the local process sets itself: its ports, and a webhook reached at
127.0.0.1 (``--webhook-host``) instead of through a Service, since no Pod runs here."""


class DemoError(Exception):
    """A step of the demo failed; the message says which and where its log is."""


def state_dir() -> Path:
    """``$SLO_OPERATOR_DEMO_DIR`` or ``~/.cache/slo-operator/demo``."""
    if override := os.environ.get("SLO_OPERATOR_DEMO_DIR"):
        return Path(override)
    return controlplane.cache_root() / "demo"


@dataclass(frozen=True)
class _State(processes.SupervisorState):
    module: ClassVar[str] = _MODULE

    @property
    def plan_file(self) -> Path:
        return self.folder / "plan.json"


def _progress(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _step(message: str) -> Iterator[None]:
    began = time.monotonic()
    _progress(f"{message} ...")
    yield
    _progress(f"{message}: done in {time.monotonic() - began:.1f}s")


# -- the foreground: `up` ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Cluster:
    kubeconfig: Path
    bin_dir: Path

    def environ(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, env=self.environ(), check=False
        )
        if check and result.returncode:
            raise DemoError(f"{shlex.join(args)} failed:\n{result.stderr or result.stdout}")
        return result

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.run("kubectl", *args, "-o", "json").stdout)


def _control_plane() -> _Cluster:
    """Start (or find) the detached control plane; its export lines name kubeconfig and PATH."""
    result = subprocess.run(
        [sys.executable, "-m", "testkit.controlplane", "up"],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode:
        raise DemoError("the control plane did not start (see the lines above)")
    exports: dict[str, str] = {}
    for line in result.stdout.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            key, _, value = words[1].partition("=")
            exports[key] = value
    bin_dir = exports["PATH"].split(os.pathsep)[0]
    return _Cluster(Path(exports["KUBECONFIG"]), Path(bin_dir))


def _write_rules(path: Path) -> None:
    """The examples' rules as a plain rule file, with the CLI a user would run."""
    result = subprocess.run(
        [_cli(), "generate", "-f", str(EXAMPLES), "--format", "rulefile"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise DemoError(f"slo-operator generate failed:\n{result.stderr}")
    path.write_text(result.stdout)


def _cli() -> str:
    return shutil.which("slo-operator", path=str(Path(sys.executable).parent)) or "slo-operator"


def _backfill(state: _State, anchor: int, rules: Path) -> Path:
    """The shop's history and the recording rules over it, as blocks of a fresh TSDB."""
    tsdb = state.folder / "prometheus" / "tsdb"
    history = shop.history(shop.shop_scenario(anchor), anchor)
    days = (history.end - history.start) / synthetic.DAY
    with _step(f"generating {days:.0f} days of shop history ({shop.INTERVAL}s samples)"):
        data = synthetic.generate(history)
    with _step(f"backfilling {data.sample_count:,} raw samples with promtool"):
        backfill.backfill_synthetic(data, tsdb, work_dir=state.folder / "scratch")
    with (
        _step("backfilling the examples' recording rules over that history"),
        prometheus.PrometheusServer(tsdb, work_dir=state.folder / "scratch" / "backfill") as server,
    ):
        # Level 1 counts whole minutes from raw samples: start once the first minutes exist.
        backfill.backfill_rules([rules], history.start + 600, history.end, server)
    shutil.rmtree(state.folder / "scratch", ignore_errors=True)
    return tsdb


def _render_chart(cluster: _Cluster, prometheus_url: str, path: Path) -> list[dict[str, Any]]:
    """``helm template`` of the chart with the demo's Prometheus and a short cycle."""
    result = cluster.run(
        "helm",
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        RELEASE_NAMESPACE,
        # helm template alone assumes v1.20, below the chart's kubeVersion.
        "--kube-version",
        controlplane.read_versions()["K8S_VERSION"],
        "--set-json",
        f"prometheusUrl={json.dumps(prometheus_url)}",
        "--set-json",
        f"evaluationInterval={EVALUATION_INTERVAL_SECONDS}",
        "--set",
        "logFormat=text",
        # The web UI on (the chart's one value); the local process gets a free port for it.
        "--set",
        "ui.enabled=true",
    )
    path.write_text(result.stdout)
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def _install_chart(cluster: _Cluster, documents: list[dict[str, Any]]) -> None:
    """Apply every rendered object (CRDs included) except the Deployment and Service: no Pod
    runs here, the operator runs as a local process with the Deployment's arguments."""
    cluster.run("kubectl", "create", "namespace", RELEASE_NAMESPACE, check=False)
    skipped = {"Deployment", "Service"}
    objects = [document for document in documents if document["kind"] not in skipped]
    cluster.run(
        "kubectl",
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=slo-operator-demo",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}),
    )


def _deployment_args(documents: list[dict[str, Any]]) -> tuple[str, list[str]]:
    """The ServiceAccount and the operator's arguments from the rendered Deployment."""
    (deployment,) = [document for document in documents if document["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = [arg for arg in container["args"] if arg.partition("=")[0] not in _PROCESS_FLAGS]
    return str(pod["serviceAccountName"]), args


def _token_kubeconfig(cluster: _Cluster, service_account: str, path: Path) -> None:
    """A kubeconfig that authenticates as the chart's ServiceAccount (TokenRequest API)."""
    token = cluster.run(
        "kubectl",
        "create",
        "token",
        service_account,
        "-n",
        RELEASE_NAMESPACE,
        "--duration=72h",
    ).stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    (entry,) = admin["clusters"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "demo", "cluster": entry["cluster"]}],
        "users": [{"name": service_account, "user": {"token": token}}],
        "contexts": [{"name": "demo", "context": {"cluster": "demo", "user": service_account}}],
        "current-context": "demo",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


def _start_supervisor(state: _State, plan: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    state.plan_file.write_text(json.dumps(plan, indent=2))
    supervisor = state.start_supervisor()  # outlives `make demo` and the terminal's Ctrl-C
    try:
        return state.wait_until_ready(supervisor, timeout, "demo")
    except processes.SupervisorFailed as error:
        raise DemoError(str(error)) from error


def _wait_for_webhook(cluster: _Cluster, port: int, timeout: float = 60.0) -> None:
    """kopf has pointed the chart's webhook configuration at this operator's port."""
    name = f"{RELEASE}.slo.dev"

    def patched() -> bool:
        result = cluster.run(
            "kubectl", "get", "validatingwebhookconfiguration", name, "-o", "json", check=False
        )
        if result.returncode:
            return False
        webhooks = json.loads(result.stdout).get("webhooks") or []
        return any(f":{port}/" in (w.get("clientConfig") or {}).get("url", "") for w in webhooks)

    controlplane.wait_until(patched, timeout=timeout, description="the operator's webhook")


def _documents(kind: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if body and body.get("kind") == kind:
                found.append(body)
    return found


def _measured(body: Mapping[str, Any]) -> bool:
    status = body.get("status") or {}
    if body["kind"] == "ServiceLevelObjective":
        return status.get("sli") is not None
    commitments = (status.get("currentPeriod") or {}).get("commitments") or []
    return bool(commitments) and all(c.get("attainment") is not None for c in commitments)


def _wait_for_numbers(cluster: _Cluster, timeout: float) -> None:
    """Until every example shows numbers, printing which ones still wait."""
    expected = {
        (body["kind"], body["metadata"]["name"])
        for kind in ("ServiceLevelObjective", "ServiceLevelAgreement")
        for body in _documents(kind)
    }
    began = time.monotonic()
    last = ""
    while True:
        items = cluster.kubectl_json("get", "slo,sla", "-n", SHOP_NAMESPACE)["items"]
        done = {(item["kind"], item["metadata"]["name"]) for item in items if _measured(item)}
        waiting = sorted(name for kind, name in expected - done)
        if not waiting:
            _progress(f"every SLO and SLA has numbers after {time.monotonic() - began:.0f}s")
            return
        line = f"{len(expected) - len(waiting)}/{len(expected)} measured; waiting for " + (
            ", ".join(waiting)
        )
        if line != last:
            _progress(line)
            last = line
        if time.monotonic() - began > timeout:
            raise DemoError(f"no numbers within {timeout:.0f}s for: {', '.join(waiting)}")
        time.sleep(1)


def _describe_excerpt(cluster: _Cluster) -> str:
    text = cluster.run(
        "kubectl", "describe", "slo", "checkout-availability", "-n", SHOP_NAMESPACE
    ).stdout
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Status:")), 0)
    return "\n".join(lines[start : start + 40])


def _up(state: _State, timeout: float) -> int:
    began = time.monotonic()
    if _stop_supervisor(state):
        _progress("stopped the running demo; starting it afresh")
    shutil.rmtree(state.folder, ignore_errors=True)
    state.folder.mkdir(parents=True)
    with _step("starting the local control plane"):
        cluster = _control_plane()
    anchor = int(time.time())
    anchor -= anchor % shop.INTERVAL
    rules = state.folder / "rules.yaml"
    _write_rules(rules)
    tsdb = _backfill(state, anchor, rules)
    prometheus_port = operator_process.free_port()
    prometheus_url = f"http://127.0.0.1:{prometheus_port}"
    with _step("installing what the Helm chart renders (CRDs, ServiceAccount, RBAC, config)"):
        documents = _render_chart(cluster, prometheus_url, state.folder / "chart.yaml")
        _install_chart(cluster, documents)
        service_account, args = _deployment_args(documents)
        token_kubeconfig = state.folder / "token-kubeconfig"
        _token_kubeconfig(cluster, service_account, token_kubeconfig)
    plan = {
        "anchor": anchor,
        "shop_port": operator_process.free_port(),
        "prometheus_port": prometheus_port,
        "tsdb": str(tsdb),
        "rules": str(rules),
        "operator_args": args,
        "operator_kubeconfig": str(token_kubeconfig),
    }
    with _step("starting the shop, Prometheus and the operator (detached)"):
        ready = _start_supervisor(state, plan, timeout=120)
        _wait_for_webhook(cluster, int(ready["operator_webhook_port"]))
    with _step(f"applying examples/ to namespace {SHOP_NAMESPACE}"):
        cluster.run("kubectl", "create", "namespace", SHOP_NAMESPACE, check=False)
        # A previous run's objects carry its numbers: start from none, so every number shown
        # is measured by this run's operator.
        cluster.run("kubectl", "delete", "slo,sla", "--all", "-n", SHOP_NAMESPACE, "--wait")
        cluster.run("kubectl", "apply", "-n", SHOP_NAMESPACE, "-f", str(EXAMPLES))
    _wait_for_numbers(cluster, timeout)
    report = state.folder / "report" / "index.html"
    with _step(f"writing the report of namespace {SHOP_NAMESPACE} (slo-operator report)"):
        _write_report(cluster, prometheus_url, report)
    table = cluster.run("kubectl", "get", "slo,sla", "-A").stdout
    _print_summary(cluster, ready, table, anchor, time.monotonic() - began, report)
    return 0


def _write_report(cluster: _Cluster, prometheus_url: str, path: Path) -> None:
    """`slo-operator report` of the shop, read from the cluster as a user would run it."""
    result = subprocess.run(
        [
            _cli(), "report", "--namespace", SHOP_NAMESPACE, "--prometheus-url", prometheus_url,
            "--html", str(path), "--markdown", str(path.with_name("README.md")),
        ],
        capture_output=True, text=True, env=cluster.environ(), check=False,
    )  # fmt: skip
    if result.returncode:
        raise DemoError(f"slo-operator report failed:\n{result.stderr}")


def _print_summary(
    cluster: _Cluster,
    ready: Mapping[str, Any],
    table: str,
    anchor: int,
    seconds: float,
    report: Path,
) -> None:
    incident = time.strftime("%H:%M:%S", time.localtime(shop.live_incident_start(anchor)))
    print(f"\n$ kubectl get slo,sla -A\n{table}")
    print(f"$ kubectl describe slo checkout-availability -n {SHOP_NAMESPACE}   (excerpt)")
    print(_describe_excerpt(cluster))
    print(
        f"""
The demo is up ({seconds:.0f}s). Numbers are measured from the shop's metrics: {shop.HISTORY_DAYS}
days of history backfilled, live traffic scraped every {SCRAPE_INTERVAL}, evaluated every \
{EVALUATION_INTERVAL_SECONDS}s.
At {incident} acme's checkout starts failing (30% 5xx for 10 minutes): watch its burn rates.

Explore:
  export KUBECONFIG={shlex.quote(str(cluster.kubeconfig))}
  export PATH={shlex.quote(str(cluster.bin_dir))}:"$PATH"
  kubectl get slo,sla -A -w
  kubectl describe slo checkout-availability -n {SHOP_NAMESPACE}
  kubectl describe sla acme-store -n {SHOP_NAMESPACE}
  slo-operator evaluate -f examples --prometheus-url {ready["prometheus_url"]}
  Prometheus:        {ready["prometheus_url"]}  (try slo:sli_error:ratio)
  Shop metrics:      {ready["shop_url"]}/metrics
  Operator metrics:  http://127.0.0.1:{ready["operator_metrics_port"]}/metrics
  Web UI:            http://127.0.0.1:{ready["operator_ui_port"]}/  (read-only; docs/ui.md)
  Report:            {report}  (Markdown and charts beside it)
  Logs and state:    {state_dir()}

Stop it: make demo-down""",
        flush=True,
    )


# -- the detached supervisor: `serve` ---------------------------------------------------------


def _start_shop(folder: Path, port: int, anchor: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "testkit.shop", f"--port={port}", f"--anchor={anchor}"]
    process = processes.spawn(argv, folder / "shop.log")
    url = f"http://127.0.0.1:{port}/metrics"

    def serving() -> bool:
        if process.poll() is not None:
            raise DemoError(f"the shop exited with {process.returncode} ({folder / 'shop.log'})")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    controlplane.wait_until(serving, timeout=60, description="the shop's exporter")
    return process


def _serve(state: _State) -> int:
    """Runs the shop, Prometheus and the operator until SIGTERM; stops all if one dies."""

    processes.raise_shutdown_on_signals()
    plan = json.loads(state.plan_file.read_text())
    folder = state.folder
    shop_process: subprocess.Popen[bytes] | None = None
    operator: operator_process.OperatorProcess | None = None
    server = prometheus.PrometheusServer(
        Path(plan["tsdb"]),
        work_dir=folder / "prometheus",
        rule_files=[Path(plan["rules"])],
        scrape_configs=[
            {
                "job_name": "shop",
                "scrape_interval": SCRAPE_INTERVAL,
                "honor_labels": True,  # the shop's own `job` labels name its services
                "static_configs": [{"targets": [f"127.0.0.1:{plan['shop_port']}"]}],
            }
        ],
    )
    server.port = int(plan["prometheus_port"])
    try:
        logger.info("starting the shop's exporter on port %d", plan["shop_port"])
        shop_process = _start_shop(folder, int(plan["shop_port"]), int(plan["anchor"]))
        logger.info("starting Prometheus on port %d", server.port)
        server.start()
        logger.info("starting the operator with the chart's ServiceAccount token")
        operator = operator_process.OperatorProcess(
            plan["operator_args"],
            kubeconfig=Path(plan["operator_kubeconfig"]),
            log_dir=folder / "operator",
            ui=True,
        )
        operator.log_dir.mkdir(parents=True, exist_ok=True)
        operator.start(timeout=60)
        assert operator.process is not None
        ready = {
            "prometheus_url": server.url,
            "shop_url": f"http://127.0.0.1:{plan['shop_port']}",
            "operator_metrics_port": operator.metrics_port,
            "operator_ui_port": operator.ui_port,
            "operator_webhook_port": operator.webhook_port,
            "operator_log": str(operator.log_path),
            "pids": {
                "shop": shop_process.pid,
                "operator": operator.process.pid,
            },
        }
        state.publish_ready(ready)
        logger.info("the demo is up")
        while True:
            time.sleep(1)
            if shop_process.poll() is not None:
                raise DemoError(f"the shop exited with {shop_process.returncode}")
            if not server.running:
                raise DemoError(f"Prometheus exited ({server.log_path})")
            if operator.process.poll() is not None:
                raise DemoError(f"the operator exited ({operator.log_path})")
    except processes.Shutdown:
        logger.info("stopping on signal")
        return 0
    except (DemoError, prometheus.PrometheusError, RuntimeError, TimeoutError) as error:
        logger.error("%s", error)
        return 1
    finally:
        state.ready_file.unlink(missing_ok=True)
        if operator is not None:
            operator.stop()
        server.stop()
        if shop_process is not None:
            processes.stop(shop_process, "the shop")


# -- `down` -----------------------------------------------------------------------------------


def _stop_supervisor(state: _State, grace_seconds: float = 60.0) -> bool:
    """Stop a running demo supervisor and whatever it left; True if one was running."""
    ready = state.ready() or {}
    pid = state.stop_supervisor(grace_seconds)
    # A supervisor killed outright takes its children with it (pdeathsig) where setpriv exists;
    # without it they live on in their own sessions: stop them by their recorded pids.
    markers = {"operator": "slo-operator", "shop": "testkit.shop"}
    for name, child in (ready.get("pids") or {}).items():
        # A name without a marker is never killed: "\0" would have matched any live pid.
        marker = markers.get(name)
        if marker is not None and processes.is_ours(int(child), marker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(int(child), signal.SIGKILL)
    return pid is not None


def _down(state: _State) -> int:
    if _stop_supervisor(state):
        _progress("stopped the operator, Prometheus and the shop")
    else:
        _progress("the demo was not running")
    shutil.rmtree(state.folder, ignore_errors=True)
    result = subprocess.run([sys.executable, "-m", "testkit.controlplane", "down"], check=False)
    return result.returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {_MODULE}",
        description="The local end-to-end demo: control plane, shop, Prometheus, operator.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start (or restart) the demo and print live numbers")
    up.add_argument(
        "--timeout", type=float, default=180.0, help="seconds to wait for numbers once applied"
    )
    commands.add_parser("down", help="stop everything the demo started, control plane included")
    serve = commands.add_parser("serve", help=argparse.SUPPRESS)
    serve.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    if args.command == "serve":
        logging.basicConfig(level=logging.INFO, format="[demo] %(message)s", stream=sys.stderr)
        return _serve(_State(args.state_dir))
    logging.basicConfig(level=logging.WARNING, format="[demo] %(message)s", stream=sys.stderr)
    state = _State(state_dir())
    if args.command == "down":
        return _down(state)
    try:
        return _up(state, args.timeout)
    except (DemoError, controlplane.ControlPlaneError, backfill.BackfillError) as error:
        print(f"[demo] error: {error}", file=sys.stderr)
        print(f"[demo] logs: {state.folder}; stop with: make demo-down", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
