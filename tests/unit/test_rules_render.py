"""Structure and behaviour of the generated rules (rules/render.py, recording.py, alerting.py).

The PromQL is inspected through the real parser (`promql_reads`), so the tests state what a rule
reads and over which range, not how its text happens to look.
"""

from __future__ import annotations

import itertools
import re

import pytest

from slo_operator import errors
from slo_operator.api import common
from slo_operator.rules import model, recording, render, series
from support import promql_reads, rule_yaml, slo_factory

EVERY_SHAPE = [
    {"indicator": indicator, "method": method, "window": window, "group_by": group_by, "tiers": t}
    for indicator, method, window, group_by, t in itertools.product(
        slo_factory.INDICATORS,
        slo_factory.METHODS,
        slo_factory.WINDOWS,
        ((), ("tenant", "region")),
        (1, 3),
    )
]


def shape_id(shape: dict[str, object]) -> str:
    return "-".join(
        str(v) if not isinstance(v, tuple) else "+".join(v) or "ungrouped" for v in shape.values()
    )


def recording_rules(groups: list[model.RuleGroup]) -> list[model.RecordingRule]:
    return [
        rule for group in groups for rule in group.rules if isinstance(rule, model.RecordingRule)
    ]


def alerting_rules(groups: list[model.RuleGroup]) -> list[model.AlertingRule]:
    return [
        rule for group in groups for rule in group.rules if isinstance(rule, model.AlertingRule)
    ]


@pytest.mark.parametrize("shape", EVERY_SHAPE, ids=shape_id)
def test_every_recorded_series_carries_the_contract_labels(shape: dict[str, object]) -> None:
    resource = slo_factory.build(labels={"tier": "1"}, **shape)  # type: ignore[arg-type]
    for rule in recording_rules(render.render_rule_groups(resource)):
        assert rule.labels["slo"] == "api"
        assert rule.labels["slo_namespace"] == "ns"
        assert rule.labels["service"] == "api"
        assert rule.labels["tier"] == "1"
        assert "objective" not in rule.labels, "recorded series are shared by all objectives"


@pytest.mark.parametrize("shape", EVERY_SHAPE, ids=shape_id)
def test_only_level1_reads_raw_series_and_only_the_last_minute(
    shape: dict[str, object],
) -> None:
    resource = slo_factory.build(**shape)  # type: ignore[arg-type]
    level1 = {series.total_level1(resource.spec), series.bad_level1(resource.spec)}
    for rule in recording_rules(render.render_rule_groups(resource)):
        raw = [read for read in promql_reads.reads(rule.expr) if read.raw]
        if rule.record not in level1:
            assert not raw, f"{rule.record} reads raw series: {rule.expr}"
            continue
        assert raw
        for read in raw:
            # Counters: the latest value now and a minute ago, or (after a gap) the last one in
            # the 15 minutes before, one instant per minute; 0/1 gauges: the last minute.
            assert read.subquery in (None, (15 * 60, 60))
            assert read.offset_seconds in (0, 60)
            assert read.range_seconds is None or read.range_seconds < 60
            if shape["group_by"]:
                assert f"sum by ({', '.join(shape['group_by'])})" in rule.expr  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", EVERY_SHAPE, ids=shape_id)
def test_recorded_series_are_read_for_this_slo_only_and_from_lower_depths(
    shape: dict[str, object],
) -> None:
    resource = slo_factory.build(**shape)  # type: ignore[arg-type]
    depth_of: dict[str, int] = {}
    for rule in recording_rules(render.render_rule_groups(resource)):
        for read in promql_reads.reads(rule.expr):
            if read.raw:
                continue
            assert read.equal("slo") == "api" and read.equal("slo_namespace") == "ns"
            assert read.metric in depth_of, f"{rule.record} reads {read.metric} before it exists"
            assert depth_of[read.metric] < rule.depth
        depth_of.setdefault(rule.record, rule.depth)


@pytest.mark.parametrize("shape", EVERY_SHAPE, ids=shape_id)
def test_windows_are_ratios_of_sums_never_averages_of_ratios(shape: dict[str, object]) -> None:
    resource = slo_factory.build(**shape)  # type: ignore[arg-type]
    for rule in recording_rules(render.render_rule_groups(resource)):
        called = promql_reads.functions(rule.expr)
        assert "avg_over_time" not in called
        assert "increase" not in called
        if rule.record == series.ERROR_RATIO:
            assert " / " in rule.expr
            assert called <= {"sum_over_time", "count_over_time"}


@pytest.mark.parametrize(
    ("window", "points"),
    [("5m", 5), ("30m", 30), ("1h", 60), ("2h", 120), ("6h", 360), ("1d", 1440), ("3d", 4320)],
)
def test_alert_windows_sum_exactly_window_over_1m_points(window: str, points: int) -> None:
    resource = slo_factory.build(window="rolling-30d")
    (rule,) = [
        r
        for r in recording_rules(render.render_rule_groups(resource))
        if r.record == series.ERROR_RATIO and r.labels["slo_window"] == window
    ]
    reads = promql_reads.reads(rule.expr)
    assert [read.metric for read in reads] == ["slo:sli_bad:increase1m", "slo:sli_total:increase1m"]
    for read in reads:
        # Both ends of a range are inclusive in Prometheus 2: W - 30s holds W/1m points
        # recorded in the same group, and consecutive windows share none.
        assert read.range_seconds == points * 60 - 30


def test_30d_window_is_720_hourly_tiles_of_60_points() -> None:
    resource = slo_factory.build(window="rolling-30d")
    rules = {
        (r.record, r.labels.get("slo_window")): r
        for r in recording_rules(render.render_rule_groups(resource))
    }
    (tile_read,) = promql_reads.reads(rules[("slo:sli_total:sum1h", None)].expr)
    assert tile_read.metric == "slo:sli_total:increase1m" and tile_read.range_seconds == 3570
    for name, tile in (
        ("slo:sli_total:sum", "slo:sli_total:sum1h"),
        ("slo:sli_bad:sum", "slo:sli_bad:sum1h"),
    ):
        (read,) = promql_reads.reads(rules[(name, "30d")].expr)
        assert read.metric == tile
        # Subquery steps are multiples of 1h since the epoch: any range in (719h, 720h] holds
        # exactly 720 of them, wherever in the hour the rule is evaluated.
        assert read.subquery == (30 * 86400 - 0.001, 3600)
    ratio = rules[("slo:sli_error:ratio", "30d")]
    assert [r.metric for r in promql_reads.reads(ratio.expr)] == [
        "slo:sli_bad:sum",
        "slo:sli_total:sum",
    ]


def test_short_full_windows_are_read_from_1m_points() -> None:
    resource = slo_factory.build(window="rolling-1d")
    rules = recording_rules(render.render_rule_groups(resource))
    assert not [r for r in rules if r.record.endswith("sum1h")]
    (total,) = [r for r in rules if r.record == "slo:sli_total:sum"]
    assert promql_reads.reads(total.expr)[0].range_seconds == 86400 - 30


def test_tiers_share_level1_series_and_thresholds_get_one_bad_series_each() -> None:
    (chatbot,) = rule_yaml.example_slos()["chatbot-latency"]
    rules = recording_rules(render.render_rule_groups(chatbot))
    level1_bad = [r for r in rules if r.record == "slo:sli_bad:increase1m"]
    assert [r.labels["slo_threshold"] for r in level1_bad] == ["150ms", "200ms"]
    assert len([r for r in rules if r.record == "slo:sli_total:increase1m"]) == 1
    # Everything else reads all thresholds at once: one rule per window, not per objective.
    windows = [r.labels["slo_window"] for r in rules if r.record == series.ERROR_RATIO]
    assert len(windows) == len(set(windows))
    assert render.count_rules(render.render_rule_groups(chatbot)) == (len(rules), 3)


@pytest.mark.parametrize(
    ("seconds", "written_as"),
    [
        (0.15, ["0.15"]),
        (0.2, ["0.2"]),
        (1.0, ["1", "1.0"]),
        (2.5, ["2.5"]),
        (10.0, ["10", "10.0"]),
        (0.00001, ["1e-05"]),
        (1e6, ["1e+06", "1000000.0", "1000000"]),
    ],
)
def test_le_regex_matches_go_python_and_prometheus3_bucket_labels(
    seconds: float, written_as: list[str]
) -> None:
    regex = recording.le_regex(seconds)
    for text in written_as:
        assert re.fullmatch(regex, text), (regex, text)
    for other in ("0.25", "12", "1.05", "+Inf", "1x0"):
        if other not in written_as:
            assert not re.fullmatch(regex, other), (regex, other)


def test_selectors_are_rendered_from_the_parsed_selector_never_pasted() -> None:
    manifest = slo_factory.manifest()
    manifest["spec"]["indicator"] = {
        "ratio": {
            "errors": """ http_requests_total { job = 'api' , code =~ "5.." } """,
            "total": "http_requests_total{job='api'}",
        }
    }
    groups = render.render_rule_groups(rule_yaml.slo_from(manifest))
    exprs = [r.expr for r in recording_rules(groups)]
    assert '(http_requests_total{job="api",code=~"5.."} - (http_requests_total' in exprs[1]
    assert '(http_requests_total{job="api"} - (http_requests_total{job="api"} offset 1m' in exprs[0]


HOSTILE = "\"} or vector(1) # \\\" \n {{ $value }} `x` 'y'"


def test_no_label_value_can_escape_its_quotes() -> None:
    manifest = slo_factory.manifest(name="api", namespace="ns")
    manifest["spec"]["indicator"] = {
        "ratio": {
            "errors": 'http_requests_total{job="api",path='
            + common.quote_promql_string(HOSTILE)
            + "}",
            "total": 'http_requests_total{job="api"}',
        }
    }
    manifest["spec"]["service"] = HOSTILE
    manifest["spec"]["labels"] = {"team": HOSTILE}
    groups = render.render_rule_groups(rule_yaml.slo_from(manifest))
    rules = recording_rules(groups)
    (bad,) = [r for r in rules if r.record == "slo:sli_bad:increase1m"]
    raw = [read for read in promql_reads.reads(bad.expr) if read.raw]
    assert {read.metric for read in raw} == {"http_requests_total"}
    assert all(("path", "=", HOSTILE) in read.matchers for read in raw)
    assert all(r.labels["service"] == HOSTILE and r.labels["team"] == HOSTILE for r in rules)
    for alert in alerting_rules(groups):
        promql_reads.reads(alert.expr)  # parses: nothing leaked into PromQL


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("labels", "{{ $value }}"),
        ("labels", "a {{ b"),
        ("labels", "{{{{"),
        ("labels", "}} {{- x -}}"),
        ("annotations", '{{ template "x" }}'),
        ("description", "{{ range . }}"),
        ("service", "svc {{"),
    ],
)
def test_user_text_in_alerts_cannot_open_a_template(field: str, text: str) -> None:
    manifest = slo_factory.manifest()
    spec = manifest["spec"]
    if field == "labels":
        spec["labels"] = {"note": text}
        spec["alerting"] = {"labels": {"other": text}, "page": {"labels": {"route": text}}}
    elif field == "annotations":
        spec["alerting"] = {"annotations": {"runbook_url": text}}
    else:
        spec[field] = text
    for alert in alerting_rules(render.render_rule_groups(rule_yaml.slo_from(manifest))):
        for value in [*alert.labels.values(), *alert.annotations.values()]:
            # Every `{{` left is either ours or the escape action `{{ "{{" }}`.
            without_escapes = value.replace('{{ "{{" }}', "")
            without_ours = re.sub(r"\{\{ \$value \| humanize \}\}", "", without_escapes)
            assert "{{" not in without_ours, value


@pytest.mark.parametrize(
    ("field", "labels", "message"),
    [
        ("spec.groupBy[0]", {"groupBy": ["slo"]}, "set by the generated rules"),
        ("spec.groupBy[1]", {"groupBy": ["tenant", "service"]}, "set by the generated rules"),
        ("spec.labels.slo_window", {"labels": {"slo_window": "x"}}, "cannot be overridden"),
        ("spec.labels.tenant", {"labels": {"tenant": "x"}, "groupBy": ["tenant"]}, "groupBy"),
        ("spec.alerting.labels.objective", {"alerting": {"labels": {"objective": "x"}}}, ""),
        ("spec.alerting.page.labels.slo", {"alerting": {"page": {"labels": {"slo": "x"}}}}, ""),
        (
            "spec.alerting.ticket.labels.slo_namespace",
            {"alerting": {"ticket": {"labels": {"slo_namespace": "x"}}}},
            "",
        ),
    ],
)
def test_labels_the_rules_set_are_refused_with_the_field(
    field: str, labels: dict[str, object], message: str
) -> None:
    manifest = slo_factory.manifest()
    manifest["spec"].update(labels)
    with pytest.raises(errors.InvalidSpec) as raised:
        render.render_rule_groups(rule_yaml.slo_from(manifest))
    assert raised.value.field == field
    assert message in raised.value.reason


def test_alerts_are_for_the_primary_objective_with_user_labels_underneath_ours() -> None:
    (chatbot,) = rule_yaml.example_slos()["chatbot-latency"]
    alerts = alerting_rules(render.render_rule_groups(chatbot))
    assert [a.alert for a in alerts] == [
        "SLOErrorBudgetBurnPage",
        "SLOErrorBudgetBurnTicket",
        "SLONoData",
    ]
    page, ticket, no_data = alerts
    assert page.labels == {
        "severity": "critical",
        "tier": "1",
        "team": "chat",
        "slo": "chatbot-latency",
        "slo_namespace": "shop",
        "objective": "standard",
    }
    assert ticket.labels["severity"] == "warning"
    assert 'slo_threshold="200ms"' in page.expr and "150ms" not in page.expr
    assert "/ 0.01 > 14.4" in page.expr
    assert page.for_ == "2m" and ticket.for_ == "10m" and no_data.for_ == "10m"
    assert page.annotations["runbook_url"] == "https://runbooks.example.com/chatbot"
    assert {"summary", "description"} <= set(page.annotations)
    assert no_data.expr.endswith(
        '\nor\nabsent(slo:sli_total:increase1m{slo="chatbot-latency",slo_namespace="shop"})'
    )
    # Per group (here the SLO): seen in the longest alert window, quiet for five minutes.
    assert 'slo:sli_error:ratio{slo="chatbot-latency",slo_namespace="shop",slo_window="' in (
        no_data.expr
    )


@pytest.mark.parametrize(
    ("alerting", "expected"),
    [
        ({}, ["SLOErrorBudgetBurnPage", "SLOErrorBudgetBurnTicket", "SLONoData"]),
        ({"enabled": False}, []),
        ({"page": {"enabled": False}}, ["SLOErrorBudgetBurnTicket", "SLONoData"]),
        ({"ticket": {"enabled": False}, "noData": {"enabled": False}}, ["SLOErrorBudgetBurnPage"]),
    ],
)
def test_alerts_can_be_switched_off(alerting: dict[str, object], expected: list[str]) -> None:
    resource = slo_factory.build(alerting=alerting)
    groups = render.render_rule_groups(resource)
    assert [a.alert for a in alerting_rules(groups)] == expected
    assert [g.name.rsplit("/", 1)[1] for g in groups] == (
        ["recording", "alerting"] if expected else ["recording"]
    )


def test_no_data_uses_the_level1_total_and_the_configured_for() -> None:
    resource = slo_factory.build(indicator="boolGauge", alerting={"noData": {"for": "15m"}})
    (no_data,) = [
        a for a in alerting_rules(render.render_rule_groups(resource)) if a.alert == "SLONoData"
    ]
    assert no_data.expr.endswith(
        '\nor\nabsent_over_time(slo:sli_total:count1m{slo="api",slo_namespace="ns"}[5m])'
    )
    assert 'sum_over_time(slo:sli_total:count1m{slo="api",slo_namespace="ns"}[4m30s])' in (
        no_data.expr
    )
    assert no_data.for_ == "15m"


def test_calendar_slos_record_labelled_tiles_and_leave_the_window_to_the_evaluator() -> None:
    (monthly,) = rule_yaml.example_slos()["catalog-monthly"]
    rules = recording_rules(render.render_rule_groups(monthly))
    tiles = [r for r in rules if r.record in (series.BAD_TILE, series.TOTAL_TILE)]
    assert [r.labels["slo_calendar"] for r in tiles] == ["Month/Europe/Berlin"] * 2
    assert not [r for r in rules if r.record in (series.BAD_SUM, series.TOTAL_SUM)]
    # Alert windows come from the period's nominal 30 days.
    windows = [r.labels["slo_window"] for r in rules if r.record == series.ERROR_RATIO]
    assert windows == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]


ID = '{slo="api",slo_namespace="ns"}'
BAD_INC, TOTAL_INC = f"slo:sli_bad:increase1m{ID}", f"slo:sli_total:increase1m{ID}"
BAD_COUNT, TOTAL_COUNT = f"slo:sli_bad:count1m{ID}", f"slo:sli_total:count1m{ID}"


@pytest.mark.parametrize(
    ("indicator", "method", "duration", "level1", "slice_expr"),
    [
        (
            "ratio-errors",
            "Timeslices",
            "1m",
            "slo:sli_total:increase1m",
            f"(sum_over_time({BAD_INC}[30s]) / (sum_over_time({TOTAL_INC}[30s]) > 0))"
            " > bool 0.050000001",
        ),
        (
            "ratio-good",
            "RatioTimeslices",
            "5m",
            "slo:sli_total:increase1m",
            f"sum_over_time({BAD_INC}[4m30s]) / (sum_over_time({TOTAL_INC}[4m30s]) > 0)",
        ),
        (
            "boolGauge",
            "Timeslices",
            "1m",
            "slo:sli_total:count1m",
            f"(sum_over_time({BAD_COUNT}[30s]) / (sum_over_time({TOTAL_COUNT}[30s]) > 0))"
            " > bool 0.050000001",
        ),
    ],
)
def test_timeslice_methods_record_the_slice_ending_each_minute(
    indicator: str, method: str, duration: str, level1: str, slice_expr: str
) -> None:
    """A slice of d is the sum of d one-minute counts of level 1, ending at this minute."""
    timeslice: dict[str, object] = {"duration": duration}
    if method == "Timeslices":
        timeslice["target"] = 95
    resource = slo_factory.build(indicator=indicator, method=method, timeslice=timeslice)
    rules = recording_rules(render.render_rule_groups(resource))
    assert rules[0].record == level1
    (slice_rule,) = [r for r in rules if r.record == series.SLICE_ERROR]
    assert slice_rule.expr == slice_expr
    tile = next(r for r in rules if r.record == series.TOTAL_TILE)
    (read,) = promql_reads.reads(tile.expr)
    # Slices picked at their own boundaries: 60 per hour tile, never overlapping.
    step = 60 * int(duration[:-1])
    assert read.metric == series.SLICE_ERROR and read.subquery == (3600 - 0.001, step)


def test_prometheus_rule_object() -> None:
    (checkout,) = rule_yaml.example_slos()["checkout-availability"]
    body = render.render_prometheus_rule(
        checkout, extra_labels={"prometheus": "main", "app.kubernetes.io/managed-by": "me"}
    )
    assert body["apiVersion"] == "monitoring.coreos.com/v1"
    assert body["kind"] == "PrometheusRule"
    assert body["metadata"] == {
        "name": "slo-checkout-availability",
        "namespace": "shop",
        "labels": {"app.kubernetes.io/managed-by": "slo-operator", "prometheus": "main"},
    }
    assert [g["name"] for g in body["spec"]["groups"]] == [
        "slo-operator/shop/checkout-availability/recording",
        "slo-operator/shop/checkout-availability/alerting",
    ]
    assert all(g["interval"] == "1m" for g in body["spec"]["groups"])


def test_rule_file_is_ordered_and_refuses_duplicates() -> None:
    b = slo_factory.build(name="b", namespace="ns1")
    a = slo_factory.build(name="a", namespace="ns2")
    c = slo_factory.build(name="c", namespace="ns1")
    names = [g["name"] for g in render.render_rule_file([a, b, c])["groups"]]
    owners = [name.rsplit("/", 1)[0] for name in names]
    assert (
        owners
        == ["slo-operator/ns1/b"] * 2 + ["slo-operator/ns1/c"] * 2 + ["slo-operator/ns2/a"] * 2
    )
    assert render.render_rule_file([c, a, b]) == render.render_rule_file([a, b, c])
    with pytest.raises(errors.InvalidSpec, match="twice"):
        render.render_rule_file([a, slo_factory.build(name="a", namespace="ns2")])


def test_rendering_is_deterministic_whatever_the_label_order() -> None:
    first = slo_factory.build(
        labels={"a": "1", "b": "2"}, alerting={"labels": {"x": "1", "y": "2"}}
    )
    second = slo_factory.build(
        labels={"b": "2", "a": "1"}, alerting={"labels": {"x": "1", "y": "2"}}
    )
    assert rule_yaml.dump(render.render_prometheus_rule(first)) == rule_yaml.dump(
        render.render_prometheus_rule(second)
    )
