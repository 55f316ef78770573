"""`slo-operator evaluate` against a real Prometheus matches the synthetic ground truth.

The standard synthetic month (uneven diurnal traffic, a tenant's slow burn, latency incidents,
a counter reset) is backfilled with promtool, then the recording rules of the SLOs below are
backfilled level by level over the eight days before the evaluation time. `evaluate -o json`
runs as a subprocess; its numbers are compared with truth computed here from the synthetic
series alone (never from the code under test):

- Occurrences (rolling 7d from hourly tiles, rolling 1d from 1m points, a calendar week in
  Europe/Berlin), per objective and per tenant group: the SLI within 0.01 percentage points.
  The rules read counters through 5m rates, which move a few minutes of events across each
  window edge; the tolerance covers that, nothing else.
- Timeslices and RatioTimeslices of a probe: exactly (after the documented rounding down),
  slice by slice at the slice boundaries the rules use.

All of it on every engine of `testkit.engines`: the same data and rules, the rules evaluated and
the numbers read the engine's own way (`evaluate` speaks to its Prometheus-compatible API).
"""

from __future__ import annotations

import datetime
import json
import math
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.budget import periods, rounding
from slo_operator.rules import render
from support import recorded
from testkit import engines, prometheus, synthetic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

NAMESPACE = "acc"
AT = datetime.datetime(2026, 1, 21, 0, 20, tzinfo=datetime.UTC)
"""Day 19 of the standard month: the 7d window holds globex's slow burn, chatbot's latency
incident and the counter reset of chatbot/acme (day 18); the 1d window holds that reset."""
HOUR = 3600
DAY = 86400
PROBE = 'probe_success{job="blackbox",target="https://checkout.shop.example/healthz"}'
CHECKOUT_TOTAL = 'http_requests_total{job="checkout"}'
CHECKOUT_BAD = 'http_requests_total{job="checkout",code=~"5.."}'
CHATBOT_TOTAL = 'http_request_duration_seconds_count{job="chatbot"}'
OCCURRENCES_TOLERANCE_PP = 0.01


def _slo(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"service": name.split("-", maxsplit=1)[0], **spec},
    }


CHECKOUT_RATIO = {"ratio": {"errors": CHECKOUT_BAD, "total": CHECKOUT_TOTAL}}
SLOS = [
    _slo(
        "checkout-7d",
        {
            "indicator": CHECKOUT_RATIO,
            "window": "7d",
            "objectives": [
                {"name": "standard", "target": 99.5},
                {"name": "strict", "target": 99.95},
            ],
            "groupBy": ["tenant"],
        },
    ),
    _slo(
        "checkout-week",
        {
            "indicator": CHECKOUT_RATIO,
            "calendar": {"period": "Week", "timeZone": "Europe/Berlin"},
            "objectives": [{"name": "standard", "target": 99.5}],
            "groupBy": ["tenant"],
        },
    ),
    _slo(
        "chatbot-latency",
        {
            "indicator": {"latency": {"metric": 'http_request_duration_seconds{job="chatbot"}'}},
            "window": "1d",
            "objectives": [
                {"name": "minimum", "target": 90, "threshold": "150ms"},
                {"name": "standard", "target": 99, "threshold": "200ms"},
                {"name": "stretch", "target": 99.5, "threshold": "200ms"},
            ],
            "primaryObjective": "standard",
        },
    ),
    _slo(
        "probe-slices",
        {
            "indicator": {"boolGauge": {"metric": PROBE}},
            "window": "1d",
            "budgetingMethod": "Timeslices",
            "timeslice": {"duration": "1m", "target": 95},
            "objectives": [{"name": "standard", "target": 99.5}],
        },
    ),
    _slo(
        "probe-ratio-slices",
        {
            "indicator": {"boolGauge": {"metric": PROBE}},
            "window": "1d",
            "budgetingMethod": "RatioTimeslices",
            "timeslice": {"duration": "1m"},
            "objectives": [{"name": "standard", "target": 99.5}],
        },
    ),
]


YOUNG = _slo(
    "checkout-young",
    {
        "indicator": CHECKOUT_RATIO,
        "window": "7d",
        "objectives": [{"name": "standard", "target": 99.5}],
    },
)
"""A 7d SLO whose rules ran only for the last two days."""
YOUNG_WEEK = _slo(
    "checkout-week-young",
    {
        "indicator": CHECKOUT_RATIO,
        "calendar": {"period": "Week", "timeZone": "Europe/Berlin"},
        "objectives": [{"name": "standard", "target": 99.5}],
    },
)
"""A calendar week whose rules started a day and an hour after the week did."""
YOUNG_SINCE = AT - datetime.timedelta(days=2)


@pytest.fixture(scope="module", params=engines.ENGINES)
def evaluated(
    request: pytest.FixtureRequest,
    synthetic_data: synthetic.SyntheticData,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, dict[str, Any]], prometheus.PrometheusAPI]]:
    engine: engines.Engine = request.param
    folder = tmp_path_factory.mktemp(f"accuracy-{engine}")
    manifests = folder / "slos.yaml"
    manifests.write_text(yaml.safe_dump_all([*SLOS, YOUNG, YOUNG_WEEK]))
    resources = [validation.parse_resource(body) for body in SLOS]
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(render.render_rule_file(resources), sort_keys=False))
    young_rules = folder / "young.yaml"
    young_rules.write_text(
        yaml.safe_dump(
            render.render_rule_file([validation.parse_resource(b) for b in (YOUNG, YOUNG_WEEK)])
        )
    )
    with engines.start(engine, synthetic_data, folder / engine) as stack:
        server = stack.api
        at = AT.timestamp()
        stack.backfill_rules([rule_file], at - 7 * DAY - 4 * HOUR, at)
        stack.backfill_rules([young_rules], YOUNG_SINCE.timestamp(), at)
        found = _evaluate(manifests, server.url)
        yield found, server


def _evaluate(manifests: pathlib.Path, url: str) -> dict[str, dict[str, Any]]:
    """`slo-operator evaluate -o json` against `url`: each SLO's status by name."""
    completed = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "evaluate",
            "-f", str(manifests),
            "--prometheus-url", url, "--at", AT.isoformat(), "-o", "json",
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return {item["name"]: item["status"] for item in json.loads(completed.stdout)}


def _time(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _recorded_at(server: prometheus.PrometheusAPI, name: str) -> float:
    """When the full-window rule of SLO `name` last ran before AT (its evaluation slot)."""
    return recorded.last_point_time(
        server, f'slo:sli_total:sum{{slo="{name}",slo_namespace="{NAMESPACE}"}}', AT.timestamp()
    )


def _assert_close(measured: float, truth: float, what: str) -> None:
    print(f"{what}: measured {measured}, truth {truth:.5f}, off by {measured - truth:+.5f} pp")
    assert abs(measured - truth) <= OCCURRENCES_TOLERANCE_PP, f"{what}: {measured} vs {truth}"


def _percent(counts: synthetic.Counts) -> float:
    return 100 * counts.good / counts.total


def test_rolling_7d_from_hourly_tiles_per_objective_and_group(
    evaluated: Any, synthetic_data: synthetic.SyntheticData
) -> None:
    statuses, server = evaluated
    status = statuses["checkout-7d"]
    assert _condition(status, "Ready")["reason"] == "Evaluated"
    end = _recorded_at(server, "checkout-7d")
    end -= end % HOUR  # tiled windows end at the last hour boundary
    start = end - 7 * DAY
    assert _time(status["windowStart"]) == start
    truth = synthetic_data.counts(CHECKOUT_TOTAL, start, end, bad=CHECKOUT_BAD)
    objectives = {o["name"]: o for o in status["objectives"]}
    for name, target in (("standard", 99.5), ("strict", 99.95)):
        _assert_close(objectives[name]["sli"], _percent(truth), f"checkout-7d {name}")
        assert objectives[name]["met"] == (_percent(truth) >= target)
    by_tenant = synthetic_data.counts_by(["tenant"], CHECKOUT_TOTAL, start, end, bad=CHECKOUT_BAD)
    groups = {g["labels"]["tenant"]: g for g in status["groups"]}
    assert set(groups) == {"acme", "globex", "initech"}
    for (tenant,), counts in by_tenant.items():
        _assert_close(groups[tenant]["sli"], _percent(counts), f"checkout-7d {tenant}")
    # globex's 3-day slow burn makes it the worst group, listed first.
    assert status["groups"][0]["labels"] == {"tenant": "globex"}


def test_the_sum_of_hours_without_a_tile_equals_the_tiles_on_every_engine(evaluated: Any) -> None:
    """The query that stands in for hours without a tile (Prometheus down at the hour's end,
    tests/faults/test_scrape_gap.py) sums the same points as the tiles: asked to stand in for
    every hour of the 7d window (tiles matched by a calendar nobody has), it gives the recorded
    7d sums, per tenant, on every engine."""
    from slo_operator.evaluation import slo_queries
    from slo_operator.rules import series

    _, server = evaluated
    [checkout] = [
        validation.parse_resource(b) for b in SLOS if b["metadata"]["name"] == "checkout-7d"
    ]
    plan = slo_queries.plan(checkout.spec, AT)  # type: ignore[union-attr]
    assert plan.tiles is not None and plan.tiles.steps == 168 and plan.sums is not None
    keep = slo_queries.keep_labels(["tenant"])
    nobody = {series.LABEL_CALENDAR: "nobody's"}
    repair = slo_queries.tile_repair_query(nobody, plan.tiles, ["checkout-7d"], None, keep)

    def by_sum(expr: str) -> dict[tuple[str, str], float]:
        return {
            (found.labels["tenant"], found.labels[slo_queries.SUM_LABEL]): found.value
            for found in server.query(expr, AT.timestamp())
            if found.labels[series.LABEL_SLO] == "checkout-7d"
        }

    tiles = by_sum(plan.sums.promql)
    assert len(tiles) == 6
    assert by_sum(repair) == tiles
    # The tiles themselves read at every step: nothing stands in.
    tiled = {series.LABEL_CALENDAR: ""}
    assert (
        by_sum(slo_queries.tile_repair_query(tiled, plan.tiles, ["checkout-7d"], None, keep)) == {}
    )


def test_calendar_week_in_berlin(evaluated: Any, synthetic_data: synthetic.SyntheticData) -> None:
    statuses, _ = evaluated
    status = statuses["checkout-week"]
    week = periods.period_bounds(_week(), "Europe/Berlin", AT)
    start = week.start.timestamp()
    assert _time(status["windowStart"]) == start == _time("2026-01-18T23:00:00Z")
    end = start + math.floor((AT.timestamp() - start) / HOUR) * HOUR
    truth = synthetic_data.counts(CHECKOUT_TOTAL, start, end, bad=CHECKOUT_BAD)
    _assert_close(status["sli"], _percent(truth), "checkout-week")
    by_tenant = synthetic_data.counts_by(["tenant"], CHECKOUT_TOTAL, start, end, bad=CHECKOUT_BAD)
    for group in status["groups"]:
        (tenant,) = group["labels"].values()
        _assert_close(group["sli"], _percent(by_tenant[(tenant,)]), f"checkout-week {tenant}")


def _week() -> Any:
    from slo_operator.api import slo

    return slo.CalendarPeriod.WEEK


def test_rolling_1d_latency_across_a_counter_reset(
    evaluated: Any, synthetic_data: synthetic.SyntheticData
) -> None:
    statuses, server = evaluated
    status = statuses["chatbot-latency"]
    end = _recorded_at(server, "chatbot-latency")
    start = end - DAY
    assert any(start < reset.at <= end for reset in synthetic_data.scenario.resets)
    objectives = {o["name"]: o for o in status["objectives"]}
    for name, le in (("minimum", "0.15"), ("standard", "0.2"), ("stretch", "0.2")):
        good = f'http_request_duration_seconds_bucket{{job="chatbot",le="{le}"}}'
        truth = synthetic_data.counts(CHATBOT_TOTAL, start, end, good=good)
        _assert_close(objectives[name]["sli"], _percent(truth), f"chatbot-latency {name}")
    assert status["sli"] == objectives["standard"]["sli"]
    assert objectives["standard"]["errorBudgetRemaining"].endswith(" events")


def _slices(
    server: prometheus.PrometheusAPI, data: synthetic.SyntheticData, name: str
) -> list[synthetic.Counts]:
    """The 1m probe slices the full-window rule sums: one per minute step of the last day, each
    the slice recorded at the group's slot at or before that step."""
    recorded = _recorded_at(server, name)
    slot = recorded % 60
    steps = [s for s in range(int(recorded - DAY) + 1, int(recorded) + 1) if s % 60 == 0]
    slices = []
    for step in steps:
        slice_end = step - (step - slot) % 60
        slices.append(data.gauge_counts(PROBE, slice_end - 60, slice_end))
    assert len(slices) == 1440
    return slices


def test_timeslices_exactly(evaluated: Any, synthetic_data: synthetic.SyntheticData) -> None:
    statuses, server = evaluated
    slices = _slices(server, synthetic_data, "probe-slices")
    bad = sum(1 for s in slices if s.total and s.good / s.total < 0.95)
    counted = sum(1 for s in slices if s.total)
    assert bad > 0, "the scenario's probe blips make some slices bad"
    status = statuses["probe-slices"]
    assert status["sli"] == rounding.sli(100 * (1 - bad / counted))
    allowed = 0.005 * counted
    assert status["objectives"][0]["errorBudgetRemaining"] == (
        f"{math.floor(round(allowed - bad, 6))} minutes"
    )


def test_ratio_timeslices_exactly(evaluated: Any, synthetic_data: synthetic.SyntheticData) -> None:
    statuses, server = evaluated
    slices = [s for s in _slices(server, synthetic_data, "probe-ratio-slices") if s.total]
    mean_error = sum(1 - s.good / s.total for s in slices) / len(slices)
    assert statuses["probe-ratio-slices"]["sli"] == rounding.sli(100 * (1 - mean_error))


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_young_slo_reports_and_measures_what_its_series_cover(
    evaluated: Any, synthetic_data: synthetic.SyntheticData
) -> None:
    """Rules that ran two days of a 7d window: PartialWindow, windowStart where the recorded
    series start (never earlier; later by at most one tile and one 14m coverage step), and the
    SLI right for that span."""
    statuses, server = evaluated
    status = statuses["checkout-young"]
    ready = _condition(status, "Ready")
    assert ready["reason"] == "PartialWindow"
    assert "younger than the 7d window" in ready["message"]
    start = _time(status["windowStart"])
    assert 0 <= start - YOUNG_SINCE.timestamp() <= HOUR + 14 * 60
    assert "or up to 1h14m earlier" in ready["message"]
    end = _recorded_at(server, "checkout-young")
    end -= end % HOUR
    truth = synthetic_data.counts(CHECKOUT_TOTAL, YOUNG_SINCE.timestamp(), end, bad=CHECKOUT_BAD)
    _assert_close(status["sli"], _percent(truth), "checkout-young")


def test_young_calendar_slo_reports_where_its_tiles_start(
    evaluated: Any, synthetic_data: synthetic.SyntheticData
) -> None:
    statuses, _ = evaluated
    status = statuses["checkout-week-young"]
    ready = _condition(status, "Ready")
    assert ready["reason"] == "PartialWindow"
    assert "younger than the Week period in Europe/Berlin" in ready["message"]
    start = _time(status["windowStart"])
    assert 0 <= start - YOUNG_SINCE.timestamp() <= 10 * 60
    week_start = _time("2026-01-18T23:00:00Z")
    end = week_start + math.floor((AT.timestamp() - week_start) / HOUR) * HOUR
    truth = synthetic_data.counts(CHECKOUT_TOTAL, YOUNG_SINCE.timestamp(), end, bad=CHECKOUT_BAD)
    _assert_close(status["sli"], _percent(truth), "checkout-week-young")


def test_every_status_is_a_valid_status(evaluated: Any) -> None:
    from slo_operator.api import status as status_models

    statuses, _ = evaluated
    assert set(statuses) == {body["metadata"]["name"] for body in [*SLOS, YOUNG, YOUNG_WEEK]}
    for found in statuses.values():
        status_models.ServiceLevelObjectiveStatus.model_validate(found)
        assert _condition(found, "Ready")["status"] == "True"


@pytest.fixture(scope="module")
def evaluated_raw(
    synthetic_prometheus: prometheus.PrometheusServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """`evaluate` where no rules ever ran: the same SLOs measured from the raw series."""
    manifests = tmp_path_factory.mktemp("raw") / "slos.yaml"
    bodies = []
    for body in SLOS:
        copy = json.loads(json.dumps(body))
        copy["metadata"]["namespace"] = "raw"
        bodies.append(copy)
    manifests.write_text(yaml.safe_dump_all(bodies))
    completed = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "evaluate",
            "-f", str(manifests), "--prometheus-url", synthetic_prometheus.url,
            "--at", AT.isoformat(), "-o", "json",
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return {item["name"]: item["status"] for item in json.loads(completed.stdout)}


def test_without_recorded_series_evaluate_reads_the_raw_series(
    evaluated_raw: dict[str, dict[str, Any]], synthetic_data: synthetic.SyntheticData
) -> None:
    """increase() over a window whose both ends are sample times is exact: the raw path matches
    the truth per objective and group, across the counter reset, on rolling and calendar
    windows. The timeslice methods say why they have no numbers."""
    at = AT.timestamp()
    checkout = evaluated_raw["checkout-7d"]
    assert _condition(checkout, "Ready")["reason"] == "RawSeries"
    assert _time(checkout["windowStart"]) == at - 7 * DAY
    truth = synthetic_data.counts(CHECKOUT_TOTAL, at - 7 * DAY, at, bad=CHECKOUT_BAD)
    _assert_close(checkout["sli"], _percent(truth), "raw checkout-7d")
    assert checkout["sli"] == rounding.sli(_percent(truth))
    by_tenant = synthetic_data.counts_by(
        ["tenant"], CHECKOUT_TOTAL, at - 7 * DAY, at, bad=CHECKOUT_BAD
    )
    for group in checkout["groups"]:
        (tenant,) = group["labels"].values()
        assert group["sli"] == rounding.sli(_percent(by_tenant[(tenant,)])), tenant
    week_start = _time("2026-01-18T23:00:00Z")
    week = synthetic_data.counts(CHECKOUT_TOTAL, week_start, at, bad=CHECKOUT_BAD)
    assert evaluated_raw["checkout-week"]["sli"] == rounding.sli(_percent(week))
    latency = {o["name"]: o for o in evaluated_raw["chatbot-latency"]["objectives"]}
    for name, le in (("minimum", "0.15"), ("standard", "0.2")):
        good = f'http_request_duration_seconds_bucket{{job="chatbot",le="{le}"}}'
        truth = synthetic_data.counts(CHATBOT_TOTAL, at - DAY, at, good=good)
        assert latency[name]["sli"] == rounding.sli(_percent(truth)), name
    assert checkout["source"] == "RawSeries"


def test_without_recorded_series_timeslices_are_exact_from_the_raw_series(
    evaluated_raw: dict[str, dict[str, Any]], synthetic_data: synthetic.SyntheticData
) -> None:
    """The 1440 one-minute probe slices ending at the minutes of the day before AT, each the
    samples of its minute, counted from the synthetic gauge alone."""
    at = int(AT.timestamp())
    slices = [
        synthetic_data.gauge_counts(PROBE, end - 60, end)
        for end in range(at - DAY + 60, at + 1, 60)
    ]
    counted = [s for s in slices if s.total]
    bad = sum(1 for s in counted if s.good / s.total < 0.95)
    assert bad > 0, "the scenario's probe blips make some slices bad"
    timeslices = evaluated_raw["probe-slices"]
    assert _condition(timeslices, "Ready")["reason"] == "RawSeries"
    assert timeslices["source"] == "RawSeries"
    assert timeslices["sli"] == rounding.sli(100 * (1 - bad / len(counted)))
    assert timeslices["objectives"][0]["errorBudgetRemaining"] == (
        f"{math.floor(round(0.005 * len(counted) - bad, 6))} minutes"
    )
    mean_error = sum(1 - s.good / s.total for s in counted) / len(counted)
    ratio_slices = evaluated_raw["probe-ratio-slices"]
    assert ratio_slices["source"] == "RawSeries"
    assert ratio_slices["sli"] == rounding.sli(100 * (1 - mean_error))


def test_with_recorded_series_the_source_says_so(evaluated: Any) -> None:
    statuses, _ = evaluated
    assert {status["source"] for status in statuses.values()} == {"RecordedSeries"}


def test_raw_queries_shared_by_many_slos_give_each_slo_what_it_gets_alone(
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    """`evaluate` sends every distinct raw query once for all SLOs; each SLO's status is exactly
    what evaluating it on its own (its queries unshared) gives."""
    import asyncio

    from slo_operator.api import slo as slo_api
    from slo_operator.evaluation import offline

    bodies = []
    for copy_index in range(2):  # two SLOs for each shape: same selectors, same queries
        for body in SLOS:
            copy = json.loads(json.dumps(body))
            copy["metadata"]["namespace"] = "raw"
            copy["metadata"]["name"] = f"{body['metadata']['name']}-{copy_index}"
            bodies.append(copy)
    resources = [validation.parse_resource(body) for body in bodies]
    assert all(isinstance(resource, slo_api.ServiceLevelObjective) for resource in resources)
    together = asyncio.run(offline.evaluate(resources, synthetic_prometheus.url, AT))
    alone = [
        asyncio.run(offline.evaluate([resource], synthetic_prometheus.url, AT))[0]
        for resource in resources
    ]
    assert [item.name for item in together] == [body["metadata"]["name"] for body in bodies]
    for shared, single in zip(together, alone, strict=True):
        assert shared.status["source"] == "RawSeries", shared.name
        assert shared.status == single.status, shared.name
