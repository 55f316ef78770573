"""Grafana dashboards: valid against the dashboard model fields we use, every query parses, and
every metric they read is a recorded series of the contract or one of the operator's own."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import jsonschema
import promql_parser
import pytest

from slo_operator.api import validation
from slo_operator.dashboards import grafana
from slo_operator.evaluation import metrics as evaluation_metrics
from slo_operator.evaluation import sla_metrics  # noqa: F401  (registers the SLA gauges)
from slo_operator.kube import metrics as kube_metrics
from slo_operator.rules import series
from support import dashboard_queries, paths

SCHEMA = json.loads((paths.REPO / "tests/data/grafana/dashboard.schema.json").read_text())
CONSOLE_SCRIPT = pathlib.Path(sys.executable).with_name("slo-operator")


def _examples() -> list[Any]:
    resources, problems = validation.load_resources([paths.REPO / "examples"])
    assert not problems
    return [resource for _, resource in resources]


DASHBOARDS = {
    "without manifests": grafana.render_dashboards([]),
    "with the examples": grafana.render_dashboards(_examples()),
}
ALL = [
    pytest.param(dashboard, id=f"{dashboard['uid']} {case}")
    for case, dashboards in DASHBOARDS.items()
    for dashboard in dashboards
]


@pytest.mark.parametrize("dashboard", ALL)
def test_dashboard_validates_against_the_model_fields_used(dashboard: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(dashboard)


def test_the_schema_rejects_what_grafana_would_not_read() -> None:
    dashboard = json.loads(json.dumps(grafana.overview_dashboard()))
    dashboard["panels"][1]["gridPos"]["w"] = 30
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dashboard, SCHEMA)
    dashboard = json.loads(json.dumps(grafana.overview_dashboard()))
    dashboard["panels"][1]["targets"][0]["exp"] = "typo"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dashboard, SCHEMA)


@pytest.mark.parametrize("dashboard", ALL)
def test_panels_tile_the_grid_without_overlap(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= grafana.GRID_WIDTH
        cells = {
            (position["x"] + column, position["y"] + row)
            for column in range(position["w"])
            for row in range(position["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


@pytest.mark.parametrize("dashboard", ALL)
@pytest.mark.parametrize("group", ["", 'tenant="acme"'])
def test_every_query_parses_after_substituting_variables(
    dashboard: dict[str, Any], group: str
) -> None:
    values = dashboard_queries.example_values(group=group)
    queries = list(dashboard_queries.panel_queries(dashboard))
    assert queries
    for title, expr in queries:
        text = dashboard_queries.substitute(expr, values)
        try:
            promql_parser.parse(text)
        except ValueError as error:
            pytest.fail(f"{dashboard['uid']} / {title}: {text!r} does not parse: {error}")
    for name, selector in dashboard_queries.variable_selectors(dashboard):
        parsed = promql_parser.parse(dashboard_queries.substitute(selector, values))
        assert isinstance(parsed, promql_parser.VectorSelector), name


def _metric_names(expr: str) -> set[str]:
    """Metric names an expression reads, through the parser (regex `__name__` matchers kept)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    # An alternation of plain names reads each of them.
                    names.update(matcher.value.split("|"))
            return
        for attribute in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attribute, None)
            if child is not None and not isinstance(child, str | int | float):
                walk(child)
        for argument in getattr(node, "args", None) or []:
            walk(argument)

    walk(promql_parser.parse(expr))
    return names


RECORDED = {
    series.ERROR_RATIO,
    series.BAD_SUM,
    series.TOTAL_SUM,
    series.BAD_TILE,
    series.TOTAL_TILE,
    series.SLICE_ERROR,
    *series.LEVEL1_TOTAL_NAMES,
    *series.LEVEL1_BAD_NAMES,
}


def test_every_metric_is_a_recorded_series_or_an_operator_metric() -> None:
    values = dashboard_queries.example_values()
    used: set[str] = set()
    for dashboards in DASHBOARDS.values():
        for dashboard in dashboards:
            for _, expr in dashboard_queries.panel_queries(dashboard):
                used |= _metric_names(dashboard_queries.substitute(expr, values))
    operator = {name.removesuffix("_bucket") for name in used if name.startswith("slo_operator_")}
    assert used - operator - {f"{grafana.EVALUATION_DURATION}_bucket"} <= RECORDED
    assert operator == set(grafana.OPERATOR_METRICS)
    assert {series.ERROR_RATIO, series.BAD_TILE, series.TOTAL_TILE} <= used


def _registered() -> dict[str, tuple[str, ...]]:
    """Metric family name -> label names, as the operator's registries export them."""
    found: dict[str, tuple[str, ...]] = {}
    # Served beside the registries: the per-SLO and per-SLA numbers.
    collectors: list[Any] = list(evaluation_metrics.OBJECT_NUMBERS)
    for registry in {
        id(r): r for r in (evaluation_metrics.REGISTRY, kube_metrics.REGISTRY)
    }.values():
        # Private, but the only listing that includes label names of metrics with no samples.
        collectors += list(registry._collector_to_names)
    for collector in collectors:
        name = getattr(collector, "_name", None)
        labels = tuple(getattr(collector, "_labelnames", ()))
        if name is None:
            # Collectors rendered at scrape time (per-SLO and per-SLA numbers) list their
            # families, with label names, in describe().
            for family in collector.describe():
                found[family.name] = tuple(getattr(family, "_labelnames", ()))
            continue
        kind = getattr(collector, "_type", "")
        found[f"{name}_total" if kind == "counter" else name] = labels
    return found


def test_operator_metrics_exist_with_the_labels_the_dashboards_use() -> None:
    registered = _registered()
    for name, labels in grafana.OPERATOR_METRICS.items():
        if name in grafana.ASSUMED_METRICS:
            assert name not in registered, (
                f"{name} is exported now: remove it from ASSUMED_METRICS and check its labels"
            )
            continue
        assert name in registered, f"{name} is not exported by the operator"
        assert set(labels) <= set(registered[name]), (name, registered[name])


def test_sla_rows_come_from_the_manifests() -> None:
    dashboard = grafana.render_dashboards(_examples())[2]
    commitment = [panel for panel in dashboard["panels"] if panel["title"].startswith("checkout")]
    (panel,) = commitment
    assert panel["targets"][0]["expr"] == (
        '100 * (1 - sum(sum_over_time(slo:sli_bad:sum1h{slo="checkout-availability",'
        'slo_namespace="shop",tenant="acme"}[$__range:1h] offset -1ms)) / (sum(sum_over_time('
        'slo:sli_total:sum1h{slo="checkout-availability",slo_namespace="shop",tenant="acme"}'
        "[$__range:1h] offset -1ms)) > 0))"
    )
    assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 99.5
    assert dashboard["time"] == {"from": "now/M", "to": "now"}
    assert dashboard["timezone"] == "UTC"


def test_cli_writes_one_file_per_dashboard(tmp_path: pathlib.Path) -> None:
    command = str(CONSOLE_SCRIPT) if CONSOLE_SCRIPT.exists() else shutil.which("slo-operator")
    assert command
    result = subprocess.run(
        [command, "dashboards", "-f", str(paths.REPO / "examples"), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(
        f"{uid}.json" for uid in (grafana.OVERVIEW_UID, grafana.DETAIL_UID, grafana.SLA_UID)
    )
    for path in tmp_path.iterdir():
        jsonschema.validate(json.loads(path.read_text()), SCHEMA)
    printed = subprocess.run(
        [command, "dashboards"], capture_output=True, text=True, timeout=60, check=False
    )
    assert [d["uid"] for d in json.loads(printed.stdout)] == [
        grafana.OVERVIEW_UID,
        grafana.DETAIL_UID,
        grafana.SLA_UID,
    ]


def test_the_operator_exports_each_objectives_numbers_and_target_for_the_panels() -> None:
    from prometheus_client import parser

    evaluation_metrics.SLO_NUMBERS.set(
        "shop", "dash-check", [("standard", 99.412, 41.2, True, 99.0)], {"1h": 1.3}
    )
    try:
        text = evaluation_metrics.exposition()[0].decode()
    finally:
        evaluation_metrics.SLO_NUMBERS.forget("shop", "dash-check")
    found = {
        sample.name: sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
        if sample.labels.get("name") == "dash-check"
        and sample.labels.get("objective", "standard") == "standard"
    }
    assert found == {
        grafana.SLI_PERCENT: 99.412,
        grafana.BUDGET_REMAINING_PERCENT: 41.2,
        grafana.OBJECTIVE_MET: 1.0,
        grafana.TARGET_PERCENT: 99.0,
        grafana.BURN_RATE: 1.3,
    }
