"""Every dashboard panel query returns data from a real Prometheus.

Six hours of raw data for the examples' services and the operator's own metrics are backfilled
with promtool, the examples' recording rules are backfilled level by level on top
(`testing.backfill.backfill_rules`), and each panel's query (template variables substituted for
the checkout SLO of tenant acme) is asked at the end of the data.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import slo, validation
from slo_operator.dashboards import grafana
from slo_operator.rules import render
from support import dashboard_queries, paths
from testkit import backfill, prometheus

pytestmark = pytest.mark.integration

HOURS = 6
STEP = 60


def _resources() -> list[Any]:
    resources, problems = validation.load_resources([paths.REPO / "examples"])
    assert not problems
    return [resource for _, resource in resources]


def _counter(name: str, labels: dict[str, str], per_step: float, end: int) -> Iterator[str]:
    rendered = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for number, moment in enumerate(range(end - HOURS * 3600, end + 1, STEP)):
        yield f"{name}{{{rendered}}} {number * per_step} {moment}"


def _gauge(name: str, labels: dict[str, str], value: float, end: int) -> Iterator[str]:
    rendered = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for moment in range(end - HOURS * 3600, end + 1, STEP):
        yield f"{name}{{{rendered}}} {value} {moment}"


def _openmetrics(end: int) -> str:
    """Raw series the examples select, and every operator metric with the dashboards' labels."""
    lines = ["# TYPE http_requests counter"]
    for tenant, code in itertools.product(("acme", "other"), ("200", "500")):
        per_step = 600 if code == "200" else 3
        labels = {"job": "checkout", "tenant": tenant, "code": code}
        lines += _counter("http_requests_total", labels, per_step, end)
    for code, per_step in (("200", 300), ("503", 1)):
        lines += _counter("http_requests_total", {"job": "catalog", "code": code}, per_step, end)
    lines.append("# TYPE http_request_duration_seconds histogram")
    buckets = (("0.1", 200), ("0.15", 280), ("0.2", 295), ("0.5", 299), ("+Inf", 300))
    for le, per_step in buckets:
        lines += _counter(
            "http_request_duration_seconds_bucket", {"job": "chatbot", "le": le}, per_step, end
        )
    lines += _counter("http_request_duration_seconds_count", {"job": "chatbot"}, 300, end)
    lines += _counter("http_request_duration_seconds_sum", {"job": "chatbot"}, 30, end)
    lines.append("# TYPE probe_success gauge")
    lines += _gauge("probe_success", {"job": "blackbox", "target": "catalog"}, 1, end)
    lines += _operator_metrics(end)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


_LABEL_EXAMPLES = {
    "namespace": "shop",
    "name": "checkout-availability",
    "objective": "standard",
    "window": "1h",
    "commitment": "checkout-availability",
    "backend": "default",
    "reason": "timeout",
    "kind": "ServiceLevelObjective",
    "outcome": "success",
}


def _operator_metrics(end: int) -> Iterator[str]:
    for name, label_names in grafana.OPERATOR_METRICS.items():
        labels = {label: _LABEL_EXAMPLES[label] for label in label_names}
        if name == grafana.EVALUATION_DURATION:
            yield f"# TYPE {name} histogram"
            for le, per_step in (("0.1", 1), ("1", 2), ("+Inf", 2)):
                yield from _counter(f"{name}_bucket", {"le": le}, per_step, end)
            yield from _counter(f"{name}_count", {}, 2, end)
            yield from _counter(f"{name}_sum", {}, 0.5, end)
        elif name.endswith("_total"):
            yield f"# TYPE {name.removesuffix('_total')} counter"
            yield from _counter(name, labels, 1, end)
        else:
            yield f"# TYPE {name} gauge"
            yield from _gauge(name, labels, 1 if name == grafana.OBJECTIVE_MET else 42.5, end)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, int]]:
    root = tmp_path_factory.mktemp("dashboards")
    end = math.floor(time.time() / 3600) * 3600 - 3600
    raw = root / "raw.om"
    raw.write_text(_openmetrics(end))
    process = backfill.backfill_openmetrics_file(raw, root / "raw-blocks")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output.decode(errors="replace")
    tsdb = root / "tsdb"
    backfill.move_blocks(root / "raw-blocks", tsdb)
    slos = [r for r in _resources() if isinstance(r, slo.ServiceLevelObjective)]
    rule_file = root / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(render.render_rule_file(slos), sort_keys=False))
    with prometheus.PrometheusServer(tsdb, work_dir=root / "prometheus") as running:
        backfill.backfill_rules([rule_file], end - HOURS * 3600 + 600, end, running)
        yield running, end


DASHBOARDS = grafana.render_dashboards(_resources())
CASES = [
    pytest.param(expr, id=f"{dashboard['uid']}: {title} [{number}]")
    for dashboard in DASHBOARDS
    for number, (title, expr) in enumerate(dashboard_queries.panel_queries(dashboard))
]
VALUES = dashboard_queries.example_values(__range=f"{HOURS - 1}h")


@pytest.mark.parametrize("expr", CASES)
def test_panel_query_returns_data(server: tuple[Any, int], expr: str) -> None:
    running, end = server
    query = dashboard_queries.substitute(expr, VALUES)
    result = running.query(query, end)
    assert result, f"no data for {query}"


@pytest.mark.parametrize(
    ("uid", "variable", "selector"),
    [
        pytest.param(dashboard["uid"], name, selector, id=f"{dashboard['uid']}: ${name}")
        for dashboard in DASHBOARDS
        for name, selector in dashboard_queries.variable_selectors(dashboard)
    ],
)
def test_variable_query_finds_values(
    server: tuple[Any, int], uid: str, variable: str, selector: str
) -> None:
    running, end = server
    match = dashboard_queries.substitute(selector, VALUES)
    found = running.api("series", {"match[]": match, "start": str(end - 600), "end": str(end)})[
        "data"
    ]
    assert found, f"{uid} ${variable}: no series for {match}"
