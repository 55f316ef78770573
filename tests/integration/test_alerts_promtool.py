"""The generated alerts, run by `promtool test rules` on synthetic traffic: timing, not presence.

For every SLO window below and every burn-rate condition of its page and ticket alerts, a slow
burn at a rate just above that condition's factor must fire the alert no earlier than the
workbook's detection time (long window x factor / burn rate, plus `for`) and no later than three
minutes after it (the minute grid, and the alerting group running before the recording group).
A sustained total outage must fire both alerts within their implied detection time, steady
traffic just inside the objective (80% of the budget rate, with 10x swings in traffic) must fire
nothing, and the no-data alert must fire when the indicator's series vanish — the 5m lookback
plus `noData.for` later.

All scenarios run in parallel, one promtool process each, from one session fixture. The same
scenarios run on VictoriaMetrics too: the input series imported, the rules replayed by
`vmalert -replay` (recording rules level by level, then the alerts), and the `ALERTS` series it
writes checked at the same minutes.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from slo_operator.api import common, slo
from slo_operator.rules import burn_rates, render, series
from support import promtool, rule_yaml
from testkit import engines

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

NAMESPACE = "alerts"
PAGE = "SLOErrorBudgetBurnPage"
TICKET = "SLOErrorBudgetBurnTicket"
NO_DATA = "SLONoData"
ALERT_OF = {"page": PAGE, "ticket": TICKET}
ANNOTATIONS = {"summary": "s", "description": "d"}
"""User annotations replace ours, so promtool can compare the firing alerts exactly."""
SMOOTHING_SLACK_MINUTES = 2 + 1
"""One evaluation step for the minute grid, one for the alerting group running before the
recording group in the same minute (promtool picks either order), and one spare."""
REQUESTS_PER_MINUTE = 600.0


@dataclasses.dataclass(frozen=True)
class Segment:
    """`minutes` of traffic at `requests` per minute with a share `error_ratio` bad (None: no
    series at all)."""

    minutes: int
    requests: float
    error_ratio: float | None


@dataclasses.dataclass(frozen=True)
class Check:
    minute: int
    alert: str
    firing: bool


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    resource: slo.ServiceLevelObjective
    segments: tuple[Segment, ...]
    checks: tuple[Check, ...]
    series: Callable[[slo.ServiceLevelObjective, Sequence[Segment]], Any]
    alert_labels: dict[str, dict[str, str]]
    """Expected labels of each alert (besides alertname)."""


# --- SLOs and their raw series -----------------------------------------------------------------


def ratio_slo(name: str, window: str, target: float) -> slo.ServiceLevelObjective:
    return rule_yaml.slo_from(
        {
            "apiVersion": "slo.dev/v1alpha1",
            "kind": "ServiceLevelObjective",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {
                "service": "api",
                "indicator": {
                    "ratio": {
                        "errors": f'http_requests_total{{job="{name}",code=~"5.."}}',
                        "total": f'http_requests_total{{job="{name}"}}',
                    }
                },
                "window": window,
                "objectives": [{"name": "standard", "target": target}],
                "alerting": {"annotations": ANNOTATIONS},
            },
        }
    )


def example_slo(stem: str) -> slo.ServiceLevelObjective:
    (resource,) = rule_yaml.example_slos()[stem]
    document = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
    document["metadata"] = {"name": resource.name, "namespace": NAMESPACE}
    document["spec"]["alerting"]["annotations"] = ANNOTATIONS
    return rule_yaml.slo_from(document)


def _counter(per_minute: Sequence[float | None]) -> str:
    """promtool's expanding notation for a counter scraped every minute from 0."""
    tokens = ["0"]
    value = 0.0
    index = 0
    while index < len(per_minute):
        increment = per_minute[index]
        run = 1
        while index + run < len(per_minute) and per_minute[index + run] == increment:
            run += 1
        if increment is None:
            tokens.append(f"_x{run}")
        else:
            tokens.append(f"{value + increment!r}+{increment!r}x{run - 1}")
            value += increment * run
        index += run
    return " ".join(tokens)


def _per_minute(segments: Sequence[Segment], share: Callable[[float], float]) -> list[float | None]:
    values: list[float | None] = []
    for segment in segments:
        if segment.error_ratio is None:
            values.extend([None] * segment.minutes)
        else:
            values.extend([segment.requests * share(segment.error_ratio)] * segment.minutes)
    return values


def ratio_series(resource: slo.ServiceLevelObjective, segments: Sequence[Segment]) -> Any:
    job = resource.name
    return [
        {
            "series": f'http_requests_total{{job="{job}",code="200"}}',
            "values": _counter(_per_minute(segments, lambda e: 1 - e)),
        },
        {
            "series": f'http_requests_total{{job="{job}",code="500"}}',
            "values": _counter(_per_minute(segments, lambda e: e)),
        },
    ]


def latency_series(resource: slo.ServiceLevelObjective, segments: Sequence[Segment]) -> Any:
    """Fast requests take <= 0.1s, bad ones > 0.2s (slow for every tier). Buckets are written
    the way the Go client writes them (`0.2`, `1`)."""
    metric = "http_request_duration_seconds"
    job = 'job="chatbot"'
    fast = _counter(_per_minute(segments, lambda e: 1 - e))
    every = _counter(_per_minute(segments, lambda e: 1.0))
    buckets = [("0.1", fast), ("0.15", fast), ("0.2", fast), ("1", every), ("+Inf", every)]
    series = [
        {"series": f'{metric}_bucket{{{job},le="{le}"}}', "values": values}
        for le, values in buckets
    ]
    series.append({"series": f"{metric}_count{{{job}}}", "values": every})
    return series


def probe_series(resource: slo.ServiceLevelObjective, segments: Sequence[Segment]) -> Any:
    """One probe per minute: 1 when the minute is good. An error ratio r of a segment turns
    every round(1/r)-th minute into a failed probe."""
    tokens = []
    for segment in segments:
        if segment.error_ratio is None:
            tokens.append(f"_x{segment.minutes}")
        elif segment.error_ratio >= 1:
            tokens.append(f"0+0x{segment.minutes - 1}")
        elif segment.error_ratio == 0:
            tokens.append(f"1+0x{segment.minutes - 1}")
        else:
            period = round(1 / segment.error_ratio)
            for minute in range(segment.minutes):
                tokens.append("0" if minute % period == period - 1 else "1")
    return [
        {"series": 'probe_success{job="blackbox",target="catalog"}', "values": " ".join(tokens)}
    ]


# --- scenarios ---------------------------------------------------------------------------------


def _budget(resource: slo.ServiceLevelObjective) -> float:
    return 1 - resource.spec.primary.target / 100


def _window_seconds(resource: slo.ServiceLevelObjective) -> int:
    return series.window_seconds(resource.spec)


def _labels(resource: slo.ServiceLevelObjective) -> dict[str, dict[str, str]]:
    """User labels (spec, alerting, route) land on every alert, ours on top: an SRE's routing
    labels must reach Alertmanager, and ours must not be overridden by them."""
    spec = resource.spec
    identity = {"slo": resource.name, "slo_namespace": NAMESPACE}
    user = {**spec.labels, **spec.alerting.labels}
    # Burn-rate alerts keep the labels of the recorded series they read (service, spec.labels).
    burn = {"service": spec.service, **identity, "objective": spec.primary.name}
    if spec.primary.threshold is not None:
        burn["slo_threshold"] = spec.primary.threshold  # as written in the examples: "200ms"
    return {
        PAGE: {"severity": "critical", **user, **spec.alerting.page.labels, **burn},
        TICKET: {"severity": "warning", **user, **spec.alerting.ticket.labels, **burn},
        NO_DATA: {"severity": "warning", **user, **spec.alerting.ticket.labels, **identity},
    }


def _detection_seconds(alert: burn_rates.BurnAlert, burn: float) -> float:
    """Workbook detection time at a constant burn rate with full windows: the first condition
    whose long window accumulates `factor x long` worth of budget-rate errors."""
    return min(c.long_seconds * c.factor / burn for c in alert.conditions if c.factor < burn)


def slow_burn(
    resource: slo.ServiceLevelObjective, severity: burn_rates.Severity, index: int, raw: Any
) -> Scenario:
    alerts = {a.severity: a for a in burn_rates.burn_rate_alerts(_window_seconds(resource))}
    alert = alerts[severity]
    condition = alert.conditions[index]
    higher = [c.factor for c in alert.conditions if c.factor > condition.factor]
    # Just above this condition's factor, below the next one, so this condition decides.
    burn = min(1.8 * condition.factor, (condition.factor + min(higher)) / 2 if higher else math.inf)
    detection = _detection_seconds(alert, burn)
    # Clean history long enough that every window that fires is full of data when it does.
    warmup_seconds = max(
        [3600]
        + [
            c.long_seconds - c.long_seconds * c.factor / burn
            for c in alert.conditions
            if c.factor < burn
        ]
    )
    start = math.ceil(warmup_seconds / 60) + 10
    expected = (detection + alert.for_seconds) / 60
    before = start + math.floor(expected) - 1
    after = start + math.ceil(expected) + SMOOTHING_SLACK_MINUTES
    checks = [Check(before, ALERT_OF[severity], False), Check(after, ALERT_OF[severity], True)]
    for other in alerts.values():
        if other.severity != severity and all(c.factor > burn for c in other.conditions):
            checks.append(Check(after, ALERT_OF[other.severity], False))
    segments = (
        Segment(start, REQUESTS_PER_MINUTE, 0.0),
        Segment(after - start + 1, REQUESTS_PER_MINUTE, burn * _budget(resource)),
    )
    return Scenario(
        name=f"{resource.name}-{severity}{index + 1}-{condition.long_label}-at-{burn:g}x",
        resource=resource,
        segments=segments,
        checks=tuple(checks),
        series=raw,
        alert_labels=_labels(resource),
    )


def outage(resource: slo.ServiceLevelObjective, series: Any) -> Scenario:
    """All events bad from minute 60. With only an hour of clean history the long windows are
    not full, which can only make the alerts fire earlier than the workbook time."""
    start = 60
    budget = _budget(resource)
    checks = []
    horizon = start
    for alert in burn_rates.burn_rate_alerts(_window_seconds(resource)):
        name = ALERT_OF[alert.severity]
        expected = (_detection_seconds(alert, 1 / budget) + alert.for_seconds) / 60
        checks.append(Check(start + alert.for_seconds // 60 - 1, name, False))
        latest = start + math.ceil(expected) + SMOOTHING_SLACK_MINUTES
        checks.append(Check(latest, name, True))
        horizon = max(horizon, latest)
    segments = (
        Segment(start, REQUESTS_PER_MINUTE, 0.0),
        Segment(horizon - start + 1, REQUESTS_PER_MINUTE, 1.0),
    )
    return Scenario(
        name=f"{resource.name}-total-outage",
        resource=resource,
        segments=segments,
        checks=tuple(checks),
        series=series,
        alert_labels=_labels(resource),
    )


def steady(resource: slo.ServiceLevelObjective, series: Any, hours: int = 12) -> Scenario:
    """80% of the budget rate for `hours`, traffic alternating 10x between hours."""
    error_ratio = 0.8 * _budget(resource)
    segments = tuple(
        Segment(60, REQUESTS_PER_MINUTE * (1 if hour % 2 else 10), error_ratio)
        for hour in range(hours)
    )
    checks = tuple(
        Check(minute, name, False)
        for minute in range(30, hours * 60, 30)
        for name in (PAGE, TICKET, NO_DATA)
    )
    return Scenario(
        name=f"{resource.name}-steady-80pct-budget",
        resource=resource,
        segments=segments,
        checks=checks,
        series=series,
        alert_labels=_labels(resource),
    )


def no_data(
    resource: slo.ServiceLevelObjective, series: Any, vanish_after_minutes: int
) -> Scenario:
    """The series stop at minute 60; the alert fires `vanish_after_minutes` (the range the
    level-1 rule reads) plus `noData.for` later."""
    stop = 60
    wait = common.parse_duration_seconds(resource.spec.alerting.no_data.for_) // 60
    fires = stop + vanish_after_minutes + int(wait)
    # The alerting group may run before the recording group at the same minute (promtool picks
    # either order; a live server gives each group its own phase): one evaluation of lag.
    lag = 1
    return Scenario(
        name=f"{resource.name}-no-data",
        resource=resource,
        segments=(Segment(stop, REQUESTS_PER_MINUTE, 0.0), Segment(fires - stop + 10, 0, None)),
        checks=(
            Check(fires - 2, NO_DATA, False),
            Check(fires + lag + 1, NO_DATA, True),
            Check(fires + lag + 1, PAGE, False),
        ),
        series=series,
        alert_labels=_labels(resource),
    )


def tenant_series(resource: slo.ServiceLevelObjective, segments: Sequence[Segment]) -> Any:
    """Tenant `acme` keeps its steady traffic; tenant `globex` follows `segments`."""
    job = resource.name
    steady = _counter([REQUESTS_PER_MINUTE] * sum(segment.minutes for segment in segments))
    return [
        {
            "series": f'http_requests_total{{job="{job}",code="200",tenant="acme"}}',
            "values": steady,
        },
        {
            "series": f'http_requests_total{{job="{job}",code="200",tenant="globex"}}',
            "values": _counter(_per_minute(segments, lambda e: 1 - e)),
        },
        {
            "series": f'http_requests_total{{job="{job}",code="500",tenant="globex"}}',
            "values": _counter(_per_minute(segments, lambda e: e)),
        },
    ]


def no_data_of_one_group(vanish: bool) -> Scenario:
    """A grouped SLO: tenant globex stops (its series vanish, or its counters stop moving)
    at minute 60 while acme goes on. The no-data alert fires for globex alone, as the
    ungrouped one does for the whole SLO: five quiet minutes plus `noData.for` later."""
    name = "api-tenants-vanish" if vanish else "api-tenants-idle"
    document = ratio_slo(name, "30d", 99.9).model_dump(mode="json", by_alias=True)
    document["spec"]["groupBy"] = ["tenant"]
    resource = rule_yaml.slo_from(document)
    stop = 60
    wait = int(common.parse_duration_seconds(resource.spec.alerting.no_data.for_) // 60)
    fires = stop + 5 + wait
    after = Segment(fires - stop + 10, 0, None) if vanish else Segment(fires - stop + 10, 0, 0.0)
    labels = _labels(resource)
    labels[NO_DATA] = {**labels[NO_DATA], "tenant": "globex"}
    return Scenario(
        name=f"{name}-no-data",
        resource=resource,
        segments=(Segment(stop, REQUESTS_PER_MINUTE, 0.0), after),
        checks=(
            Check(fires - 2, NO_DATA, False),
            Check(fires + 2, NO_DATA, True),
            Check(fires + 2, PAGE, False),
        ),
        series=tenant_series,
        alert_labels=labels,
    )


def _scenarios() -> list[Scenario]:
    found = []
    for window, target in (("30d", 99.9), ("7d", 99.9), ("1d", 99.0)):
        resource = ratio_slo(f"api-{window}", window, target)
        for alert in burn_rates.burn_rate_alerts(_window_seconds(resource)):
            for index in range(len(alert.conditions)):
                found.append(slow_burn(resource, alert.severity, index, ratio_series))
        found.append(outage(resource, ratio_series))
        found.append(steady(resource, ratio_series))
    found.append(no_data(ratio_slo("api-nodata", "30d", 99.9), ratio_series, 5))
    found += [no_data_of_one_group(vanish=True), no_data_of_one_group(vanish=False)]
    chatbot = example_slo("chatbot-latency")
    found += [
        outage(chatbot, latency_series),
        steady(chatbot, latency_series),
        no_data(chatbot, latency_series, 5),
    ]
    uptime = example_slo("catalog-uptime")
    found += [
        outage(uptime, probe_series),
        steady(uptime, probe_series),
        # absent_over_time over 5m of the per-minute counts of probes.
        no_data(uptime, probe_series, 5),
    ]
    return found


SCENARIOS = {scenario.name: scenario for scenario in _scenarios()}


def _unit_test(scenario: Scenario) -> dict[str, Any]:
    tests = []
    for check in scenario.checks:
        expected = []
        if check.firing:
            expected = [
                {"exp_labels": scenario.alert_labels[check.alert], "exp_annotations": ANNOTATIONS}
            ]
        tests.append(
            {"eval_time": f"{check.minute}m", "alertname": check.alert, "exp_alerts": expected}
        )
    return {
        "interval": "1m",
        "input_series": scenario.series(scenario.resource, scenario.segments),
        "alert_rule_test": tests,
    }


@pytest.fixture(scope="session")
def promtool_results() -> dict[tuple[str, str], promtool.Result]:
    """Every scenario on the promtool of every Prometheus major: the same minutes on both."""
    jobs = {}
    for release in promtool.RELEASES:
        for name, scenario in SCENARIOS.items():
            rule_file = render.render_rule_file([scenario.resource])
            unit = _unit_test(scenario)
            jobs[(release, name)] = lambda rule_file=rule_file, unit=unit, release=release: (
                promtool.run_unit_tests(rule_file, [unit], release=release)
            )
    return promtool.run_parallel(jobs)


@pytest.mark.parametrize("release", promtool.RELEASES)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_alert_timing(
    name: str, release: str, promtool_results: dict[tuple[str, str], promtool.Result]
) -> None:
    scenario = SCENARIOS[name]
    result = promtool_results[(release, name)]
    checks = "\n".join(
        f"  minute {c.minute}: {c.alert} {'firing' if c.firing else 'silent'}"
        for c in scenario.checks
    )
    assert result.ok, f"{name} on {release}: expected\n{checks}\npromtool said:\n{result.output}"


# --- the same scenarios on VictoriaMetrics, replayed by vmalert --------------------------------

REPLAY_START = 1_767_225_600
"""2026-01-01T00:00:00Z: minute 0 of every scenario on VictoriaMetrics (any whole minute)."""
VMALERT_OWN_LABELS = frozenset({"__name__", "alertstate", "alertgroup"})
"""What vmalert adds to every ALERTS series (`alertgroup`: the rule group's name)."""
VM_NO_DATA_LEAD_MINUTES = 3
"""How much earlier the no-data alert may fire on VictoriaMetrics than on Prometheus (measured:
2). VictoriaMetrics drops a series from instant queries about one sample interval after its last
sample, where Prometheus looks back 5 minutes, so `absent()` of the level-1 series turns true
sooner; `-search.minStalenessInterval=5m` gives Prometheus' timing (docs/engines.md)."""
_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>.*)\}$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _vm_series(input_series: Sequence[Mapping[str, str]]) -> list[Any]:
    imported = []
    for item in input_series:
        match = _SERIES.match(item["series"])
        assert match, item["series"]
        labels = {"__name__": match["name"], **dict(_LABEL.findall(match["labels"]))}
        samples = [
            (REPLAY_START + 60 * minute, value)
            for minute, value in enumerate(promtool.expand_values(item["values"]))
            if value is not None
        ]
        imported.append((labels, samples))
    return imported


def _replay_on_victoriametrics(scenario: Scenario, work: Path) -> dict[int, list[dict[str, str]]]:
    """Minute -> labels of the alerts firing at that minute's evaluation."""
    minutes = sum(segment.minutes for segment in scenario.segments)
    end = REPLAY_START + 60 * minutes
    work.mkdir(parents=True, exist_ok=True)
    rule_file = work / "rules.yaml"
    rule_file.write_text(rule_yaml.dump(render.render_rule_file([scenario.resource])))
    stack = engines.VictoriaMetricsStack(None, work)
    try:
        stack.import_series(_vm_series(scenario.series(scenario.resource, scenario.segments)))
        stack.backfill_rules([rule_file], REPLAY_START, end)
        stack.replay_alerts([rule_file], REPLAY_START, end)
        exported = stack.export('ALERTS{alertstate="firing"}', REPLAY_START, end)
    except BaseException:
        print(stack.log_tails())
        raise
    finally:
        stack.stop()
    firing: dict[int, list[dict[str, str]]] = {}
    for labels, samples in exported:
        for stamp, _ in samples:
            minute, second = divmod(stamp - REPLAY_START, 60)
            assert second == 0, f"{labels} evaluated off the minute grid at {stamp}"
            firing.setdefault(int(minute), []).append(dict(labels))
    return firing


@pytest.fixture(scope="session")
def vmalert_results(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[int, list[dict[str, str]]]]:
    """Every scenario replayed by vmalert on its own VictoriaMetrics, two at a time."""
    root = tmp_path_factory.mktemp("vmalert-alerts")
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(_replay_on_victoriametrics, scenario, root / name)
            for name, scenario in SCENARIOS.items()
        }
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_alert_timing_on_vmalert(
    name: str, vmalert_results: dict[str, dict[int, list[dict[str, str]]]]
) -> None:
    """The minutes promtool checks, on VictoriaMetrics with vmalert's replay: each alert fires
    (with exactly the expected labels) or stays silent at the same minutes; the no-data alert
    may fire up to VM_NO_DATA_LEAD_MINUTES earlier."""
    scenario = SCENARIOS[name]
    firing = vmalert_results[name]
    for check in scenario.checks:
        minute = check.minute
        if check.alert == NO_DATA and not check.firing:
            minute -= VM_NO_DATA_LEAD_MINUTES
        found = [
            {k: v for k, v in labels.items() if k not in VMALERT_OWN_LABELS}
            for labels in firing.get(minute, [])
            if labels.get("alertname") == check.alert
        ]
        expected = [{"alertname": check.alert, **scenario.alert_labels[check.alert]}]
        assert found == (expected if check.firing else []), (
            f"{name}: minute {minute}, {check.alert}: firing {found}; expected "
            f"{'firing' if check.firing else 'silent'}"
        )
