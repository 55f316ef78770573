"""`slo-operator report` reading SLOs and SLAs from a real control plane gives the same report as
`-f` with the same manifests; `--namespace` picks one namespace, `--all-namespaces` every one.

Prometheus holds the standard synthetic month (cached blocks) and one day of the SLO's rules,
backfilled with promtool; the report runs at an instant in that day (`--to`), so the numbers are
fixed and the two reports can be compared byte for byte.
"""

from __future__ import annotations

import copy
import datetime
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.rules import render
from testkit import backfill, controlplane, prometheus, synthetic

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

AT = datetime.datetime(2026, 1, 21, 0, 20, tzinfo=datetime.UTC)
DAY = 86400
HOUR = 3600
SLO = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "checkout-1d"},
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
SLA = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelAgreement",
    "metadata": {"name": "acme"},
    "spec": {
        "customer": "acme",
        "period": "Month",
        "timeZone": "UTC",
        "commitments": [{"name": "checkout", "sloRef": {"name": "checkout-1d"}, "target": 99}],
        "credits": [{"below": 99, "creditPercent": 10}],
    },
}


def _in(namespace: str, body: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    placed = copy.deepcopy(body)
    placed["metadata"]["namespace"] = namespace
    if name:
        placed["metadata"]["name"] = name
    return placed


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prometheus.PrometheusServer]:
    folder = tmp_path_factory.mktemp("report-cluster")
    data = synthetic.generate(synthetic.standard_scenario())
    tsdb = folder / "tsdb"
    tsdb.mkdir()
    backfill.link_blocks(backfill.cached_synthetic_blocks(data), tsdb)
    # One rule file for both namespaces' SLOs: the recorded series carry the namespace.
    resources = [
        validation.parse_resource(_in("rep-a", SLO)),
        validation.parse_resource(_in("rep-b", SLO, "checkout-b")),
    ]
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(render.render_rule_file(resources), sort_keys=False))
    running = prometheus.PrometheusServer(tsdb, work_dir=folder / "prometheus")
    running.start()
    backfill.backfill_rules([rule_file], AT.timestamp() - DAY - 2 * HOUR, AT.timestamp(), running)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def namespaces(control_plane: controlplane.ControlPlane) -> Iterator[tuple[str, str]]:
    for name in ("rep-a", "rep-b"):
        control_plane.create_namespace(name)
    control_plane.apply(_in("rep-a", SLO))
    control_plane.apply(_in("rep-a", SLA))
    control_plane.apply(_in("rep-b", SLO, "checkout-b"))
    yield "rep-a", "rep-b"
    for name in ("rep-a", "rep-b"):
        control_plane.delete_namespace(name)


def _report(folder: pathlib.Path, url: str, *source: str) -> str:
    completed = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "report", *source,
            "--prometheus-url", url, "--to", AT.isoformat(),
            "--markdown", str(folder / "report.md"),
        ],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return (folder / "report.md").read_text()


def test_cluster_report_equals_the_manifests_report(
    server: prometheus.PrometheusServer,
    namespaces: tuple[str, str],
    tmp_path: pathlib.Path,
) -> None:
    manifests = tmp_path / "manifests.yaml"
    manifests.write_text(yaml.safe_dump_all([_in("rep-a", SLO), _in("rep-a", SLA)]))
    (tmp_path / "files").mkdir()
    (tmp_path / "cluster").mkdir()
    (tmp_path / "all").mkdir()
    from_files = _report(tmp_path / "files", server.url, "-f", str(manifests))
    from_cluster = _report(tmp_path / "cluster", server.url, "--namespace", "rep-a")
    assert "## SLO rep-a/checkout-1d" in from_files
    assert "## SLA rep-a/acme (acme)" in from_files
    assert from_cluster == from_files
    charts = sorted(p.name for p in (tmp_path / "files").glob("*.png"))
    assert charts == sorted(p.name for p in (tmp_path / "cluster").glob("*.png"))
    assert len(charts) == 2
    everything = _report(tmp_path / "all", server.url, "--all-namespaces")
    assert "## SLO rep-a/checkout-1d" in everything
    assert "## SLO rep-b/checkout-b" in everything
    assert "rep-b" not in from_cluster
