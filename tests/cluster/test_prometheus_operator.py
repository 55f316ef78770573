"""The real prometheus-operator accepts the PrometheusRule our operator writes, and the rule file
it renders from it evaluates on a real Prometheus.

prometheus-operator (the version whose CRDs the control plane installs, built from its Go module
by ``hack/build-engines.sh``) runs against the session's control plane with all of its CRDs, and
a ``Prometheus`` object selects our rules by the label our operator puts on them. It cannot run
pods here; what matters is the rule-file ConfigMap it renders for that Prometheus. That file is
loaded into Prometheus 3 holding the synthetic month, its recording rules are evaluated over the
last hours, and the recorded events equal the generator's counts.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from slo_operator.rules import series
from testkit import backfill, controlplane, engines, operator_process, prometheus, synthetic

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

SLO_NAME = "checkout-availability"
SLO = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": SLO_NAME},
    "spec": {
        "service": "checkout",
        "indicator": {
            "ratio": {
                "errors": 'http_requests_total{job="checkout",code=~"5.."}',
                "total": 'http_requests_total{job="checkout"}',
            }
        },
        "window": "1d",
        "objectives": [{"name": "standard", "target": 99.5}],
        "groupBy": ["tenant"],
    },
}
LEVEL1_TOTAL = series.LEVEL1_TOTAL_NAMES[0]
"""Events per minute of a counter SLO, as recorded by the rule file."""
RULE_LABELS = {"app.kubernetes.io/managed-by": "slo-operator"}
"""What our operator labels its PrometheusRule objects with; the Prometheus selects on it."""


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def synthetic_data() -> synthetic.SyntheticData:
    """The standard synthetic month (its blocks are cached like the integration tier's)."""
    return synthetic.generate(synthetic.standard_scenario())


@pytest.fixture(scope="module")
def prometheus_operator(
    control_plane: controlplane.ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[engines.Process]:
    """prometheus-operator watching the whole cluster, with every one of its CRDs installed."""
    crds = sorted(controlplane.prometheus_operator_crd_dir().glob("monitoring.coreos.com_*.yaml"))
    control_plane.install_crds(crds)
    port = operator_process.free_port()
    process = engines.Process(
        [
            str(engines.engine_dir("prometheus-operator") / "operator"),
            # It reads no kubeconfig: the apiserver's URL, its CA and the admin client cert.
            f"--apiserver={control_plane.server_url}",
            f"--ca-file={control_plane.ca_cert}",
            f"--cert-file={control_plane.work_dir / 'pki' / 'admin.crt'}",
            f"--key-file={control_plane.work_dir / 'pki' / 'admin.key'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log-level=info",
        ],
        tmp_path_factory.mktemp("prometheus-operator") / "operator.log",
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def operator(
    control_plane: controlplane.ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[operator_process.OperatorProcess]:
    """Our operator, writing PrometheusRule objects for SLOs in namespaces named ``pop-*``."""
    process = operator_process.OperatorProcess(
        ["--namespace=pop-*"],
        kubeconfig=control_plane.kubeconfig,
        webhook=False,
        log_dir=tmp_path_factory.mktemp("operator"),
    )
    with process:
        yield process


def _rule_files_configmap(
    plane: controlplane.ControlPlane, namespace: str, prometheus_name: str
) -> dict[str, str] | None:
    result = plane.kubectl(
        "get", "configmap", "-n", namespace, "-l", f"prometheus-name={prometheus_name}",
        "-o", "json", check=False,
    )  # fmt: skip
    if result.returncode:
        return None
    items = json.loads(result.stdout)["items"]
    files: dict[str, str] = {}
    for item in items:
        files.update(item.get("data") or {})
    return {key: value for key, value in files.items() if SLO_NAME in key} or None


def test_rendered_rule_file_evaluates_on_prometheus(
    control_plane: controlplane.ControlPlane,
    prometheus_operator: engines.Process,
    operator: operator_process.OperatorProcess,
    synthetic_data: synthetic.SyntheticData,
    tmp_path: Path,
) -> None:
    namespace = control_plane.create_namespace(f"pop-{secrets.token_hex(4)}")
    try:
        control_plane.apply(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "Prometheus",
                "metadata": {"name": "slo", "namespace": namespace},
                "spec": {
                    "replicas": 1,
                    "ruleSelector": {"matchLabels": RULE_LABELS},
                    "ruleNamespaceSelector": {},
                },
            }
        )
        control_plane.apply({**SLO, "metadata": {**SLO["metadata"], "namespace": namespace}})
        rule = wait_for(
            lambda: control_plane.kubectl(
                "get", "prometheusrule", "-n", namespace, f"slo-{SLO_NAME}", "-o", "json",
                check=False,
            ).stdout,
            "our operator's PrometheusRule",
        )  # fmt: skip
        assert json.loads(rule)["metadata"]["labels"].items() >= RULE_LABELS.items()
        files = wait_for(
            lambda: _rule_files_configmap(control_plane, namespace, "slo"),
            "prometheus-operator's rule-file ConfigMap",
        )
    finally:
        control_plane.delete_namespace(namespace)
    ((file_name, text),) = files.items()
    rendered = yaml.safe_load(text)
    names = [group["name"] for group in rendered["groups"]]
    assert names == [
        f"slo-operator/{namespace}/{SLO_NAME}/recording",
        f"slo-operator/{namespace}/{SLO_NAME}/alerting",
    ]
    rule_file = tmp_path / file_name
    rule_file.write_text(text)
    _evaluates_exactly(rule_file, namespace, synthetic_data, tmp_path)


def _evaluates_exactly(
    rule_file: Path, namespace: str, data: synthetic.SyntheticData, work: Path
) -> None:
    """The rendered file's rules, evaluated over the month's last two hours on Prometheus 3
    holding the synthetic data, record each tenant's events of every minute exactly."""
    binary, promtool = engines.prometheus3_binaries()
    tsdb = work / "tsdb"
    backfill.link_blocks(backfill.cached_synthetic_blocks(data, promtool=promtool), tsdb)
    end = data.scenario.end
    with prometheus.PrometheusServer(
        tsdb, work_dir=work / "prometheus", binary=binary, promtool=promtool
    ) as server:
        backfill.backfill_rules([rule_file], end - 2 * 3600, end, server, work_dir=work)
        identity = f'slo="{SLO_NAME}",slo_namespace="{namespace}"'
        (evaluated,) = server.query(f"max(timestamp({LEVEL1_TOTAL}{{{identity}}}))", end)
        at = evaluated.value
        hour = server.query(f"sum_over_time({LEVEL1_TOTAL}{{{identity}}}[59m30s])", at)
        recorded = {sample.labels["tenant"]: sample.value for sample in hour}
    truth = data.increase_by('http_requests_total{job="checkout"}', ["tenant"], at - 3600, at)
    assert recorded == {tenant: events for (tenant,), events in truth.items()}
