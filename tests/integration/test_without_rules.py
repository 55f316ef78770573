"""The CLI against a Prometheus that never ran our rules, over folders holding bad manifests.

An SRE tries a folder of manifests against the Prometheus they already have before deploying
anything: every valid object is evaluated (from the raw series), every invalid one is named with
its location, and the exit code says something was wrong — as `kubectl apply -f DIR` does.
Truth is computed here from the synthetic series alone.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest
import yaml

from cases import invalid_manifests
from slo_operator.evaluation import offline
from slo_operator.rules import checks
from testkit import prometheus

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

AT = datetime.datetime(2026, 1, 21, 0, 20, tzinfo=datetime.UTC)
NAMESPACE = "norules"
CHECKOUT_TOTAL = 'http_requests_total{job="checkout"}'
CHECKOUT_BAD = 'http_requests_total{job="checkout",code=~"5.."}'
CHECKOUT_LATENCY = 'http_request_duration_seconds{job="checkout"}'

CHECKOUT = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "checkout-1d", "namespace": NAMESPACE},
    "spec": {
        "service": "checkout",
        "indicator": {"ratio": {"errors": CHECKOUT_BAD, "total": CHECKOUT_TOTAL}},
        "window": "1d",
        "objectives": [{"name": "standard", "target": 99.5}],
    },
}


def slo_operator(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "slo-operator"), *arguments],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A valid SLO, an SLO with a bad target, and a file that is not YAML."""
    root = tmp_path_factory.mktemp("mixed")
    (root / "a-checkout.yaml").write_text(yaml.safe_dump(CHECKOUT))
    bad = invalid_manifests.CASES_BY_ID["target-zero"].manifest
    (root / "b-bad-target.yaml").write_text(yaml.safe_dump_all([bad]))
    (root / "c-broken.yaml").write_text("kind: [unclosed\n")
    return root


def test_evaluate_measures_the_valid_objects_and_names_each_invalid_one(
    folder: pathlib.Path, synthetic_prometheus: prometheus.PrometheusServer
) -> None:
    result = slo_operator(
        "evaluate", "-f", str(folder), "--prometheus-url", synthetic_prometheus.url,
        "--at", AT.isoformat(), "-o", "json",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    found = {item["name"]: item["status"] for item in json.loads(result.stdout)}
    assert set(found) == {"checkout-1d"}
    assert isinstance(found["checkout-1d"]["sli"], float)
    assert f"{folder / 'b-bad-target.yaml'}:" in result.stderr
    assert ": spec.objectives[0].target:" in result.stderr
    assert f"{folder / 'c-broken.yaml'}:" in result.stderr
    assert "not valid YAML" in result.stderr


def test_report_covers_the_valid_objects_and_names_each_invalid_one(
    folder: pathlib.Path,
    synthetic_prometheus: prometheus.PrometheusServer,
    tmp_path: pathlib.Path,
) -> None:
    html = tmp_path / "report.html"
    result = slo_operator(
        "report", "-f", str(folder), "--prometheus-url", synthetic_prometheus.url,
        "--to", AT.isoformat(), "--html", str(html),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "checkout-1d" in html.read_text()
    assert f"{folder / 'b-bad-target.yaml'}:" in result.stderr
    assert ": spec.objectives[0].target:" in result.stderr


def test_report_without_recorded_series_says_so_instead_of_empty_charts(
    synthetic_prometheus: prometheus.PrometheusServer, tmp_path: pathlib.Path
) -> None:
    manifests = tmp_path / "slos.yaml"
    manifests.write_text(yaml.safe_dump(CHECKOUT))
    html, markdown = tmp_path / "report.html", tmp_path / "md" / "README.md"
    result = slo_operator(
        "report", "-f", str(manifests), "--prometheus-url", synthetic_prometheus.url,
        "--to", AT.isoformat(), "--html", str(html), "--markdown", str(markdown),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    page = html.read_text()
    assert "no recorded series in this Prometheus" in page
    assert "<img" not in page, "no chart without history (it would be dated January 1970)"
    assert "no recorded series in this Prometheus" in markdown.read_text()
    assert not list(markdown.parent.glob("*.png"))


def _variant(name: str, **spec: Any) -> dict[str, Any]:
    body = copy.deepcopy(CHECKOUT)
    body["metadata"]["name"] = name
    body["spec"].update(spec)
    # None removes a field (a calendar SLO has no window).
    body["spec"] = {key: value for key, value in body["spec"].items() if value is not None}
    return body


def test_each_slo_of_a_fleet_gets_the_status_it_gets_alone(
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    """`evaluate` over many SLOs shares work between SLOs of one window shape (each distinct
    raw query sent once, one window plan per shape): each SLO's status must be the one it gets
    when evaluated alone — grouped or not, other selectors, other windows, calendars."""
    bodies = [
        CHECKOUT,
        _variant("checkout-1d-by-tenant", groupBy=["tenant"]),
        _variant(
            "checkout-1d-latency",
            indicator={"latency": {"metric": CHECKOUT_LATENCY}},
            objectives=[{"name": "fast", "target": 95, "threshold": "200ms"}],
        ),
        _variant("checkout-7d", window="7d"),
        _variant("checkout-7d-by-tenant", window="7d", groupBy=["tenant"]),
        _variant("checkout-month", window=None, calendar={"period": "Month", "timeZone": "UTC"}),
    ]
    resources = []
    for body in bodies:
        checked = checks.check_resource(body)
        assert not isinstance(checked, list), checked
        resources.append(checked)

    def statuses(chosen: list[Any]) -> dict[str, dict[str, Any]]:
        found = asyncio.run(offline.evaluate(chosen, synthetic_prometheus.url, AT))
        return {item.name: item.status for item in found}

    together = statuses(resources)
    assert set(together) == {body["metadata"]["name"] for body in bodies}
    assert {status["source"] for status in together.values()} == {"RawSeries"}
    for resource in resources:
        assert statuses([resource]) == {resource.name: together[resource.name]}
