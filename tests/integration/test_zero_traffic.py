"""Zero traffic on a real Prometheus: NoData, never 100%, NaN or ±Inf, per method and per group.

Hand-written series (OpenMetrics, backfilled with promtool) over three hours: tenant `acme`
serves requests all along while tenant `globex`'s counters exist but never move, and a `quiet`
service whose counters never move at all. The SLOs' recording rules are backfilled, then
`slo-operator evaluate` reads them:

- every budgeting method on the quiet service answers NoData, with no SLI or budget;
- no recorded series of the quiet service holds NaN or an infinity (ratios are absent instead);
- the grouped SLO measures acme and lists globex marked `noData`, instead of dropping it.
"""

from __future__ import annotations

import datetime
import json
import math
import pathlib
import subprocess
import sys
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.rules import render
from testkit import backfill, prometheus

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

START = datetime.datetime(2026, 1, 10, tzinfo=datetime.UTC).timestamp()
AT = datetime.datetime(2026, 1, 10, 2, 50, tzinfo=datetime.UTC)
STEP = 30
NAMESPACE = "zero"


def _slo(name: str, total: str, method: str = "Occurrences", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service": name,
        "indicator": {"ratio": {"errors": total[:-1] + ',code="500"}', "total": total}},
        "window": "1h",
        "budgetingMethod": method,
        "objectives": [{"name": "standard", "target": 99.0}],
        **spec,
    }
    if method == "Timeslices":
        body["timeslice"] = {"duration": "5m", "target": 95}
    elif method == "RatioTimeslices":
        body["timeslice"] = {"duration": "5m"}
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": body,
    }


QUIET = 'quiet_requests_total{job="quiet"}'
SLOS = [
    _slo("quiet-occurrences", QUIET),
    _slo("quiet-timeslices", QUIET, "Timeslices"),
    _slo("quiet-ratio-timeslices", QUIET, "RatioTimeslices"),
    _slo("quiet-grouped", QUIET, groupBy=["tenant"]),
    _slo("tenants", 'shop_requests_total{job="shop"}', groupBy=["tenant"]),
]


def _openmetrics() -> str:
    """acme: 60 requests per 30s, 1 of them failing; globex and quiet: counters that never move."""
    steps = range(int(3 * 3600 / STEP) + 1)
    lines = ["# TYPE shop_requests counter"]
    for tenant, code, increment in (
        ("acme", "200", 59),
        ("acme", "500", 1),
        ("globex", "200", 0),
        ("globex", "500", 0),
    ):
        labels = f'job="shop",tenant="{tenant}",code="{code}"'
        lines += [
            f"shop_requests_total{{{labels}}} {1000 + i * increment} {START + i * STEP:.0f}"
            for i in steps
        ]
    lines.append("# TYPE quiet_requests counter")
    lines += [
        f'quiet_requests_total{{job="quiet",tenant="initech",code="200"}} 5 {START + i * STEP:.0f}'
        for i in steps
    ]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("zero")
    source = folder / "series.om"
    source.write_text(_openmetrics())
    blocks = folder / "blocks"
    blocks.mkdir()
    process = backfill.backfill_openmetrics_file(source, blocks)
    output, _ = process.communicate()
    assert process.returncode == 0, output
    tsdb = folder / "tsdb"
    tsdb.mkdir()
    backfill.move_blocks(blocks, tsdb)
    rules = folder / "rules.yaml"
    resources = [validation.parse_resource(body) for body in SLOS]
    rules.write_text(yaml.safe_dump(render.render_rule_file(resources), sort_keys=False))
    running = prometheus.PrometheusServer(tsdb, work_dir=folder / "prometheus")
    running.start()
    backfill.backfill_rules([rules], START + 600, AT.timestamp(), running)
    (folder / "slos.yaml").write_text(yaml.safe_dump_all(SLOS))
    running.folder = folder  # type: ignore[attr-defined]
    yield running
    running.stop()


@pytest.fixture(scope="module")
def statuses(server: Any) -> dict[str, dict[str, Any]]:
    completed = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "evaluate",
            "-f", str(server.folder / "slos.yaml"), "--prometheus-url", server.url,
            "--at", AT.isoformat(), "-o", "json",
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return {item["name"]: item["status"] for item in json.loads(completed.stdout)}


def _ready(status: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == "Ready")


@pytest.mark.parametrize(
    "name", ["quiet-occurrences", "quiet-timeslices", "quiet-ratio-timeslices", "quiet-grouped"]
)
def test_zero_traffic_is_no_data_for_every_method(
    name: str, statuses: dict[str, dict[str, Any]]
) -> None:
    status = statuses[name]
    assert _ready(status)["reason"] == "NoData", status
    for field in ("sli", "errorBudgetRemainingPercent", "objectives", "burnRates"):
        assert not status.get(field), (field, status)


def test_recorded_series_of_zero_traffic_hold_no_nan_or_infinity(server: Any) -> None:
    found = server.query('{__name__=~"slo:.+", slo=~"quiet-.+"}', AT.timestamp())
    assert found, "the level-1 series of the quiet service exist (they count 0 events)"
    bad = [sample for sample in found if not math.isfinite(sample.value)]
    assert not bad, bad
    ratios = server.query('{__name__="slo:sli_error:ratio", slo=~"quiet-.+"}', AT.timestamp())
    assert ratios == [], "a window without events has no ratio, not 0 or NaN"


def test_a_group_without_traffic_is_listed_as_no_data(
    statuses: dict[str, dict[str, Any]],
) -> None:
    status = statuses["tenants"]
    assert _ready(status)["status"] == "True"
    groups = {group["labels"]["tenant"]: group for group in status["groups"]}
    assert set(groups) == {"acme", "globex"}
    assert groups["acme"]["sli"] == pytest.approx(100 * 59 / 60, abs=0.001)
    assert not groups["acme"].get("noData")
    globex = groups["globex"]
    assert globex["noData"] is True
    assert globex["noDataSince"] == AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "sli" not in globex and "errorBudgetRemainingPercent" not in globex
