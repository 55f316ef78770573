"""The generated recording rules against exact ground truth, on a real Prometheus.

The standard synthetic month (`synthetic.standard_scenario()`: 30 days at a 30s scrape, diurnal
traffic swinging 20x between peak and trough, 20% error bursts at a peak and at a trough, an
outage, a slow burn for one tenant, slow-latency hours at a peak and a trough, counter resets) is
backfilled into TSDB blocks; the SLOs' recording rules are backfilled over the same month with
`promtool tsdb create-blocks-from rules`, level by level. Then:

- every objective's long-window SLI read from our series matches the exact good/total ratio of
  the generator (never Prometheus) within 0.01 percentage points: the 30d checkout SLO per
  tenant, the three chatbot tiers over 1d windows around the slow hours and a counter reset, and
  a calendar month summed by `series.calendar_window_query`. Level 1 counts every minute's
  events exactly, so away from counter resets the sums equal the generator's counts;
- Timeslices SLIs match exactly: the number of good and of all slices over 7 days;
- the same windows read as an average of 5m ratios (what Sloth records) are measured too, and
  printed, so the bias that ratio-of-sums avoids stays visible;
- the samples one evaluation of the rules reads, counted by Prometheus, match bench/rule_cost.py.

Every check runs on every engine of `testkit.engines` (Prometheus 2 and 3, VictoriaMetrics with
`vmalert -replay`, ...), holding the same month and evaluating the same rules its own way; the
cost check on the engines that count samples (`stats=all`: Prometheus 2 and 3).
"""

from __future__ import annotations

import datetime
import importlib.util
import sys
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from slo_operator.api import slo
from slo_operator.rules import model, render, series
from support import paths, recorded, rule_yaml
from testkit import engines, prometheus, synthetic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]
ON_EVERY_ENGINE = pytest.mark.parametrize("server", engines.ENGINES, indirect=True)
ON_ENGINES_COUNTING_SAMPLES = pytest.mark.parametrize(
    "server", ("prometheus2", "prometheus3"), indirect=True
)

TOLERANCE_PP = 0.01
DAY = synthetic.DAY
HOUR = synthetic.HOUR
CHECKOUT_PROBE = 'probe_success{job="blackbox",target="https://checkout.shop.example/healthz"}'


def _slo(name: str, spec: dict[str, object]) -> slo.ServiceLevelObjective:
    return rule_yaml.slo_from(
        {
            "apiVersion": "slo.dev/v1alpha1",
            "kind": "ServiceLevelObjective",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"service": "checkout", **spec},
        }
    )


(CHECKOUT,) = rule_yaml.example_slos()["checkout-availability"]
(CHATBOT,) = rule_yaml.example_slos()["chatbot-latency"]
UPTIME = _slo(
    "checkout-uptime",
    {
        "indicator": {"boolGauge": {"metric": CHECKOUT_PROBE}},
        "window": "7d",
        "budgetingMethod": "Timeslices",
        "timeslice": {"duration": "1m", "target": 95},
        "objectives": [{"name": "standard", "target": 99.5}],
    },
)
MONTHLY = _slo(
    "checkout-monthly",
    {
        "indicator": {
            "ratio": {
                "errors": 'http_requests_total{job="checkout",code=~"5.."}',
                "total": 'http_requests_total{job="checkout"}',
            }
        },
        "calendar": {"period": "Month", "timeZone": "Europe/Berlin"},
        "objectives": [{"name": "standard", "target": 99.5}],
    },
)
SLOS = (CHECKOUT, CHATBOT, UPTIME, MONTHLY)


def _needed(rule: model.RecordingRule, resource: slo.ServiceLevelObjective) -> bool:
    """The rules these checks read: level 1, slices, tiles, the full window and the 5m ratio
    (for the average-of-ratios comparison). The longer alert windows are left out of the
    backfill only to save time; they are the same expression at other ranges."""
    if rule.record != series.ERROR_RATIO:
        return True
    window = series.full_window(resource.spec)
    return rule.labels[series.LABEL_WINDOW] in {"5m", window.label if window else ""}


def _rule_file(path: Path) -> Path:
    groups = []
    for resource in SLOS:
        for group in render.render_rule_groups(resource):
            rules = [
                rule
                for rule in group.rules
                if isinstance(rule, model.RecordingRule) and _needed(rule, resource)
            ]
            if rules:
                groups.append(model.RuleGroup(group.name, group.interval, tuple(rules)).to_dict())
    path.write_text(rule_yaml.dump({"groups": groups}))
    return path


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    synthetic_data: synthetic.SyntheticData,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[prometheus.PrometheusAPI]:
    """An engine (the parameter) holding the synthetic month, our recording rules evaluated
    over it."""
    engine: engines.Engine = request.param
    work = tmp_path_factory.mktemp(f"accuracy-{engine}")
    scenario = synthetic_data.scenario
    with engines.start(engine, synthetic_data, work) as stack:
        began = time.monotonic()
        stack.backfill_rules([_rule_file(work / "rules.yaml")], scenario.start, scenario.end)
        print(f"{engine}: rules evaluated over the month in {time.monotonic() - began:.0f}s")
        yield stack.api


def _last_eval(server: prometheus.PrometheusAPI, metric: str, name: str, at: float) -> float:
    """When the group of SLO `name` last evaluated at or before `at` (its offset is a hash)."""
    return recorded.last_point_time(server, f'{metric}{{slo="{name}"}}', at)


def _percent(bad: float, total: float) -> float:
    return 100 * (1 - bad / total)


def _report(
    record: Callable[[str, object], None], case: str, ours: float, truth: float, naive: float | None
) -> None:
    line = f"{case}: truth {truth:.5f}%  ours {ours - truth:+.5f}pp"
    if naive is not None:
        line += f"  average of 5m ratios {naive - truth:+.5f}pp"
    print(line)
    record(case, {"truth": truth, "ours": ours, "average_of_5m_ratios": naive})


# --- Occurrences ---------------------------------------------------------------------------------


@ON_EVERY_ENGINE
def test_30d_sli_per_tenant_matches_truth(
    server: prometheus.PrometheusAPI,
    synthetic_data: synthetic.SyntheticData,
    record_property: Callable[[str, object], None],
) -> None:
    scenario = synthetic_data.scenario
    at = scenario.end
    # The 30d window is read from hour tiles; the last one was recorded at (or just before) the
    # last hour boundary, and covers the level-1 points up to then.
    covered_until = _last_eval(server, series.TOTAL_TILE, CHECKOUT.name, at)
    truth = synthetic_data.counts_by(
        ["tenant"],
        'http_requests_total{job="checkout"}',
        scenario.start,
        covered_until,
        bad='http_requests_total{job="checkout",code=~"5.."}',
    )
    ours = {
        s.labels["tenant"]: 100 * (1 - s.value)
        for s in server.query(f'{series.ERROR_RATIO}{{slo="{CHECKOUT.name}",slo_window="30d"}}', at)
    }
    naive = {
        s.labels["tenant"]: 100 * (1 - s.value)
        for s in server.query(
            f'avg_over_time({series.ERROR_RATIO}{{slo="{CHECKOUT.name}",slo_window="5m"}}[30d])',
            at,
        )
    }
    assert set(ours) == {"acme", "globex", "initech"}
    for tenant, percent in ours.items():
        expected = truth[(tenant,)].percent
        _report(record_property, f"checkout 30d {tenant}", percent, expected, naive[tenant])
        assert abs(percent - expected) < TOLERANCE_PP, tenant
    # The month holds bursts at a peak and at a trough: averaging 5m ratios overweights the
    # trough's few requests, which ratio-of-sums does not.
    assert max(abs(naive[t] - truth[(t,)].percent) for t in ours) > TOLERANCE_PP


def _chatbot_moments(scenario: synthetic.Scenario) -> dict[str, int]:
    incidents = {incident.name: incident for incident in scenario.incidents}
    reset = next(r for r in scenario.resets if r.job == "chatbot")
    return {
        "slow-hour-at-peak": incidents["chatbot-slow-at-peak"].end + 6 * HOUR,
        "slow-hour-at-trough": incidents["chatbot-slow-at-trough"].end + 6 * HOUR,
        "counter-reset": reset.at + 12 * HOUR,
    }


@ON_EVERY_ENGINE
@pytest.mark.parametrize("moment", ["slow-hour-at-peak", "slow-hour-at-trough", "counter-reset"])
def test_1d_sli_of_every_chatbot_tier_matches_truth(
    moment: str,
    server: prometheus.PrometheusAPI,
    synthetic_data: synthetic.SyntheticData,
    record_property: Callable[[str, object], None],
) -> None:
    at = _chatbot_moments(synthetic_data.scenario)[moment]
    window_end = _last_eval(server, series.ERROR_RATIO, CHATBOT.name, at)
    for objective in CHATBOT.spec.objectives:
        labels = {**series.objective_labels(CHATBOT, objective), series.LABEL_WINDOW: "1d"}
        (sample,) = server.query(series.selector(series.ERROR_RATIO, labels), at)
        naive_labels = {**labels, series.LABEL_WINDOW: "5m"}
        naive_selector = series.selector(series.ERROR_RATIO, naive_labels)
        (naive,) = server.query(f"avg_over_time({naive_selector}[23h59m30s])", at)
        le = synthetic.format_le(objective.threshold_seconds or 0)
        truth = synthetic_data.counts(
            'http_request_duration_seconds_count{job="chatbot"}',
            window_end - DAY,
            window_end,
            good=f'http_request_duration_seconds_bucket{{job="chatbot",le="{le}"}}',
        )
        ours = 100 * (1 - sample.value)
        _report(
            record_property,
            f"chatbot 1d {moment} {objective.name}",
            ours,
            truth.percent,
            100 * (1 - naive.value),
        )
        assert abs(ours - truth.percent) < TOLERANCE_PP, objective.name
        if moment != "counter-reset":
            # Level 1 counts each minute's events exactly, so the sums are the generator's
            # counts. (At a reset the crashed process's last partial minute is not seen.)
            (bad,) = server.query(series.selector(series.BAD_SUM, labels), at)
            total_labels = {**series.identity_labels(CHATBOT), series.LABEL_WINDOW: "1d"}
            (total,) = server.query(series.selector(series.TOTAL_SUM, total_labels), at)
            print(f"  sums {bad.value:.0f}/{total.value:.0f}, truth {truth.bad}/{truth.total}")
            assert (bad.value, total.value) == (truth.bad, truth.total), objective.name


@ON_EVERY_ENGINE
def test_calendar_month_sli_matches_truth(
    server: prometheus.PrometheusAPI,
    synthetic_data: synthetic.SyntheticData,
    record_property: Callable[[str, object], None],
) -> None:
    scenario = synthetic_data.scenario
    assert MONTHLY.spec.calendar is not None
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    at = datetime.datetime.fromtimestamp(scenario.end - 2 * HOUR, datetime.UTC)
    local = at.astimezone(berlin)
    period_start = datetime.datetime(local.year, local.month, 1, tzinfo=berlin)
    sums = {}
    for metric in (series.BAD_TILE, series.TOTAL_TILE):
        query = series.calendar_window_query(metric, MONTHLY.spec.calendar, period_start, at)
        assert query is not None and query.window_end == at
        (sample,) = server.query(query.query, at.timestamp())
        sums[metric] = sample.value
    covered_until = _last_eval(server, series.TOTAL_TILE, MONTHLY.name, at.timestamp())
    truth = synthetic_data.counts(
        'http_requests_total{job="checkout"}',
        max(scenario.start, period_start.timestamp()),
        covered_until,
        bad='http_requests_total{job="checkout",code=~"5.."}',
    )
    ours = _percent(sums[series.BAD_TILE], sums[series.TOTAL_TILE])
    _report(record_property, "checkout calendar month", ours, truth.percent, None)
    assert abs(ours - truth.percent) < TOLERANCE_PP
    # Events, not rates: the sums are the generator's counts, but for what the crashed process
    # served in its last minute before the checkout reset on day 8.
    (reset,) = [r for r in scenario.resets if r.job == "checkout"]
    last_minute = synthetic_data.increase(
        'http_requests_total{job="checkout"}', reset.at - 60, reset.at
    )
    assert 0 <= truth.total - sums[series.TOTAL_TILE] <= last_minute


# --- Timeslices ----------------------------------------------------------------------------------


def _slice_ends(server: prometheus.PrometheusAPI, at: int) -> list[float]:
    """Ends of the 1m slices the 7d window of UPTIME counts at `at` (an hour boundary).

    Slices are picked at minute boundaries b; each pick is the slice recorded at the group's
    last evaluation at or before b. The hour tiles pick b in (H - 1h, H] when the group runs on
    the minute and in [H - 1h, H) otherwise.
    """
    last = _last_eval(server, series.SLICE_ERROR, UPTIME.name, at)
    phase = round(last % 60, 3)
    week = 7 * DAY
    if phase == 0:
        picks = range(at - week + 60, at + 1, 60)
        return [float(b) for b in picks]
    picks = range(at - week, at, 60)
    return [b - 60 + phase for b in picks]


@ON_EVERY_ENGINE
@pytest.mark.parametrize("moment", ["month-end", "two-days-after-outage"])
def test_timeslice_sli_is_exact(
    moment: str,
    server: prometheus.PrometheusAPI,
    synthetic_data: synthetic.SyntheticData,
    record_property: Callable[[str, object], None],
) -> None:
    scenario = synthetic_data.scenario
    outage = next(i for i in scenario.incidents if i.name == "checkout-outage")
    at = scenario.end if moment == "month-end" else outage.end - outage.end % HOUR + 2 * DAY
    ends = _slice_ends(server, at)
    slices = synthetic_data.gauge_slice_counts(CHECKOUT_PROBE, ends[0] - 60, ends[-1], 60)
    counted = [s for s in slices if s.total]
    bad = sum(1 for s in counted if s.good / s.total < 0.95)
    labels = {**series.identity_labels(UPTIME), series.LABEL_WINDOW: "7d"}
    (ours_bad,) = server.query(series.selector(series.BAD_SUM, labels), at)
    (ours_total,) = server.query(series.selector(series.TOTAL_SUM, labels), at)
    _report(
        record_property,
        f"uptime 7d Timeslices {moment}",
        _percent(ours_bad.value, ours_total.value),
        _percent(bad, len(counted)),
        None,
    )
    assert (ours_bad.value, ours_total.value) == (bad, len(counted))
    if moment == "two-days-after-outage":
        assert bad >= 30, "the 30-minute outage is 30 bad 1m slices"


# --- cost ----------------------------------------------------------------------------------------


def _load_rule_cost() -> Any:
    spec = importlib.util.spec_from_file_location(
        "rule_cost", paths.REPO / "bench" / "rule_cost.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["rule_cost"] = module
    spec.loader.exec_module(module)
    return module


@ON_ENGINES_COUNTING_SAMPLES
def test_samples_read_per_minute_measured_by_prometheus(
    server: prometheus.PrometheusAPI,
    synthetic_data: synthetic.SyntheticData,
    record_property: Callable[[str, object], None],
) -> None:
    """One evaluation of every recording rule of the 30d checkout SLO (alert windows included),
    counted by Prometheus itself (`stats=all`), against the estimate of bench/rule_cost.py."""
    rule_cost = _load_rule_cost()
    at = synthetic_data.scenario.end
    groups = render.render_rule_groups(CHECKOUT)
    measured = 0
    for group in groups:
        for rule in group.rules:
            if isinstance(rule, model.RecordingRule):
                measured += server.query_stats(rule.expr, at).total_queryable_samples
    raw = server.series_count('http_requests_total{job="checkout"}', at - 600, at)
    estimate = rule_cost.rule_costs(
        render.render_rule_file([CHECKOUT]), rule_cost.Model(raw_series=raw, groups=3)
    )
    estimated = sum(cost.per_minute for cost in estimate)
    print(
        f"checkout (3 tenants, {raw} raw series): {measured} samples/min measured, "
        f"{estimated:.0f} estimated"
    )
    record_property("samples_per_minute", {"measured": measured, "estimated": estimated})
    assert measured <= 1.1 * estimated
