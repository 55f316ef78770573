"""`promtool check rules` accepts everything we generate, and user text comes out verbatim.

- every example's rules, as a plain rule file and as the PrometheusRule's groups;
- a hypothesis sweep: each example draws details (names, selectors with arbitrary label values,
  hostile labels and annotations, windows, calendars, slices, targets, thresholds) and renders
  one SLO for EVERY combination of indicator x budgeting method x window kind x groupBy x tiers
  into one rule file, checked by one promtool call;
- a firing alert (`promtool test rules`) whose labels and annotations carry template delimiters,
  quotes and newlines prints them exactly as written.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_operator.api import common, slo
from slo_operator.rules import render
from support import promtool, rule_yaml, slo_factory

pytestmark = pytest.mark.integration

EXAMPLES = rule_yaml.example_slos()


@pytest.mark.parametrize("release", promtool.RELEASES)
@pytest.mark.parametrize("stem", sorted(EXAMPLES))
def test_example_rules_pass_promtool(stem: str, release: str) -> None:
    resources = EXAMPLES[stem]
    result = promtool.check_rules(render.render_rule_file(resources), release=release)
    assert result.ok, result.output
    for resource in resources:
        groups = render.render_prometheus_rule(resource)["spec"]
        result = promtool.check_rules(groups, release=release)
        assert result.ok, result.output


HOSTILE_TEXT = [
    "{{ $value }}",
    "{{",
    "}}",
    '"} or vector(1) #',
    "a\nb",
    "\\",
    "`'\"",
    '{{- define "x" -}}',
    "ü€😀",
    "",
]
label_values = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
)
label_names = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda name: (
        name not in {"slo", "service", "objective", "tenant", "region", "le"}
        and not name.startswith("slo_")
    )
)
label_maps = st.dictionaries(label_names, label_values, max_size=3)
dns_names = st.from_regex(r"[a-z]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)
durations_ms = st.integers(min_value=1, max_value=120_000)


@st.composite
def spec_details(draw: st.DrawFn) -> dict[str, Any]:
    """Everything about an SLO except its shape."""
    matcher_value = draw(label_values)
    return {
        "namespace": draw(dns_names),
        "service": draw(st.text(min_size=1, max_size=20)),
        "description": draw(st.sampled_from(HOSTILE_TEXT)),
        "labels": draw(label_maps),
        "alerting": {
            "labels": draw(label_maps),
            "annotations": draw(label_maps),
            "page": {"labels": draw(label_maps)},
            "ticket": {"labels": draw(label_maps)},
            "noData": {"for": draw(st.sampled_from(["1m", "10m", "1h"]))},
        },
        "matcher": f"path={common.quote_promql_string(matcher_value)}",
        "rolling_hours": draw(st.sampled_from([1, 3, 24, 24 * 7, 24 * 28, 24 * 30, 24 * 90, 8784])),
        "calendar": {
            "period": draw(st.sampled_from([p.value for p in slo.CalendarPeriod])),
            "timeZone": draw(st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata"])),
        },
        "slice": draw(st.sampled_from(["1m", "2m", "5m", "15m", "1h"])),
        "slice_target": draw(st.floats(min_value=50, max_value=100)),
        "targets": sorted(
            draw(st.lists(st.floats(min_value=50, max_value=99.999), min_size=3, max_size=3))
        ),
        "thresholds": draw(st.lists(durations_ms, min_size=2, max_size=2)),
    }


INDICATORS = ("ratio-errors", "ratio-good", "latency", "boolGauge")
METHODS = ("Occurrences", "Timeslices", "RatioTimeslices")
WINDOW_KINDS = ("rolling", "calendar")
GROUP_BYS = ((), ("tenant", "region"))
TIERS = (1, 3)
COMBINATIONS = list(itertools.product(INDICATORS, METHODS, WINDOW_KINDS, GROUP_BYS, TIERS))


def build(
    details: dict[str, Any], index: int, combination: tuple[Any, ...]
) -> slo.ServiceLevelObjective:
    indicator, method, window_kind, group_by, tiers = combination
    manifest = slo_factory.manifest(
        name=f"slo-{index}",
        namespace=details["namespace"],
        indicator=indicator,
        method=method,
        group_by=group_by,
        tiers=tiers,
    )
    spec = manifest["spec"]
    spec.pop("window", None)
    if window_kind == "rolling":
        spec["window"] = f"{details['rolling_hours']}h"
    else:
        spec["calendar"] = details["calendar"]
    for key in ("service", "description", "labels", "alerting"):
        spec[key] = details[key]
    for kind in spec["indicator"].values():
        for field, text in kind.items():
            kind[field] = text.replace('job="', details["matcher"] + ',job="')
    for objective, target, threshold in zip(
        spec["objectives"], details["targets"], sorted(details["thresholds"]), strict=False
    ):
        objective["target"] = target
        if "threshold" in objective:
            objective["threshold"] = common.format_duration(threshold / 1000)
    if method == "Timeslices":
        spec["timeslice"] = {"duration": details["slice"], "target": details["slice_target"]}
    elif method == "RatioTimeslices":  # the mean of slice ratios has no slice target
        spec["timeslice"] = {"duration": details["slice"]}
    return rule_yaml.slo_from(manifest)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(details=spec_details())
def test_every_shape_passes_promtool(details: dict[str, Any]) -> None:
    resources = [build(details, index, combo) for index, combo in enumerate(COMBINATIONS)]
    rule_file = render.render_rule_file(resources)
    assert len(rule_file["groups"]) >= len(COMBINATIONS)
    result = promtool.check_rules(rule_file)
    assert result.ok, result.output[-3000:]


HOSTILE_SERVICE = 'svc {{ $labels.x }} "quoted" \\ }}'


def test_alert_labels_and_annotations_print_user_text_verbatim() -> None:
    """A no-data alert (no `$value` in its text, so promtool can compare it whole) fires with
    every user-supplied string exactly as written, `{{` included."""
    labels = {"note": "{{ $value }}", "weird": "{{- x -}} }} {{{{"}
    annotations = {"runbook_url": "https://x/{{ .Name }}", "other": "a\nb {{"}
    manifest = slo_factory.manifest(name="hostile", namespace="ns")
    manifest["spec"]["service"] = HOSTILE_SERVICE
    manifest["spec"]["labels"] = labels
    manifest["spec"]["alerting"] = {
        "labels": {"team": "{{"},
        "annotations": annotations,
        "ticket": {"labels": {"severity": "{{ .Severity }}"}},
    }
    resource = rule_yaml.slo_from(manifest)
    expected_labels = {
        **labels,
        "team": "{{",
        "severity": "{{ .Severity }}",
        "slo": "hostile",
        "slo_namespace": "ns",
    }
    expected_annotations = {
        "summary": f"SLO ns/hostile ({HOSTILE_SERVICE}) has no data",
        "description": (
            "The indicator of this SLO counted no events in the last five minutes: its SLI and "
            "error budget cannot be computed for now. Check the selectors, the scrape targets "
            "and whether the service still receives traffic."
        ),
        **annotations,
    }
    unit = {
        "interval": "1m",
        "input_series": [],
        "alert_rule_test": [
            {
                "eval_time": "11m",
                "alertname": "SLONoData",
                "exp_alerts": [
                    {"exp_labels": expected_labels, "exp_annotations": expected_annotations}
                ],
            }
        ],
    }
    result = promtool.run_unit_tests(render.render_rule_file([resource]), [unit])
    assert result.ok, result.output
