"""SLA attainment and credit from `slo-operator evaluate` on a real Prometheus, against truth.

The standard synthetic month (2 January to 1 February 2026) plus one more outage: checkout is
down on Sunday 18 January 14:20-15:20 UTC, inside the SLA's weekly maintenance window
(`0 14 * * SUN`, 2h), so it must not count; the standard month's own checkout outage (Monday 12
January 09:00-09:30) lies outside every window and counts. The SLO's level-1 rules (the only
series SLAs read) are evaluated over the month on every engine of `testkit.engines` (promtool's
backfill on Prometheus 2 and 3, `vmalert -replay` on VictoriaMetrics, ...); `evaluate -o json`
runs as a subprocess against each engine's API.

Truth is computed here from the synthetic counters alone: good and total events of January
minus every Sunday 14:00-16:00 window, and the credit tier they fall into. Level 1 counts each
rule-group minute exactly, but the minutes are those of the group's phase, so window edges move
by less than a minute of ordinary traffic: far under the 0.01 pp tolerance.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.rules import render, series
from testkit import engines, synthetic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

NAMESPACE = "acc"
HOUR = 3600
DAY = 86400
JANUARY = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp()
FEBRUARY = datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC).timestamp()
SUNDAYS = [
    datetime.datetime(2026, 1, day, 14, tzinfo=datetime.UTC).timestamp() for day in (4, 11, 18, 25)
]
MAINTENANCE_OUTAGE = datetime.datetime(2026, 1, 18, 14, 20, tzinfo=datetime.UTC).timestamp()
TOTAL = 'http_requests_total{job="checkout"}'
BAD = 'http_requests_total{job="checkout",code=~"5.."}'
CREDITS = [
    {"below": 99.9, "creditPercent": 10},
    {"below": 99.7, "creditPercent": 25},
    {"below": 99.0, "creditPercent": 50},
]
TOLERANCE_PP = 0.01
MID_MONTH = datetime.datetime(2026, 1, 25, 12, 0, tzinfo=datetime.UTC)
AFTER_MONTH = datetime.datetime(2026, 2, 1, 0, 30, tzinfo=datetime.UTC)

SLO = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "checkout-availability", "namespace": NAMESPACE},
    "spec": {
        "service": "checkout",
        "indicator": {"ratio": {"errors": BAD, "total": TOTAL}},
        "calendar": {"period": "Month", "timeZone": "UTC"},
        "objectives": [{"name": "standard", "target": 99.9}],
    },
}
SLA = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelAgreement",
    "metadata": {"name": "acme-store", "namespace": NAMESPACE},
    "spec": {
        "customer": "acme",
        "period": "Month",
        "timeZone": "UTC",
        "commitments": [
            {
                "name": "checkout",
                "sloRef": {"name": "checkout-availability"},
                "target": 99.5,
            }
        ],
        "credits": CREDITS,
        "exclusions": [{"name": "sunday", "schedule": "0 14 * * SUN", "duration": "2h"}],
    },
}


def _scenario() -> synthetic.Scenario:
    standard = synthetic.standard_scenario()
    outage = synthetic.Incident.outage(
        "outage-in-maintenance", int(MAINTENANCE_OUTAGE), HOUR, jobs=("checkout",)
    )
    return dataclasses.replace(standard, incidents=(*standard.incidents, outage))


def _credit(attainment: float) -> float:
    owed = [c for c in CREDITS if attainment < c["below"]]
    return min(owed, key=lambda c: c["below"])["creditPercent"] if owed else 0.0


def _truth(data: synthetic.SyntheticData, until: float) -> float:
    """Attainment over [January, until) minus the Sunday windows, from the synthetic counters."""
    start = max(JANUARY, data.scenario.start)
    whole = data.counts(TOTAL, start, until, bad=BAD)
    good, total = whole.good, whole.total
    for sunday in SUNDAYS:
        if sunday >= until:
            continue
        window = data.counts(TOTAL, sunday, min(sunday + 2 * HOUR, until), bad=BAD)
        good -= window.good
        total -= window.total
    return 100 * good / total


@pytest.fixture(scope="module")
def data() -> synthetic.SyntheticData:
    return synthetic.generate(_scenario())


@pytest.fixture(scope="module", params=engines.ENGINES)
def server(
    request: pytest.FixtureRequest,
    data: synthetic.SyntheticData,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """Each engine (the parameter) holding the data, the SLO's level-1 rules evaluated on it."""
    engine: engines.Engine = request.param
    folder = tmp_path_factory.mktemp(f"sla-accuracy-{engine}")
    resource = validation.parse_resource(SLO)
    rules = render.render_rule_file([resource])
    # SLAs read only the level-1 series: backfilling the other levels over a month adds nothing.
    level1 = {*series.LEVEL1_TOTAL_NAMES, *series.LEVEL1_BAD_NAMES}
    for group in rules["groups"]:
        group["rules"] = [rule for rule in group["rules"] if rule.get("record") in level1]
    rules["groups"] = [group for group in rules["groups"] if group["rules"]]
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    (folder / "manifests.yaml").write_text(yaml.safe_dump_all([SLO, SLA]))
    with engines.start(engine, data, folder / engine) as stack:
        stack.backfill_rules([rule_file], data.scenario.start, data.scenario.end)
        stack.manifests = folder / "manifests.yaml"  # type: ignore[attr-defined]
        stack.url = stack.api.url  # type: ignore[attr-defined]
        yield stack


def _evaluate(server: Any, at: datetime.datetime) -> dict[str, Any]:
    completed = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "evaluate",
            "-f", str(server.manifests), "--prometheus-url", server.url,
            "--at", at.isoformat(), "-o", "json",
        ],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    found = {item["kind"]: item["status"] for item in json.loads(completed.stdout)}
    status: dict[str, Any] = found["ServiceLevelAgreement"]
    return status


def _condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_closed_month_excludes_the_maintenance_outage_and_owes_the_right_credit(
    server: Any, data: synthetic.SyntheticData
) -> None:
    status = _evaluate(server, AFTER_MONTH)
    truth = _truth(data, FEBRUARY)
    counted = data.counts(TOTAL, data.scenario.start, FEBRUARY, bad=BAD)
    naive = 100 * counted.good / counted.total
    print(f"truth {truth:.5f}%, with maintenance counted {naive:.5f}%")
    # The maintenance window decides the tier: excluding it must matter.
    assert _credit(truth) != _credit(naive)
    history = status["history"]
    assert [entry["start"] for entry in history] == ["2026-01-01T00:00:00Z"]
    january = history[0]
    measured = january["commitments"][0]["attainment"]
    print(f"measured {measured}, off by {measured - truth:+.5f} pp")
    assert abs(measured - truth) <= TOLERANCE_PP
    assert january["creditPercent"] == _credit(truth)
    assert january["commitments"][0]["met"] is (truth >= 99.5)
    assert january["commitments"][0]["projected"] == measured
    assert _condition(status, "Unbacked")["status"] == "False"


def test_current_period_mid_month(server: Any, data: synthetic.SyntheticData) -> None:
    status = _evaluate(server, MID_MONTH)
    truth = _truth(data, MID_MONTH.timestamp())
    period = status["currentPeriod"]
    assert (period["start"], period["end"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    measured = period["commitments"][0]["attainment"]
    print(f"mid-month measured {measured}, truth {truth:.5f}, off by {measured - truth:+.5f} pp")
    assert abs(measured - truth) <= TOLERANCE_PP
    assert period["creditPercent"] == _credit(truth)
    assert _condition(status, "Ready")["status"] == "True"
    assert _condition(status, "Compliant")["status"] == ("True" if truth >= 99.5 else "False")
    assert "history" not in status  # December holds no data: nothing measured, nothing closed


WEEKLY = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelAgreement",
    "metadata": {"name": "acme-weekly", "namespace": NAMESPACE},
    "spec": {
        "customer": "acme",
        "period": "Week",
        "timeZone": "UTC",
        "commitments": [
            {"name": "checkout", "sloRef": {"name": "checkout-availability"}, "target": 99.5}
        ],
        "credits": CREDITS,
    },
}
WEEK_STARTS = datetime.datetime(2025, 12, 29, tzinfo=datetime.UTC).timestamp()
"""Monday of the week the data starts in (Friday 2 January): most of that week has none."""


def test_a_period_mostly_without_data_is_flagged_with_its_coverage(
    server: Any, data: synthetic.SyntheticData
) -> None:
    manifests = server.manifests.parent / "weekly.yaml"
    manifests.write_text(yaml.safe_dump_all([SLO, WEEKLY]))
    at = datetime.datetime(2026, 1, 6, 0, 30, tzinfo=datetime.UTC)
    completed = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "evaluate",
            "-f", str(manifests), "--prometheus-url", server.url,
            "--at", at.isoformat(), "-o", "json",
        ],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    (status,) = [i["status"] for i in json.loads(completed.stdout) if i["name"] == "acme-weekly"]
    (week,) = status["history"]
    assert week["start"] == "2025-12-29T00:00:00Z"
    # Truth: the level-1 points exist from the data's start to the week's end.
    covered = (WEEK_STARTS + 7 * DAY - data.scenario.start) / (7 * DAY) * 100
    print(f"coverage {week['coverage']}%, truth {covered:.3f}%")
    assert abs(week["coverage"] - covered) <= 0.05
    assert week["commitments"][0]["coverage"] == week["coverage"]
    assert week["lowCoverage"] is True
    condition = _condition(status, "LowCoverage")
    assert condition["status"] == "True"
    assert (
        "the last closed period (2025-12-29T00:00:00Z to 2026-01-05T00:00:00Z)"
        in (condition["message"])
    )
    # The current week has data for all of its first half hour.
    current = status["currentPeriod"]
    assert current["coverage"] >= 96.0 and current["lowCoverage"] is False
