"""SLAs end to end: real control plane, real Prometheus, the operator as a process.

Four synthetic days of checkout traffic (29 January to 2 February 2026, tenants acme and globex)
cross a month boundary; the SLO's level-1 rules (the only series SLAs read) are backfilled with
promtool. The data lies in the past, so the operator runs with the test-only frozen clock
`SLO_OPERATOR_TEST_NOW` (every cycle evaluates at that instant) and `slo-operator evaluate --at`
gives the offline numbers for the same instant.

Traffic: acme has a 20% error burst on 30 January 10:00-11:00 (counted), a full checkout outage
on 31 January 03:10-03:40 lies inside the SLA's daily 03:00-04:00 maintenance window (not
counted), and acme has a 10% burst on 1 February 06:00-06:30. Truth is computed here from the
synthetic counters alone.

Proven: an SLA on a grouped SLO's objective gets `currentPeriod` and Ready/Compliant/AtRisk/
Unbacked equal to `evaluate --at` and within 0.01 pp of the truth, credit tier exact; a
commitment as strict as or stricter than its objective is Unbacked naming both targets; a
missing SLO, objective or group is Stalled by name; January so far, measured from 8% of its time
(the data starts on the 29th), is flagged lowCoverage with the LowCoverage condition; an operator
stopped across the month end closes January into history once on return, with `evaluate`'s
numbers, and further restarts neither duplicate nor rewrite it (the status is not even written
again); it is closed flagged, with one LowCoverage Warning Event.
"""

from __future__ import annotations

import copy
import datetime
import json
import pathlib
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.rules import render, series
from support import waiting
from testkit import backfill, controlplane, operator_process, prometheus, synthetic

pytestmark = pytest.mark.timeout(300)

HOUR = 3600
INTERVAL = 1.0
TOLERANCE_PP = 0.01


def _utc(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=datetime.UTC)  # type: ignore[misc]


START = _utc(2026, 1, 29)
END = _utc(2026, 2, 2)
T1 = _utc(2026, 1, 31, 12)
"""In January: the current period is January so far."""
T2 = _utc(2026, 2, 1, 12)
"""In February: January is closed."""
T3 = _utc(2026, 2, 1, 13)
FEBRUARY = _utc(2026, 2, 1)

TOTAL = 'http_requests_total{job="checkout",tenant="acme"}'
BAD = 'http_requests_total{job="checkout",tenant="acme",code=~"5.."}'
CREDITS = [
    {"below": 99.9, "creditPercent": 10},
    {"below": 99.5, "creditPercent": 25},
    {"below": 99.0, "creditPercent": 50},
]
MAINTENANCE_HOUR = 3


def scenario() -> synthetic.Scenario:
    def at(moment: datetime.datetime) -> int:
        return int(moment.timestamp())

    checkout = ("checkout",)
    return synthetic.Scenario(
        start=at(START),
        end=at(END),
        interval=30,
        seed=6,
        services=(synthetic.Service("checkout", peak_requests_per_second=20.0),),
        tenants=(synthetic.Tenant("acme", 0.6), synthetic.Tenant("globex", 0.4)),
        incidents=(
            synthetic.Incident.error_burst(
                "acme-january", at(_utc(2026, 1, 30, 10)), HOUR, 0.2, jobs=checkout,
                tenants=("acme",),
            ),
            synthetic.Incident.outage(
                "in-maintenance", at(_utc(2026, 1, 31, 3, 10)), 30 * 60, jobs=checkout
            ),
            synthetic.Incident.error_burst(
                "acme-february", at(_utc(2026, 2, 1, 6)), 1800, 0.1, jobs=checkout,
                tenants=("acme",),
            ),
        ),
    )  # fmt: skip


def slo(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": "checkout", "namespace": namespace},
        "spec": {
            "service": "checkout",
            "indicator": {
                "ratio": {
                    "errors": 'http_requests_total{job="checkout",code=~"5.."}',
                    "total": 'http_requests_total{job="checkout"}',
                }
            },
            "groupBy": ["tenant"],
            "calendar": {"period": "Month", "timeZone": "UTC"},
            "objectives": [
                {"name": "internal", "target": 99.9},
                {"name": "minimum", "target": 99.0},
            ],
        },
    }


def sla(namespace: str, name: str, *commitments: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelAgreement",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "customer": "acme",
            "period": "Month",
            "timeZone": "UTC",
            "commitments": list(commitments),
            "credits": CREDITS,
            "exclusions": [
                {
                    "name": "nightly",
                    "schedule": f"0 {MAINTENANCE_HOUR} * * *",
                    "duration": "1h",
                }
            ],
        },
    }


def commitment(name: str, target: float, **more: Any) -> dict[str, Any]:
    ref = {"name": more.pop("slo", "checkout")}
    return {"name": name, "sloRef": ref, "target": target, **more}


ACME = commitment("checkout", 99.5, objective="internal", groupLabels={"tenant": "acme"})


def truth(data: synthetic.SyntheticData, start: datetime.datetime, end: datetime.datetime) -> float:
    """acme's attainment over [start, end) minus the nightly windows, from the counters."""
    a, b = start.timestamp(), end.timestamp()
    whole = data.counts(TOTAL, a, b, bad=BAD)
    good, total = whole.good, whole.total
    day = a - a % 86400
    while day < b:
        window_start = max(day + MAINTENANCE_HOUR * HOUR, a)
        window_end = min(day + (MAINTENANCE_HOUR + 1) * HOUR, b)
        if window_start < window_end:
            window = data.counts(TOTAL, window_start, window_end, bad=BAD)
            good -= window.good
            total -= window.total
        day += 86400
    return 100 * good / total


def credit(attainment: float) -> float:
    owed = [c for c in CREDITS if attainment < c["below"]]
    return min(owed, key=lambda c: c["below"])["creditPercent"] if owed else 0.0


@pytest.fixture(scope="module")
def data() -> synthetic.SyntheticData:
    return synthetic.generate(scenario())


@pytest.fixture(scope="module")
def namespaces(control_plane: controlplane.ControlPlane) -> Iterator[tuple[str, str]]:
    """Two namespaces: tests 1-3 (operator at T1) and the month boundary test (its own)."""
    names = (
        control_plane.create_namespace(prefix="sla-current"),
        control_plane.create_namespace(prefix="sla-boundary"),
    )
    yield names
    for name in names:
        control_plane.delete_namespace(name)


@pytest.fixture(scope="module")
def server(
    data: synthetic.SyntheticData,
    namespaces: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[prometheus.PrometheusServer]:
    """Prometheus on the four days and the level-1 rules of each namespace's SLO (their series
    carry `slo_namespace`, which SLA queries select on), backfilled in one promtool run."""
    folder = tmp_path_factory.mktemp("sla-cluster")
    tsdb = folder / "tsdb"
    tsdb.mkdir()
    backfill.link_blocks(backfill.cached_synthetic_blocks(data), tsdb)
    rules = render.render_rule_file(
        [validation.parse_resource(slo(namespace)) for namespace in namespaces]
    )
    # SLAs read only the level-1 series: the other levels add nothing here.
    level1 = {*series.LEVEL1_TOTAL_NAMES, *series.LEVEL1_BAD_NAMES}
    for group in rules["groups"]:
        group["rules"] = [rule for rule in group["rules"] if rule.get("record") in level1]
    rules["groups"] = [group for group in rules["groups"] if group["rules"]]
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    running = prometheus.PrometheusServer(tsdb, work_dir=folder / "prometheus")
    running.start()
    started = time.monotonic()
    backfill.backfill_rules([rule_file], data.scenario.start, data.scenario.end, running)
    print(f"rules backfilled in {time.monotonic() - started:.1f}s")
    running.rules_dir = folder  # type: ignore[attr-defined]
    yield running
    running.stop()


def evaluate(
    server: prometheus.PrometheusServer, manifests: list[dict[str, Any]], at: datetime.datetime
) -> dict[str, dict[str, Any]]:
    """`slo-operator evaluate --at` on `manifests`: each SLA's status by name."""
    folder: pathlib.Path = server.rules_dir  # type: ignore[attr-defined]
    path = folder / f"manifests-{secrets.token_hex(4)}.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    completed = subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "evaluate",
            "-f", str(path), "--prometheus-url", server.url,
            "--at", at.isoformat(), "-o", "json",
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return {
        item["name"]: item["status"]
        for item in json.loads(completed.stdout)
        if item["kind"] == "ServiceLevelAgreement"
    }


def start_operator(
    plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    namespace: str,
    at: datetime.datetime,
    log_dir: pathlib.Path,
) -> operator_process.OperatorProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    process = operator_process.OperatorProcess(
        [
            f"--namespace={namespace}",
            f"--prometheus-url={server.url}",
            f"--evaluation-interval={INTERVAL}",
        ],
        kubeconfig=plane.kubeconfig,
        env={"SLO_OPERATOR_TEST_NOW": at.isoformat()},
        webhook=False,
        log_dir=log_dir,
    )
    process.start()
    return process


def get_sla(plane: controlplane.ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    return dict(plane.kubectl_json("get", "servicelevelagreement", name, "-n", namespace))


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """type -> (status, reason, message): what must agree (times differ by design)."""
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


def evaluated(status: dict[str, Any] | None) -> bool:
    """The loop has written this SLA's numbers (or found it Stalled)."""
    if not status or "conditions" not in status:
        return False
    found = conditions(status)
    return "Compliant" in found or found.get("Stalled", ("", "", ""))[1] == "NotMeasurable"


@pytest.fixture(scope="module")
def january(
    control_plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    namespaces: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, list[dict[str, Any]], operator_process.OperatorProcess]]:
    """The SLO and the SLAs of tests 1-3, and an operator frozen at T1 watching them."""
    namespace = namespaces[0]
    manifests = [
        slo(namespace),
        sla(namespace, "acme", ACME),
        sla(namespace, "equal", commitment("checkout", 99.9, objective="internal")),
        sla(namespace, "stricter", commitment("checkout", 99.5, objective="minimum")),
        sla(
            namespace,
            "missing",
            commitment("no-slo", 99.0, slo="payments"),
            commitment("no-objective", 99.0, objective="gold"),
            commitment("no-group", 99.0, groupLabels={"tenant": "initech"}),
        ),
    ]
    for body in manifests:
        control_plane.apply(body)
    operator = start_operator(
        control_plane, server, namespace, T1, tmp_path_factory.mktemp("operator-t1")
    )
    try:
        yield namespace, manifests, operator
    finally:
        operator.stop()
        print(f"\noperator log tail:\n{operator.log(30)}")


def wait_for_sla(
    plane: controlplane.ControlPlane, namespace: str, name: str, timeout: float = 60
) -> dict[str, Any]:
    body = waiting.wait_for(
        lambda: (found if evaluated((found := get_sla(plane, namespace, name)).get("status")) else
                 None),
        timeout,
        f"SLA {name} evaluated",
    )  # fmt: skip
    return dict(body["status"])


def test_current_period_equals_evaluate_and_truth(
    control_plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    data: synthetic.SyntheticData,
    january: tuple[str, list[dict[str, Any]], operator_process.OperatorProcess],
) -> None:
    namespace, manifests, _ = january
    status = wait_for_sla(control_plane, namespace, "acme")
    offline = evaluate(server, manifests, T1)["acme"]
    assert status["currentPeriod"] == offline["currentPeriod"]
    shown = conditions(status)
    expected = conditions(offline)
    for type_ in ("Ready", "Stalled", "Compliant", "AtRisk", "Unbacked"):
        assert shown[type_] == expected[type_], type_
    assert "history" not in status  # created (for real) after January: nothing to close

    period = status["currentPeriod"]
    assert (period["start"], period["end"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    (only,) = period["commitments"]
    real = truth(data, START, T1)
    print(f"operator {only['attainment']}, truth {real:.5f}, off {only['attainment'] - real:+.5f}")
    assert abs(only["attainment"] - real) <= TOLERANCE_PP
    assert only["met"] is (real >= 99.5) is False
    assert "projected" in only
    assert period["creditPercent"] == credit(real) == 25
    assert shown["Ready"][:2] == ("True", "Evaluated")
    assert shown["Compliant"][0] == "False"
    assert shown["AtRisk"][0] == ("True" if only["projected"] < 99.5 else "False")
    assert shown["Unbacked"][0] == "False"


def covered_percent(start: datetime.datetime, at: datetime.datetime) -> float:
    """Percent of [period start, at) outside the nightly maintenance that the data covers."""

    def measured(a: datetime.datetime, b: datetime.datetime) -> float:
        seconds = (b - a).total_seconds()
        day = a.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < b:
            window_start = max(day + datetime.timedelta(hours=MAINTENANCE_HOUR), a)
            window_end = min(day + datetime.timedelta(hours=MAINTENANCE_HOUR + 1), b)
            seconds -= max((window_end - window_start).total_seconds(), 0)
            day += datetime.timedelta(days=1)
        return seconds

    return 100 * measured(max(start, START), at) / measured(start, at)


def test_a_period_mostly_without_data_says_so(
    control_plane: controlplane.ControlPlane,
    january: tuple[str, list[dict[str, Any]], operator_process.OperatorProcess],
) -> None:
    """The data starts on 29 January: January so far is measured from 8% of its time, below
    the 90% minimum, and the status flags it instead of presenting the month as measured."""
    namespace, _, _ = january
    status = wait_for_sla(control_plane, namespace, "acme")
    period = status["currentPeriod"]
    expected = covered_percent(_utc(2026, 1, 1), T1)
    print(f"coverage {period['coverage']}, expected {expected:.4f}")
    assert abs(period["coverage"] - expected) <= TOLERANCE_PP
    assert period["lowCoverage"] is True
    (only,) = period["commitments"]
    assert abs(only["coverage"] - expected) <= TOLERANCE_PP
    state, reason, message = conditions(status)["LowCoverage"]
    assert (state, reason) == ("True", "PartialData"), message
    assert "2026-01-01T00:00:00Z" in message and "below the 90% minimum" in message, message


@pytest.mark.parametrize(
    ("name", "sla_target", "slo_target"), [("equal", "99.9", "99.9"), ("stricter", "99.5", "99")]
)
def test_commitment_not_looser_than_its_objective_is_unbacked(
    control_plane: controlplane.ControlPlane,
    january: tuple[str, list[dict[str, Any]], operator_process.OperatorProcess],
    name: str,
    sla_target: str,
    slo_target: str,
) -> None:
    namespace, _, _ = january
    status = wait_for_sla(control_plane, namespace, name)
    state, _, message = conditions(status)["Unbacked"]
    assert state == "True", message
    assert f"{sla_target}%" in message and f"{slo_target}%" in message, message
    assert "checkout" in message


def test_missing_slo_objective_and_group_are_stalled_by_name(
    control_plane: controlplane.ControlPlane,
    january: tuple[str, list[dict[str, Any]], operator_process.OperatorProcess],
) -> None:
    namespace, _, _ = january
    status = wait_for_sla(control_plane, namespace, "missing")
    state, reason, message = conditions(status)["Stalled"]
    assert (state, reason) == ("True", "NotMeasurable"), message
    assert "payments" in message  # the missing SLO
    assert "gold" in message  # the missing objective
    assert "initech" in message  # the group without series
    assert conditions(status)["Ready"][0] == "False"


def cycles(operator: operator_process.OperatorProcess) -> float:
    return operator.metric_sum("slo_operator_evaluation_cycles_total")


def test_operator_stopped_across_the_month_end_closes_it_once_and_never_rewrites_it(
    control_plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    data: synthetic.SyntheticData,
    namespaces: tuple[str, str],
    tmp_path: pathlib.Path,
) -> None:
    namespace = namespaces[1]
    manifests = [slo(namespace), sla(namespace, "acme", ACME)]
    for body in manifests:
        control_plane.apply(body)

    def run(at: datetime.datetime, until: Callable[[dict[str, Any]], bool], what: str) -> None:
        log_dir = tmp_path / at.strftime("%Y%m%dT%H%M")
        operator = start_operator(control_plane, server, namespace, at, log_dir)
        try:
            waiting.wait_for(lambda: until(get_sla(control_plane, namespace, "acme")), 60, what)
        finally:
            operator.stop()

    # Month M: January is the open period; nothing to close.
    in_january = evaluate(server, manifests, T1)["acme"]["currentPeriod"]
    run(T1, lambda body: body.get("status", {}).get("currentPeriod") == in_january, "January")
    assert "history" not in get_sla(control_plane, namespace, "acme")["status"]

    # Month M+1, after the operator was down across the month end: January closed once.
    offline = evaluate(server, manifests, T2)["acme"]
    assert [entry["start"] for entry in offline["history"]] == ["2026-01-01T00:00:00Z"]
    run(T2, lambda body: body.get("status", {}).get("currentPeriod") == offline["currentPeriod"],
        "February")  # fmt: skip
    status = get_sla(control_plane, namespace, "acme")["status"]
    assert status["history"] == offline["history"]
    (closed,) = status["history"]
    assert (closed["start"], closed["end"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    real = truth(data, START, FEBRUARY)
    measured = closed["commitments"][0]["attainment"]
    print(f"January closed at {measured}, truth {real:.5f}, off {measured - real:+.5f} pp")
    assert abs(measured - real) <= TOLERANCE_PP
    assert closed["creditPercent"] == credit(real) == 10
    assert closed["commitments"][0]["met"] is True
    assert closed["commitments"][0]["projected"] == measured
    # Met from three days of data: closed flagged, with one Warning Event saying so.
    assert closed["lowCoverage"] is True
    assert abs(closed["coverage"] - covered_percent(_utc(2026, 1, 1), FEBRUARY)) <= TOLERANCE_PP
    assert low_coverage_events(control_plane, namespace) == 1

    # Restarted later in February: the current period moves on, January stays as it was.
    later = evaluate(server, manifests, T3)["acme"]
    run(T3, lambda body: body.get("status", {}).get("currentPeriod") == later["currentPeriod"],
        "later in February")  # fmt: skip
    assert get_sla(control_plane, namespace, "acme")["status"]["history"] == [closed]

    # What the history says stays, even where a new measurement would differ: a customer was
    # told January owed 10%. Edit the entry, restart at the same instant: nothing is written.
    told = copy.deepcopy(closed)
    told["attainment"] = told["commitments"][0]["attainment"] = 99.6
    control_plane.kubectl(
        "patch", "servicelevelagreement", "acme", "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": {"history": [told]}}),
    )  # fmt: skip
    before = get_sla(control_plane, namespace, "acme")
    operator = start_operator(control_plane, server, namespace, T3, tmp_path / "again")
    try:
        waiting.wait_for(lambda: cycles(operator) >= 3, 30, "three evaluation cycles")
    finally:
        operator.stop()
    after = get_sla(control_plane, namespace, "acme")
    assert after["status"]["history"] == [told]
    # Not written at all: neither the reconcile on resume nor the loop patched the status.
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert low_coverage_events(control_plane, namespace) == 1, "closed once, announced once"


def low_coverage_events(plane: controlplane.ControlPlane, namespace: str) -> int:
    events = plane.kubectl_json(
        "get", "events", "-n", namespace, "--field-selector", "involvedObject.name=acme"
    )["items"]
    return sum(event["count"] if event.get("count") else 1 for event in events
               if event["reason"] == "LowCoverage")  # fmt: skip
