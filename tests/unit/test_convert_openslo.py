"""OpenSLO v1 import: the examples expressed in OpenSLO convert into manifests whose rules equal
the hand-written examples'; every unsupported feature has its own message at its own field.
"""

from __future__ import annotations

import copy
import pathlib
import shutil
import subprocess
import sys
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.convert import openslo, promql
from slo_operator.rules import render
from support import paths

OPENSLO = paths.REPO / "tests" / "data" / "openslo"
CONSOLE_SCRIPT = pathlib.Path(sys.executable).with_name("slo-operator")

# OpenSLO file -> the hand-written example it expresses.
EQUIVALENTS = {
    "chatbot-latency.yaml": "chatbot-latency.yaml",
    "catalog-monthly.yaml": "catalog-monthly.yaml",
    "checkout-availability.yaml": "checkout-availability.yaml",
    "catalog-uptime.yaml": "catalog-uptime.yaml",
}


def slo_operator(*args: str) -> subprocess.CompletedProcess[str]:
    command = str(CONSOLE_SCRIPT) if CONSOLE_SCRIPT.exists() else shutil.which("slo-operator")
    assert command, "run `make setup`"
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=60, check=False)


def documents_of(*bodies: Any, source: str = "input.yaml") -> list[validation.Document]:
    return [validation.Document(source, number, body) for number, body in enumerate(bodies, 1)]


def load(path: pathlib.Path) -> list[validation.Document]:
    loaded = list(validation.load_documents(path))
    assert all(isinstance(item, validation.Document) for item in loaded)
    return [item for item in loaded if isinstance(item, validation.Document)]


def example(name: str) -> Any:
    resources, problems = validation.load_resources([paths.EXAMPLES / name])
    assert not problems
    ((_, resource),) = resources
    return resource


# --- the examples in OpenSLO --------------------------------------------------------------------


@pytest.mark.parametrize("openslo_file", sorted(EQUIVALENTS))
def test_openslo_document_converts_to_the_examples_rules(openslo_file: str) -> None:
    conversion = openslo.convert_documents(load(OPENSLO / openslo_file), namespace="shop")
    severities = {finding.severity for finding in conversion.findings}
    assert severities <= {openslo.Severity.NOTE}, [str(f) for f in conversion.findings]
    assert conversion.complete
    (converted,) = conversion.converted
    expected = example(EQUIVALENTS[openslo_file])
    assert converted.resource.name == expected.name
    assert render.render_rule_groups(converted.resource) == render.render_rule_groups(expected)


def test_chatbot_keeps_tiers_thresholds_primary_and_alert_routes() -> None:
    conversion = openslo.convert_documents(load(OPENSLO / "chatbot-latency.yaml"), "shop")
    spec = conversion.converted[0].manifest["spec"]
    assert spec["objectives"] == [
        {"name": "minimum", "target": 90.0, "threshold": "150ms"},
        {"name": "standard", "target": 99.0, "threshold": "200ms"},
        {"name": "stretch", "target": 99.5, "threshold": "200ms"},
    ]
    assert spec["primaryObjective"] == "standard"
    assert spec["labels"] == {"tier": "1"}
    assert spec["alerting"]["labels"] == {"team": "chat"}
    assert spec["alerting"]["annotations"] == {
        "runbook_url": "https://runbooks.example.com/chatbot"
    }
    assert spec["alerting"]["noData"] == {"enabled": True}
    meta = conversion.converted[0].manifest["metadata"]
    assert meta["annotations"] == {openslo.DISPLAY_NAME_ANNOTATION: "Chatbot latency"}


def test_calendar_month_converts_to_a_berlin_month() -> None:
    conversion = openslo.convert_documents(load(OPENSLO / "catalog-monthly.yaml"))
    spec = conversion.converted[0].manifest["spec"]
    assert spec["calendar"] == {"period": "Month", "timeZone": "Europe/Berlin"}
    assert "namespace" not in conversion.converted[0].manifest["metadata"]


def test_cli_converts_the_directory_into_manifests_that_validate(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    result = slo_operator("convert", "--from", "openslo", "-f", str(OPENSLO), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "converted 4 of 4 OpenSLO SLO(s)" in result.stderr
    written = sorted(path.name for path in out.iterdir())
    assert written == [
        "catalog-availability-monthly.yaml",
        "catalog-uptime.yaml",
        "chatbot-latency.yaml",
        "checkout-availability.yaml",
    ]
    validated = slo_operator("validate", "-f", str(out))
    assert validated.returncode == 0, validated.stdout
    assert "4 manifest(s) in 4 file(s) are valid" in validated.stdout


def test_cli_writes_what_converted_and_exits_1_naming_what_did_not(
    tmp_path: pathlib.Path,
) -> None:
    bad = copy.deepcopy(BASE)
    bad["metadata"]["name"] = "from-datadog"
    source = bad["spec"]["indicator"]["spec"]["ratioMetric"]["total"]["metricSource"]
    source["type"] = "Datadog"
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump_all([BASE, bad], sort_keys=False))
    result = slo_operator("convert", "--from", "openslo", "-f", str(path))
    assert result.returncode == 1
    (manifest,) = list(yaml.safe_load_all(result.stdout))
    assert manifest["metadata"]["name"] == "base"
    # The line and column of the offending node, and the object, as kubectl and yamllint say.
    lines = path.read_text().splitlines()
    line = lines.index("            type: Datadog") + 1
    assert (
        f"{path}:{line}:13: SLO from-datadog: "
        "spec.indicator.spec.ratioMetric.total.metricSource.type: metric source type "
        "'Datadog' is not supported" in result.stderr
    )
    start = lines.index("---") + 2
    assert (
        f"converted 1 of 2 OpenSLO SLO(s); not converted: SLO from-datadog ({path}:{start}:1)"
        in result.stderr
    )
    assert "what converted was written" in result.stderr


def test_cli_names_a_composite_slo_by_name_at_its_objectives(tmp_path: pathlib.Path) -> None:
    composite = copy.deepcopy(BASE)
    composite["metadata"]["name"] = "combined"
    indicator = composite["spec"].pop("indicator")
    composite["spec"]["objectives"] = [
        {"displayName": "Reads", "target": 0.99, "compositeWeight": 1, "indicator": indicator},
        {"displayName": "Writes", "target": 0.99, "compositeWeight": 2, "indicator": indicator},
    ]
    path = tmp_path / "composite.yaml"
    path.write_text(yaml.safe_dump(composite, sort_keys=False))
    result = slo_operator("convert", "--from", "openslo", "-f", str(path))
    assert result.returncode == 1
    line = path.read_text().splitlines().index("  objectives:") + 1
    assert (
        f"{path}:{line}:3: SLO combined: spec.objectives: composite SLOs are not supported: "
        "SLO 'combined' gives objectives[0], objectives[1] their own indicator or "
        "compositeWeight" in result.stderr
    ), result.stderr
    assert "spec.indicator: required" not in result.stderr


def test_cli_never_prints_a_traceback_on_garbage(tmp_path: pathlib.Path) -> None:
    for number, text in enumerate(["", "[1, 2", "- just\n- a list\n", "kind: SLO\n", "\x00\xff"]):
        path = tmp_path / f"garbage-{number}.yaml"
        path.write_text(text, encoding="latin-1")
        result = slo_operator("convert", "--from", "openslo", "-f", str(path))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr


# --- what cannot be converted, one message each --------------------------------------------------

BASE: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "base"},
    "spec": {
        "service": "checkout",
        "indicator": {
            "metadata": {"name": "errors"},
            "spec": {
                "ratioMetric": {
                    "counter": True,
                    "bad": {
                        "metricSource": {
                            "type": "Prometheus",
                            "spec": {"query": 'sum(rate(http_requests_total{code=~"5.."}[5m]))'},
                        }
                    },
                    "total": {
                        "metricSource": {
                            "type": "Prometheus",
                            "spec": {"query": "sum(rate(http_requests_total[5m]))"},
                        }
                    },
                }
            },
        },
        "timeWindow": [{"duration": "30d", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"displayName": "Standard", "target": 0.999}],
    },
}
RATIO = ("spec", "indicator", "spec", "ratioMetric")
BAD_QUERY = (*RATIO, "bad", "metricSource", "spec", "query")
BAD_QUERY_FIELD = "spec.indicator.spec.ratioMetric.bad.metricSource.spec.query"


def _set(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value


_DELETE = object()
_PAGE_POLICY = {
    "kind": "AlertPolicy",
    "metadata": {"name": "page"},
    "spec": {
        "alertWhenBreaching": True,
        "conditions": [
            {
                "kind": "AlertCondition",
                "metadata": {"name": "fast"},
                "spec": {
                    "severity": "critical",
                    "condition": {
                        "kind": "burnrate",
                        "op": "gt",
                        "threshold": 14.4,
                        "lookbackWindow": "1h",
                    },
                },
            }
        ],
        "notificationTargets": [],
    },
}


def _with_condition(**changes: Any) -> list[Any]:
    policy = copy.deepcopy(_PAGE_POLICY)
    policy["spec"]["conditions"][0]["spec"]["condition"].update(changes)
    return [policy]


# (case id, edits as (path, value), severity, field, part of the message)
UNSUPPORTED: list[tuple[str, list[tuple[tuple[str | int, ...], Any]], str, str, str]] = [
    (
        "non-prometheus-source",
        [((*RATIO, "bad", "metricSource", "type"), "Datadog")],
        "error",
        "spec.indicator.spec.ratioMetric.bad.metricSource.type",
        "metric source type 'Datadog' is not supported",
    ),
    (
        "composite-slo",
        [
            ((*RATIO[:2],), _DELETE),
            (
                ("spec", "objectives"),
                [
                    {
                        "displayName": "Checkout",
                        "target": 0.999,
                        "compositeWeight": 2,
                        "indicator": {
                            "metadata": {"name": "checkout-errors"},
                            "spec": {
                                "ratioMetric": {
                                    "counter": True,
                                    "bad": {"metricSource": {"type": "Datadog", "spec": {}}},
                                    "total": {"metricSource": {"type": "Datadog", "spec": {}}},
                                }
                            },
                        },
                    },
                    {"displayName": "Search", "target": 0.99, "compositeWeight": 1},
                ],
            ),
        ],
        "error",
        "spec.objectives",
        "composite SLOs are not supported: SLO 'base' gives objectives[0], objectives[1] their "
        "own indicator or compositeWeight",
    ),
    (
        "free-promql-binary",
        [(BAD_QUERY, "sum(rate(a[5m])) / 2")],
        "error",
        BAD_QUERY_FIELD,
        "found a binary expression",
    ),
    (
        "free-promql-function",
        [(BAD_QUERY, "sum(irate(a[5m]))")],
        "error",
        BAD_QUERY_FIELD,
        "found the function irate(...)",
    ),
    (
        "aggregation-other-than-sum",
        [(BAD_QUERY, "max(rate(a[5m]))")],
        "error",
        BAD_QUERY_FIELD,
        "found the aggregation max(...)",
    ),
    (
        "sum-without",
        [(BAD_QUERY, "sum without (pod) (rate(a[5m]))")],
        "error",
        BAD_QUERY_FIELD,
        "sum without (...) cannot be converted",
    ),
    (
        "offset-modifier",
        [(BAD_QUERY, "sum(rate(a[5m] offset 1h))")],
        "error",
        BAD_QUERY_FIELD,
        "offset and @ modifiers cannot be converted",
    ),
    (
        "not-promql",
        [(BAD_QUERY, "SELECT count(*) FROM requests")],
        "error",
        BAD_QUERY_FIELD,
        "not valid PromQL",
    ),
    (
        "group-by-differs",
        [(BAD_QUERY, "sum by (tenant) (rate(a[5m]))")],
        "error",
        BAD_QUERY_FIELD,
        "both must group by the same labels",
    ),
    (
        "raw-ratio",
        [((*RATIO, "raw"), {"metricSource": {"type": "Prometheus", "spec": {"query": "r"}}})],
        "error",
        "spec.indicator.spec.ratioMetric.raw",
        "a precomputed ratio (raw) cannot be converted",
    ),
    (
        "gauge-ratio",
        [((*RATIO, "counter"), False)],
        "error",
        "spec.indicator.spec.ratioMetric.counter",
        "counter: false (gauges) cannot be converted",
    ),
    (
        "query-missing",
        [((*RATIO, "bad", "metricSource", "spec"), {"queryText": "x"})],
        "error",
        BAD_QUERY_FIELD,
        "a Prometheus metric source needs a query",
    ),
    (
        "composite-objective",
        [(("spec", "objectives", 0, "indicatorRef"), "other-sli")],
        "error",
        "spec.objectives[0].indicatorRef",
        "composite SLOs (an indicator per objective) cannot be converted",
    ),
    (
        "composite-weight",
        [(("spec", "objectives", 0, "compositeWeight"), 2)],
        "error",
        "spec.objectives[0].compositeWeight",
        "composite SLOs",
    ),
    (
        "quantile-threshold-metric",
        [
            (("spec", "indicator", "spec", "ratioMetric"), _DELETE),
            (
                ("spec", "indicator", "spec", "thresholdMetric"),
                {
                    "metricSource": {
                        "type": "Prometheus",
                        "spec": {
                            "query": "histogram_quantile(0.99, sum by (le) (rate(d_bucket[5m])))"
                        },
                    }
                },
            ),
        ],
        "error",
        "spec.indicator.spec.thresholdMetric.metricSource.spec.query",
        "a quantile compared with a value counts good samples of the quantile",
    ),
    (
        "indicator-ref-missing",
        [(("spec", "indicator"), _DELETE), (("spec", "indicatorRef"), "nowhere")],
        "error",
        "spec.indicatorRef",
        "no SLI named 'nowhere'",
    ),
    (
        "time-window-missing",
        [(("spec", "timeWindow"), _DELETE)],
        "error",
        "spec.timeWindow",
        "our SLOs need a rolling or calendar window",
    ),
    (
        "calendar-two-weeks",
        [
            (
                ("spec", "timeWindow"),
                [{"duration": "2w", "calendar": {"startTime": "2026-01-05 00:00:00"}}],
            )
        ],
        "error",
        "spec.timeWindow[0].duration",
        "calendar windows are one week, month, quarter or year",
    ),
    (
        "calendar-start-not-a-period-start",
        [
            (
                ("spec", "timeWindow"),
                [
                    {
                        "duration": "1M",
                        "isRolling": False,
                        "calendar": {"startTime": "2022-01-01 12:00:00", "timeZone": "UTC"},
                    }
                ],
            )
        ],
        "problem",
        "spec.timeWindow[0].calendar.startTime",
        "is not the start of a month",
    ),
    (
        "rolling-month",
        [(("spec", "timeWindow"), [{"duration": "1M", "isRolling": True}])],
        "problem",
        "spec.timeWindow[0].duration",
        "a rolling 1M has no fixed length; converted to 30d",
    ),
    (
        "api-version-v1alpha",
        [(("apiVersion",), "openslo/v1alpha")],
        "error",
        "apiVersion",
        "v1alpha and v2alpha documents are not supported",
    ),
    (
        "target-out-of-range",
        [(("spec", "objectives", 0, "target"), 99.9)],
        "error",
        "spec.objectives[0].target",
        "strictly between 0 and 1",
    ),
    (
        "target-and-target-percent",
        [(("spec", "objectives", 0, "targetPercent"), 99.9)],
        "error",
        "spec.objectives[0]",
        "exactly one of target or targetPercent",
    ),
    (
        "timeslices-disagree",
        [
            (("spec", "budgetingMethod"), "Timeslices"),
            (
                ("spec", "objectives"),
                [
                    {"target": 0.99, "timeSliceTarget": 0.9, "timeSliceWindow": "1m"},
                    {"target": 0.999, "timeSliceTarget": 0.95, "timeSliceWindow": "5m"},
                ],
            ),
        ],
        "error",
        "spec.objectives",
        "every objective must have the same timeSliceWindow and timeSliceTarget",
    ),
    (
        "timeslice-target-missing",
        [
            (("spec", "budgetingMethod"), "Timeslices"),
            (("spec", "objectives"), [{"target": 0.99, "timeSliceWindow": 5}]),
        ],
        "error",
        "spec.objectives[0].timeSliceTarget",
        "required for Timeslices",
    ),
    (
        "unknown-field",
        [(("spec", "sloType"), "availability")],
        "problem",
        "spec.sloType",
        "not an OpenSLO v1 field here",
    ),
    (
        "label-not-a-prometheus-name",
        [(("metadata", "labels"), {"cost-centre": "shop"})],
        "problem",
        "metadata.labels.cost-centre",
        "is not a Prometheus label name",
    ),
    (
        "label-with-two-values",
        [(("metadata", "labels"), {"team": ["identity", "rbac"]})],
        "problem",
        "metadata.labels.team",
        "have one string value; a list is not converted",
    ),
    (
        "unknown-slo-dev-annotation",
        [(("metadata", "annotations"), {"slo.dev/owner": "team"})],
        "problem",
        "metadata.annotations.slo.dev/owner",
        "unknown annotation",
    ),
    (
        "primary-objective-names-nothing",
        [(("metadata", "annotations"), {openslo.PRIMARY_OBJECTIVE_ANNOTATION: "gold"})],
        "problem",
        f"metadata.annotations.{openslo.PRIMARY_OBJECTIVE_ANNOTATION}",
        "'gold' names no objective",
    ),
    (
        "burn-rate-not-generated",
        [(("spec", "alertPolicies"), _with_condition(threshold=10))],
        "problem",
        "spec.alertPolicies[0].spec.conditions[0].spec.condition",
        "burn rate > 10 over 1h is not one of the conditions generated for this window",
    ),
    (
        "burn-rate-op-lte",
        [(("spec", "alertPolicies"), _with_condition(op="lte"))],
        "problem",
        "spec.alertPolicies[0].spec.conditions[0].spec.condition.op",
        "a burn-rate alert fires when the budget burns faster than a threshold",
    ),
    (
        "condition-kind-not-burnrate",
        [(("spec", "alertPolicies"), _with_condition(kind="threshold"))],
        "problem",
        "spec.alertPolicies[0].spec.conditions[0].spec.condition.kind",
        "only burnrate conditions can be converted",
    ),
    (
        "alert-after-differs",
        [(("spec", "alertPolicies"), _with_condition(alertAfter="15m"))],
        "problem",
        "spec.alertPolicies[0].spec.conditions[0].spec.condition.alertAfter",
        "the page alert waits for 2m (for:), not 15m",
    ),
    (
        "page-alert-fires-on-more-than-asked",
        [(("spec", "alertPolicies"), _with_condition())],
        "problem",
        "spec.alertPolicies",
        "the page alert also fires at burn rate > 6 over 6h (and 30m)",
    ),
    (
        "alert-policy-ref-missing",
        [(("spec", "alertPolicies"), [{"alertPolicyRef": "nowhere"}])],
        "problem",
        "spec.alertPolicies[0].alertPolicyRef",
        "no AlertPolicy named 'nowhere'",
    ),
    (
        "timeslice-fields-with-occurrences",
        [(("spec", "objectives", 0, "timeSliceWindow"), "1m")],
        "note",
        "spec.objectives[0].timeSliceWindow",
        "only used by the timeslice budgeting methods; ignored",
    ),
    (
        "notification-targets",
        [
            (
                ("spec", "alertPolicies"),
                [
                    {
                        **_PAGE_POLICY,
                        "spec": {
                            **_PAGE_POLICY["spec"],
                            "notificationTargets": [{"targetRef": "x"}],
                        },
                    }
                ],
            )
        ],
        "note",
        "spec.alertPolicies[0].spec.notificationTargets",
        "notification targets are Alertmanager's routing",
    ),
]


@pytest.mark.parametrize(
    ("edits", "severity", "field", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in UNSUPPORTED],
)
def test_each_unsupported_feature_has_its_own_message(
    edits: list[tuple[tuple[str | int, ...], Any]], severity: str, field: str, message: str
) -> None:
    body = copy.deepcopy(BASE)
    for path, value in edits:
        _set(body, path, copy.deepcopy(value) if value is not _DELETE else value)
    conversion = openslo.convert_documents(documents_of(body))
    matching = [
        finding
        for finding in conversion.findings
        if finding.field == field and message in finding.message
    ]
    assert matching, "\n".join(str(finding) for finding in conversion.findings)
    assert matching[0].severity == severity
    assert str(matching[0]).startswith(f"input.yaml:1:{field}: ")
    if severity == "error":
        assert not conversion.converted
        assert not conversion.complete
    else:
        (converted,) = conversion.converted
        assert converted.resource.name == "base"
        if severity == "problem":
            assert not conversion.complete


def test_the_base_document_converts_without_findings() -> None:
    conversion = openslo.convert_documents(documents_of(BASE))
    assert conversion.findings == []
    spec = conversion.converted[0].manifest["spec"]
    assert spec["indicator"] == {
        "ratio": {
            "errors": 'http_requests_total{code=~"5.."}',
            "total": "http_requests_total",
        }
    }
    assert spec["objectives"] == [{"name": "standard", "target": 99.9}]
    assert spec["alerting"] == {"enabled": False}


def test_duplicate_names_and_foreign_documents_are_reported() -> None:
    ours = {"apiVersion": "slo.dev/v1alpha1", "kind": "ServiceLevelObjective"}
    conversion = openslo.convert_documents(documents_of(BASE, BASE, ours, "text"))
    lines = [str(finding) for finding in conversion.findings]
    assert "input.yaml:2:metadata.name: SLO 'base' is already defined in input.yaml:1" in lines
    assert any(line.startswith("input.yaml:3:apiVersion: expected openslo/v1") for line in lines)
    assert "input.yaml:4: expected an OpenSLO document (a mapping), got a string" in lines
    assert len(conversion.converted) == 1


def test_unused_documents_are_noted() -> None:
    sli = {"apiVersion": "openslo/v1", "kind": "SLI", "metadata": {"name": "lonely"}, "spec": {}}
    conversion = openslo.convert_documents(documents_of(BASE, sli))
    assert [str(f) for f in conversion.findings] == [
        "input.yaml:2: note: SLI 'lonely' is not used by any SLO in the input; nothing converted"
    ]


def test_a_latency_ratio_of_bucket_over_count_becomes_a_latency_indicator() -> None:
    body = copy.deepcopy(BASE)
    ratio = body["spec"]["indicator"]["spec"]["ratioMetric"]
    del ratio["bad"]
    ratio["good"] = copy.deepcopy(ratio["total"])
    ratio["good"]["metricSource"]["spec"]["query"] = (
        'sum by (tenant) (rate(d_seconds_bucket{job="api",le="0.25"}[5m]))'
    )
    ratio["total"]["metricSource"]["spec"]["query"] = (
        'sum by (tenant) (rate(d_seconds_count{job="api"}[5m]))'
    )
    body["spec"]["objectives"].append({"displayName": "Stretch", "targetPercent": 99.95})
    conversion = openslo.convert_documents(documents_of(body))
    assert conversion.findings == []
    spec = conversion.converted[0].manifest["spec"]
    assert spec["indicator"] == {"latency": {"metric": 'd_seconds{job="api"}'}}
    assert spec["groupBy"] == ["tenant"]
    assert [o["threshold"] for o in spec["objectives"]] == ["250ms", "250ms"]


@pytest.mark.parametrize(
    ("query", "selector", "group_by"),
    [
        ("x", "x", ()),
        ('x{a="b"}', 'x{a="b"}', ()),
        ("rate(x[1m])", "x", ()),
        ("increase(x[1h])", "x", ()),
        ("sum(rate(x[5m]))", "x", ()),
        ("(sum by (a, b) (rate(x{c!~'d'}[5m])))", 'x{c!~"d"}', ("a", "b")),
        ('sum(x{v="quote\\"d"})', 'x{v="quote\\"d"}', ()),
    ],
)
def test_accepted_query_shapes(query: str, selector: str, group_by: tuple[str, ...]) -> None:
    parsed = promql.parse_counter_query(query)
    assert (parsed.selector_text, parsed.group_by) == (selector, group_by)


@pytest.mark.parametrize(
    ("method", "objective", "timeslice"),
    [
        pytest.param(
            "RatioTimeslices",
            {"target": 0.999, "timeSliceWindow": "5m"},
            {"duration": "5m"},
            id="ratio-timeslices-has-no-slice-target",
        ),
        pytest.param(
            "Timeslices",
            {"target": 0.999, "timeSliceWindow": "5m", "timeSliceTarget": 0.95},
            {"duration": "5m", "target": 95.0},
            id="timeslices-keep-their-slice-target",
        ),
    ],
)
def test_timeslice_methods_convert_into_manifests_that_validate(
    method: str, objective: dict[str, Any], timeslice: dict[str, Any]
) -> None:
    body = copy.deepcopy(BASE)
    body["spec"]["budgetingMethod"] = method
    body["spec"]["objectives"] = [objective]
    conversion = openslo.convert_documents(documents_of(body))
    assert conversion.complete, [str(finding) for finding in conversion.findings]
    (converted,) = conversion.converted
    assert converted.manifest["spec"]["timeslice"] == timeslice
    assert not isinstance(validation.check_resource(converted.manifest), list)
