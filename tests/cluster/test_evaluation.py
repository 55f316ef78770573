"""The evaluation loop end to end: real control plane, real Prometheus, real operator process.

A day and a half of synthetic traffic ending now is backfilled with promtool (raw series and the
examples' recording rules), a live Prometheus keeps evaluating the rules, and the operator runs
with a 2-second cycle. The tests prove: the examples get numbers within one cycle (young SLOs say
so), a stopped Prometheus keeps the values and leads to Stalled after the grace period, a restarted
one brings Ready back by itself, a policy webhook gets exactly one POST per step crossing across
an operator restart, and a namespace that may not use a backend is Stalled without a query.

Two tests run the operator with its clock frozen (`SLO_OPERATOR_TEST_NOW`) inside the data: a
tenant whose series vanish while another goes on keeps its last numbers in `status.groups`,
marked noData; and every Grafana dashboard panel, run against the live Prometheus while it
scrapes the operator's /metrics, shows what the operator wrote into status and what the
synthetic counters hold, and nothing at all for an SLO without traffic.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime
import json
import math
import pathlib
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import common, validation
from slo_operator.dashboards import grafana
from slo_operator.rules import render, series
from support import dashboard_queries, example_data, paths, slo_factory, waiting, webhook_receiver
from support import manifests as example_manifests
from testkit import backfill, controlplane, operator_process, prometheus, synthetic

INTERVAL = 2.0
STALLED_AFTER = 6.0
STRICT = "checkout-strict"

pytestmark = pytest.mark.timeout(600)


def strict_slo() -> dict[str, Any]:
    """A 99.99% checkout SLO: the baseline 0.05% errors spend five budgets, so both steps fire."""
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": STRICT},
        "spec": {
            "service": "checkout",
            "indicator": {
                "ratio": {
                    "errors": 'http_requests_total{job="checkout",code=~"5.."}',
                    "total": 'http_requests_total{job="checkout"}',
                }
            },
            "window": "1d",
            "objectives": [{"name": "strict", "target": 99.99}],
            "errorBudgetPolicy": [
                {
                    "name": "warn",
                    "whenConsumedPercent": 50,
                    "actions": [
                        {
                            "type": "Webhook",
                            "webhook": {"secretRef": {"name": "hook", "key": "url"}},
                        }
                    ],
                },
                {
                    "name": "freeze",
                    "whenConsumedPercent": 100,
                    "actions": [
                        {"type": "Event"},
                        {"type": "ReleaseFreeze"},
                        {
                            "type": "Webhook",
                            "webhook": {"secretRef": {"name": "hook", "key": "url"}},
                        },
                    ],
                },
            ],
        },
    }


IDLE = "idle"
FADING = "fading"
GLOBEX_GONE = 2 * 3600
"""How long before the data's end the fading service's tenant globex disappears."""


def idle_slo() -> dict[str, Any]:
    """Zero traffic: its counters exist and never move."""
    return slo_factory.job_availability(IDLE, "idle", "1d")


def fading_slo() -> dict[str, Any]:
    """One SLI per tenant over one hour; globex's series vanish `GLOBEX_GONE` before the end."""
    return slo_factory.job_availability(FADING, "fading", "1h", groupBy=["tenant"])


def acme_sla(namespace: str) -> dict[str, Any]:
    """The example SLA without its exclusions: the dashboards' attainment is before them."""
    (body,) = example_manifests.example_bodies("ServiceLevelAgreement", namespace)
    del body["spec"]["exclusions"]
    return body


@pytest.fixture(scope="module")
def namespace(control_plane: controlplane.ControlPlane) -> Iterator[str]:
    name = control_plane.create_namespace(f"ev-{secrets.token_hex(4)}")
    yield name
    control_plane.delete_namespace(name)


@pytest.fixture(scope="module")
def manifests(namespace: str) -> list[dict[str, Any]]:
    bodies = [*example_manifests.example_bodies("ServiceLevelObjective"), strict_slo()]
    for body in bodies:
        body["metadata"]["namespace"] = namespace
    return bodies


@pytest.fixture(scope="module")
def traffic() -> synthetic.SyntheticData:
    """36 hours ending now: the examples' services, an idle service whose counters never move,
    and a service whose tenant globex disappears `GLOBEX_GONE` before the end."""
    now = int(time.time())
    end = now - now % 30 - 60
    scenario = example_data.examples_scenario(end, seed=5)
    scenario = dataclasses.replace(
        scenario,
        services=(
            *scenario.services,
            synthetic.Service("idle", peak_requests_per_second=0.0),
            synthetic.Service("fading", peak_requests_per_second=4.0),
        ),
        scrape_gaps=(
            synthetic.ScrapeGap(
                end - GLOBEX_GONE, end + 3600, jobs=("fading",), tenants=("globex",)
            ),
        ),
    )
    return synthetic.generate(scenario)


@pytest.fixture(scope="module")
def extras(namespace: str) -> list[dict[str, Any]]:
    """SLOs whose rules Prometheus runs but which only the tests that need them apply."""
    bodies = [idle_slo(), fading_slo()]
    for body in bodies:
        body["metadata"]["namespace"] = namespace
    return bodies


@pytest.fixture(scope="module")
def live_prometheus(
    traffic: synthetic.SyntheticData,
    manifests: list[dict[str, Any]],
    extras: list[dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[prometheus.PrometheusServer]:
    """Prometheus on 36 backfilled hours (raw and recorded) ending now, evaluating the rules."""
    folder = tmp_path_factory.mktemp("evaluation-prometheus")
    tsdb = folder / "tsdb"
    backfill.backfill_synthetic(traffic, tsdb, work_dir=folder)
    resources = []
    for body in [*manifests, *extras]:
        resource = validation.parse_resource(copy.deepcopy(body))
        resources.append(resource)
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(render.render_rule_file(resources), sort_keys=False))
    end = traffic.scenario.end
    with prometheus.PrometheusServer(tsdb, work_dir=folder / "backfill") as server:
        backfill.backfill_rules([rule_file], traffic.scenario.start + 600, end, server)
    live = prometheus.PrometheusServer(tsdb, work_dir=folder / "live", rule_files=[rule_file])
    with live:
        yield live


@pytest.fixture(scope="module")
def receiver() -> Iterator[webhook_receiver.Receiver]:
    hook = webhook_receiver.Receiver()
    yield hook
    hook.close()


@pytest.fixture(scope="module")
def backends_file(
    live_prometheus: prometheus.PrometheusServer, tmp_path_factory: pytest.TempPathFactory
) -> pathlib.Path:
    path = tmp_path_factory.mktemp("backends") / "backends.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "backends": [
                    {"name": "default", "url": live_prometheus.url, "namespaces": ["ev-*"]},
                    {"name": "restricted", "url": live_prometheus.url, "namespaces": ["nobody"]},
                ]
            }
        )
    )
    return path


def start_operator(
    control_plane: controlplane.ControlPlane,
    backends_file: pathlib.Path,
    log_dir: pathlib.Path,
    at: datetime.datetime | None = None,
    scraped_by: prometheus.PrometheusServer | None = None,
) -> operator_process.OperatorProcess:
    """The operator on the module's namespaces; `at` freezes its clock (every cycle evaluates
    at that instant); `scraped_by` scrapes its /metrics every second from before it starts."""
    process = operator_process.OperatorProcess(
        [
            "--namespace=ev-*",
            f"--backends-file={backends_file}",
            f"--evaluation-interval={INTERVAL}",
            f"--stalled-after={STALLED_AFTER}",
            "--policy-webhook-host=127.0.0.1",
        ],
        kubeconfig=control_plane.kubeconfig,
        webhook=False,
        log_dir=log_dir,
        env={"SLO_OPERATOR_TEST_NOW": at.isoformat()} if at else None,
    )
    if scraped_by is not None:
        scraped_by.scrape_configs = (
            {
                "job_name": "slo-operator",
                "scrape_interval": "1s",
                "static_configs": [{"targets": [f"127.0.0.1:{process.metrics_port}"]}],
            },
        )
        scraped_by.reload()
    process.start()
    return process


@pytest.fixture(scope="module")
def applied(
    control_plane: controlplane.ControlPlane,
    namespace: str,
    manifests: list[dict[str, Any]],
    receiver: webhook_receiver.Receiver,
) -> list[dict[str, Any]]:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hook", "namespace": namespace},
        "data": {"url": base64.b64encode(receiver.url.encode()).decode()},
    }
    control_plane.apply(secret)
    for body in manifests:
        control_plane.apply(body)
    return manifests


def _time(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def get_slo(plane: controlplane.ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    return dict(plane.kubectl_json("get", "slo", name, "-n", namespace))


def condition(body: dict[str, Any], type_: str) -> dict[str, Any]:
    for item in (body.get("status") or {}).get("conditions") or []:
        if item["type"] == type_:
            return dict(item)
    return {}


def test_examples_get_numbers_within_one_cycle(
    control_plane: controlplane.ControlPlane,
    live_prometheus: prometheus.PrometheusServer,
    backends_file: pathlib.Path,
    namespace: str,
    applied: list[dict[str, Any]],
    tmp_path: pathlib.Path,
    receiver: webhook_receiver.Receiver,
) -> None:
    operator = start_operator(control_plane, backends_file, tmp_path)
    try:
        for body in applied:
            name = body["metadata"]["name"]
            started = time.monotonic()
            found = waiting.wait_for(
                lambda name=name: (
                    slo
                    if (slo := get_slo(control_plane, namespace, name)).get("status", {}).get("sli")
                    is not None
                    else None
                ),
                20,
                f"numbers on {name}",
            )
            print(f"{name}: numbers after {time.monotonic() - started:.1f}s")
            status = found["status"]
            ready = condition(found, "Ready")
            assert ready["status"] == "True", ready
            assert ready["reason"] in ("Evaluated", "PartialWindow"), ready
            objectives = {o["name"]: o for o in status["objectives"]}
            assert set(objectives) == {o["name"] for o in body["spec"]["objectives"]}
            for objective in objectives.values():
                assert 0 < objective["sli"] <= 100
                assert objective["errorBudgetRemaining"].endswith((" events", " minutes"))
            assert status["lastEvaluationTime"]
            assert status["burnRates"], "the alert windows hold data"
        # Young SLOs get windowStart once the next cycle located where their series start.
        for body in applied:
            waiting.wait_for(
                lambda name=body["metadata"]["name"]: get_slo(control_plane, namespace, name)[
                    "status"
                ].get("windowStart"),
                3 * INTERVAL + 2,
                f"windowStart of {body['metadata']['name']}",
            )
        # 36 hours of data cannot fill a 30-day or 7-day window: the status says so.
        checkout = get_slo(control_plane, namespace, "checkout-availability")
        assert condition(checkout, "Ready")["reason"] == "PartialWindow"
        assert "younger than the 30d window" in condition(checkout, "Ready")["message"]
        # windowStart shows what is covered: the 36 backfilled hours, not 30 days.
        covered_since = _time(checkout["status"]["windowStart"])
        assert time.time() - 37 * 3600 < covered_since < time.time() - 30 * 3600
        assert len(checkout["status"]["groups"]) == 2
        chatbot = get_slo(control_plane, namespace, "chatbot-latency")
        assert condition(chatbot, "Ready")["reason"] == "Evaluated"
        assert operator.metric_sum("slo_operator_slo_sli_percent", objective="standard") > 0
        queries = operator.metric_sum("slo_operator_evaluation_queries_total")
        cycles = operator.metric_sum("slo_operator_evaluation_cycles_total")
        # One query per distinct window, never per SLO: 5 SLOs share the ladder's windows.
        assert queries / cycles <= 20
    finally:
        operator.stop()


def test_policy_webhook_posts_once_per_step_crossing_across_a_restart(
    control_plane: controlplane.ControlPlane,
    backends_file: pathlib.Path,
    namespace: str,
    applied: list[dict[str, Any]],
    receiver: webhook_receiver.Receiver,
    tmp_path: pathlib.Path,
) -> None:
    operator = start_operator(control_plane, backends_file, tmp_path)
    try:
        strict = waiting.wait_for(
            lambda: (
                slo
                if ((slo := get_slo(control_plane, namespace, STRICT)).get("status") or {})
                .get("policy", {})
                .get("activeSteps")
                == ["warn", "freeze"]
                else None
            ),
            20,
            "both policy steps active",
        )
        assert condition(strict, "ReleaseFreeze")["status"] == "True"
        assert condition(strict, "ErrorBudgetExhausted")["status"] == "True"
        waiting.wait_for(lambda: len(receiver.posts) >= 2, 10, "two webhook POSTs")
        time.sleep(3 * INTERVAL)
    finally:
        operator.stop()
    assert sorted(post["step"] for post in receiver.posts) == ["freeze", "warn"]
    assert all(post["name"] == STRICT and post["consumedPercent"] > 100 for post in receiver.posts)
    events = control_plane.kubectl_json(
        "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={STRICT}"
    )["items"]
    assert [e["reason"] for e in events if e["reason"] == "ErrorBudgetPolicy"] == [
        "ErrorBudgetPolicy"
    ]

    second = start_operator(control_plane, backends_file, tmp_path)
    try:
        waiting.wait_for(
            lambda: second.metric_sum("slo_operator_evaluation_cycles_total") >= 3,
            20,
            "three cycles of the restarted operator",
        )
    finally:
        second.stop()
    assert len(receiver.posts) == 2, receiver.posts


def test_backend_not_allowed_for_the_namespace_is_stalled_without_a_query(
    control_plane: controlplane.ControlPlane,
    backends_file: pathlib.Path,
    namespace: str,
    applied: list[dict[str, Any]],
    tmp_path: pathlib.Path,
) -> None:
    body = copy.deepcopy(strict_slo())
    body["metadata"] = {"name": "on-restricted", "namespace": namespace}
    body["spec"]["backend"] = "restricted"
    body["spec"]["errorBudgetPolicy"] = []
    control_plane.apply(body)
    operator = start_operator(control_plane, backends_file, tmp_path)
    try:
        found = waiting.wait_for(
            lambda: (
                slo
                if condition(
                    slo := get_slo(control_plane, namespace, "on-restricted"), "Stalled"
                ).get("reason")
                == "BackendNotAllowed"
                else None
            ),
            20,
            "Stalled BackendNotAllowed",
        )
        assert condition(found, "Stalled")["status"] == "True"
        assert "allow-list" in condition(found, "Stalled")["message"]
        assert condition(found, "Ready")["status"] == "False"
        assert "sli" not in found["status"]
        assert (
            operator.metric_sum("slo_operator_evaluation_queries_total", backend="restricted") == 0
        )
    finally:
        operator.stop()
        control_plane.kubectl("delete", "slo", "on-restricted", "-n", namespace)


def test_prometheus_down_keeps_values_then_stalls_and_recovers(
    control_plane: controlplane.ControlPlane,
    live_prometheus: prometheus.PrometheusServer,
    backends_file: pathlib.Path,
    namespace: str,
    applied: list[dict[str, Any]],
    tmp_path: pathlib.Path,
) -> None:
    operator = start_operator(control_plane, backends_file, tmp_path)
    name = "chatbot-latency"
    try:
        waiting.wait_for(
            lambda: (
                condition(get_slo(control_plane, namespace, name), "Ready").get("reason")
                == "Evaluated"
            ),
            20,
            "Ready Evaluated",
        )
        live_prometheus.stop()
        down_at = time.monotonic()
        before = get_slo(control_plane, namespace, name)["status"]
        failing = waiting.wait_for(
            lambda: (
                slo
                if condition(slo := get_slo(control_plane, namespace, name), "Ready").get("reason")
                == "BackendUnavailable"
                else None
            ),
            10,
            "Ready False BackendUnavailable",
        )
        assert condition(failing, "Ready")["status"] == "False"
        for field in ("sli", "objectives", "errorBudgetRemainingPercent", "lastEvaluationTime"):
            assert failing["status"][field] == before[field], f"{field} must be kept"
        stalled = waiting.wait_for(
            lambda: (
                slo
                if condition(slo := get_slo(control_plane, namespace, name), "Stalled").get(
                    "status"
                )
                == "True"
                else None
            ),
            STALLED_AFTER + 4 * INTERVAL,
            "Stalled after the grace period",
        )
        assert time.monotonic() - down_at >= STALLED_AFTER - INTERVAL
        assert stalled["status"]["sli"] == before["sli"]
        assert "failing since" in condition(stalled, "Stalled")["message"]
        assert operator.metric_sum("slo_operator_evaluation_errors_total") > 0

        live_prometheus.start()
        recovered = waiting.wait_for(
            lambda: (
                slo
                if condition(slo := get_slo(control_plane, namespace, name), "Ready").get("status")
                == "True"
                else None
            ),
            20,
            "Ready again",
        )
        assert condition(recovered, "Stalled")["status"] == "False"
    finally:
        operator.stop()


def moment(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC)


def frozen_run(
    control_plane: controlplane.ControlPlane,
    backends_file: pathlib.Path,
    log_dir: pathlib.Path,
    namespace: str,
    name: str,
    at: datetime.datetime,
) -> dict[str, Any]:
    """The SLO's body once an operator frozen at `at` evaluated it there."""
    log_dir.mkdir(parents=True, exist_ok=True)
    operator = start_operator(control_plane, backends_file, log_dir, at=at)
    try:
        return waiting.wait_for(
            lambda: (
                body
                if ((body := get_slo(control_plane, namespace, name)).get("status") or {}).get(
                    "lastEvaluationTime"
                )
                and _time(body["status"]["lastEvaluationTime"]) == at.timestamp()
                else None
            ),
            30,
            f"{name} evaluated at {at.isoformat()}",
        )
    finally:
        operator.stop()


def test_a_tenant_that_stops_keeps_its_last_numbers_marked_no_data(
    control_plane: controlplane.ControlPlane,
    live_prometheus: prometheus.PrometheusServer,
    traffic: synthetic.SyntheticData,
    backends_file: pathlib.Path,
    namespace: str,
    extras: list[dict[str, Any]],
    tmp_path: pathlib.Path,
) -> None:
    """Tenant globex of the fading service disappears two hours before the data's end while
    acme goes on: an operator at the end lists globex with the numbers it last measured,
    marked noData since then, and measures the SLO from acme alone."""
    (body,) = [extra for extra in extras if extra["metadata"]["name"] == FADING]
    control_plane.apply(body)
    end = traffic.scenario.end
    both = moment(end - GLOBEX_GONE - 1800)  # the hour before holds both tenants
    first = frozen_run(control_plane, backends_file, tmp_path / "both", namespace, FADING, both)
    measured = {group["labels"]["tenant"]: group for group in first["status"]["groups"]}
    assert set(measured) == {"acme", "globex"}, first["status"]["groups"]
    assert not any(group.get("noData") for group in measured.values())

    at = moment(end)  # globex sent nothing for the whole hour before
    second = frozen_run(control_plane, backends_file, tmp_path / "end", namespace, FADING, at)
    status = second["status"]
    shown = {group["labels"]["tenant"]: group for group in status["groups"]}
    assert set(shown) == {"acme", "globex"}, status["groups"]
    globex = shown["globex"]
    assert globex["noData"] is True
    assert _time(globex["noDataSince"]) == at.timestamp()
    assert globex["sli"] == measured["globex"]["sli"]
    assert (
        globex["errorBudgetRemainingPercent"] == measured["globex"]["errorBudgetRemainingPercent"]
    )
    acme = shown["acme"]
    assert "noData" not in acme
    # The SLO's own numbers pool the groups with events: acme's alone.
    assert status["sli"] == acme["sli"]
    assert condition(second, "Ready")["reason"] == "Evaluated"


# --- the dashboards against what a real operator run exports --------------------------------


def _floor_near(value: float, shown: float, decimals: int) -> bool:
    """`value` is what status shows as `shown`, rounded down to `decimals` decimals."""
    return shown - 1e-9 <= value < shown + 10**-decimals + 1e-9


def _with_label(selector: str, name: str, value: str) -> str:
    return f'{selector[:-1]},{name}="{value}"}}' if selector.endswith("}") else selector


class Truth:
    """Events per minute and per hour of one SLO, counted from the synthetic counters."""

    def __init__(self, data: synthetic.SyntheticData, spec: dict[str, Any]) -> None:
        self.data = data
        self.spec = spec

    def _selectors(self, tenant: str | None) -> tuple[str, str | None, str | None]:
        indicator = self.spec["indicator"]
        if "ratio" in indicator:
            total = indicator["ratio"]["total"]
            good, bad = indicator["ratio"].get("good"), indicator["ratio"].get("errors")
        else:
            metric = indicator["latency"]["metric"]
            name, _, rest = metric.partition("{")
            total, good, bad = f"{name}_count{{{rest}", None, None
        if tenant is not None:
            total = _with_label(total, "tenant", tenant)
            good = good and _with_label(good, "tenant", tenant)
            bad = bad and _with_label(bad, "tenant", tenant)
        return total, good, bad

    def events(
        self, start: float, end: float, threshold: str = "", tenant: str | None = None
    ) -> tuple[float, float]:
        """(total, bad) events in (start, end]."""
        indicator = self.spec["indicator"]
        if "boolGauge" in indicator:
            counts = self.data.gauge_counts(indicator["boolGauge"]["metric"], start, end)
            return counts.total, counts.total - counts.good
        total, good, bad = self._selectors(tenant)
        if "latency" in indicator and not threshold:
            return self.data.increase(total, start, end), math.nan
        if "latency" in indicator:
            name, _, rest = indicator["latency"]["metric"].partition("{")
            seconds = common.parse_duration_seconds(threshold)
            good = f'{name}_bucket{{{rest[:-1]},le="{synthetic.format_le(seconds)}"}}'
            good = _with_label(good, "tenant", tenant) if tenant else good
        counts = self.data.counts(total, start, end, good=good, bad=None if good else bad)
        return counts.total, counts.bad


def evaluated_at(
    plane: controlplane.ControlPlane, namespace: str, end: float
) -> dict[str, dict[str, Any]] | None:
    """Every SLO of the namespace by name once each was evaluated at `end` (those with events
    also located their window's start), or None."""
    found = {}
    for body in plane.kubectl_json("get", "slo", "-n", namespace)["items"]:
        status = body.get("status") or {}
        if condition(body, "Ready").get("reason") != "NoData" and not (
            status.get("lastEvaluationTime")
            and _time(status["lastEvaluationTime"]) == end
            and status.get("windowStart")
        ):
            return None
        found[body["metadata"]["name"]] = body
    return found


def test_dashboards_show_what_the_operator_exported(
    control_plane: controlplane.ControlPlane,
    live_prometheus: prometheus.PrometheusServer,
    traffic: synthetic.SyntheticData,
    backends_file: pathlib.Path,
    namespace: str,
    applied: list[dict[str, Any]],
    extras: list[dict[str, Any]],
    tmp_path: pathlib.Path,
) -> None:
    """Every panel of the three dashboards, run against a real Prometheus that scrapes a real
    operator (frozen at the data's end, so status and metrics hold still) next to the rules'
    recorded series: operator panels equal the status the operator wrote, recorded panels equal
    the operator's numbers and the synthetic counters, and the zero-traffic SLO shows no value."""
    end = traffic.scenario.end
    at = moment(end)
    sla = acme_sla(namespace)
    operator = start_operator(
        control_plane, backends_file, tmp_path, at=at, scraped_by=live_prometheus
    )
    try:
        waiting.wait_for(
            lambda: live_prometheus.query("slo_operator_evaluation_cycles_total", time.time()),
            20,
            "the operator scraped",
        )
        # Reconciles after the first scrapes, so their increase is seen: the SLA twice.
        for body in [*extras, sla]:
            control_plane.apply(body)
        waiting.wait_for(
            lambda: live_prometheus.query(
                'slo_operator_reconciles_total{kind="ServiceLevelAgreement"}', time.time()
            ),
            20,
            "the SLA's reconcile scraped",
        )
        sla["spec"]["historyLimit"] = 13
        control_plane.apply(sla)
        bodies = waiting.wait_for(
            lambda: evaluated_at(control_plane, namespace, end), 30, "every SLO evaluated"
        )
        assert {body["metadata"]["name"] for body in [*applied, *extras]} <= set(bodies)
        agreement = waiting.wait_for(
            lambda: (
                found
                if (
                    found := control_plane.kubectl_json(
                        "get", "sla", sla["metadata"]["name"], "-n", namespace
                    )
                )
                .get("status", {})
                .get("currentPeriod")
                and found["metadata"]["generation"] == found["status"]["observedGeneration"]
                else None
            ),
            30,
            "the SLA evaluated",
        )
        settled = time.time()
        waiting.wait_for(
            lambda: (
                live_prometheus.query_value(
                    "max(timestamp(slo_operator_evaluation_cycles_total))", time.time()
                )
                > settled + 1
            ),
            20,
            "a scrape after the statuses settled",
        )
        now = time.time()
        resources = [
            validation.parse_resource(copy.deepcopy(body))
            for body in [*applied, *extras, agreement]
        ]
        checked = check_dashboards(
            live_prometheus,
            resources,
            bodies,
            agreement,
            traffic,
            namespace,
            now,
            end,
            recorded_slos=len(applied) + len(extras),
        )
    finally:
        operator.stop()
        live_prometheus.scrape_configs = ()
        live_prometheus.reload()
    # Every query of the chart's dashboards (generated without manifests) was among them.
    for path in sorted((paths.REPO / "charts/slo-operator/files/dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for title, expr in dashboard_queries.panel_queries(dashboard):
            assert expr in checked, f"{path.name}: {title}: not checked"


Vector = dict[tuple[tuple[str, str], ...], float]


def _vector(server: prometheus.PrometheusServer, query: str, at: float) -> Vector:
    found: Vector = {}
    for sample in server.query(query, at):
        assert math.isfinite(sample.value), f"{query}: {dict(sample.labels)} = {sample.value}"
        found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _by(vector: Vector, *names: str) -> dict[tuple[str, ...], float]:
    """The vector keyed by the values of `names` (each key once)."""
    keyed: dict[tuple[str, ...], float] = {}
    for labels, value in vector.items():
        found = dict(labels)
        key = tuple(found.get(name, "") for name in names)
        assert key not in keyed, f"two series for {key}: {vector}"
        keyed[key] = value
    return keyed


class Shown:
    """What the operator wrote into status, as the dashboards should show it."""

    def __init__(self, bodies: dict[str, dict[str, Any]], agreement: dict[str, Any]) -> None:
        self.bodies = bodies
        self.agreement = agreement

    def objectives(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(SLO, objective) -> the objective's status, for SLOs with numbers."""
        return {
            (name, objective["name"]): objective
            for name, body in self.bodies.items()
            for objective in body["status"].get("objectives") or []
        }

    def burn_rates(self) -> dict[tuple[str, str], float]:
        return {
            (name, window): rate
            for name, body in self.bodies.items()
            for window, rate in (body["status"].get("burnRates") or {}).items()
        }

    def window_sli(self, name: str, labels: dict[str, str]) -> float:
        """The SLI status shows for one recorded full-window series: the objective of that
        threshold, or the group of that tenant (grouped SLOs list the primary's numbers)."""
        body = self.bodies[name]
        if "tenant" in labels:
            (group,) = [
                g for g in body["status"]["groups"] if g["labels"] == {"tenant": labels["tenant"]}
            ]
            return float(group["sli"])
        threshold = labels.get(series.LABEL_THRESHOLD, "")
        spec = {o["name"]: o for o in body["spec"]["objectives"]}
        slis = {
            o["sli"]
            for o in body["status"]["objectives"]
            if spec[o["name"]].get("threshold", "") == threshold
        }
        (sli,) = slis
        return float(sli)


class DashboardCheck:
    """Runs every panel query of the dashboards and compares it with what it should show."""

    def __init__(
        self,
        server: prometheus.PrometheusServer,
        shown: Shown,
        data: synthetic.SyntheticData,
        namespace: str,
        now: float,
        end: float,
    ) -> None:
        self.server = server
        self.shown = shown
        self.data = data
        self.namespace = namespace
        self.now = now
        self.end = end
        self.checked: set[str] = set()

    def vector(self, expr: str, **values: str) -> Vector:
        """The panel query at `now` when it reads the operator's metrics, else at the data's
        end (the instant the frozen operator measured, where the recorded series are)."""
        self.checked.add(expr)
        variables = dashboard_queries.example_values(namespace=self.namespace, **values)
        query = dashboard_queries.substitute(expr, variables)
        return _vector(self.server, query, self.now if "slo_operator_" in expr else self.end)

    def minute_end(self, name: str, metric_names: Iterable[str]) -> float:
        """When the rules of SLO `name` last ran before the data's end (their sample time)."""
        names = "|".join(metric_names)
        selector = f'{{__name__=~"{names}",slo="{name}",slo_namespace="{self.namespace}"}}'
        return self.server.query_value(f"max(timestamp({selector}))", self.end)

    def measured_tenants(self, name: str) -> list[str | None]:
        """The groups a grouped SLO measured (not the quiet ones), or [None]."""
        body = self.shown.bodies[name]
        if not body["spec"].get("groupBy"):
            return [None]
        return [
            g["labels"]["tenant"] for g in body["status"].get("groups") or [] if not g.get("noData")
        ]

    # -- overview ----------------------------------------------------------------------------

    def overview(self, dashboard: dict[str, Any], recorded_slos: int) -> None:
        queries = dict(_panel_exprs(dashboard))
        objectives = self.shown.objectives()
        met = [o["met"] for o in objectives.values()]
        (count,) = self.vector(queries["SLOs"][0]).values()
        assert count == recorded_slos
        (value,) = self.vector(queries["Objectives met"][0]).values()
        assert value == met.count(True)
        (value,) = self.vector(queries["Objectives missed"][0]).values()
        assert value == met.count(False)
        (value,) = self.vector(queries["Budgets exhausted"][0]).values()
        # Status rounds the percentage down, the metric is exact: a budget with less than the
        # rounding step left (0.0 in status) may or may not be spent.
        budgets = [o["errorBudgetRemainingPercent"] for o in objectives.values()]
        assert sum(b < 0 for b in budgets) <= value <= sum(b <= 0 for b in budgets)
        sli, target, budget = (
            _by(self.vector(expr), "name", "objective") for expr in queries["Objectives"]
        )
        assert set(sli) == set(target) == set(budget) == set(objectives)
        for key, objective in objectives.items():
            assert _floor_near(sli[key], objective["sli"], 3), (key, sli[key], objective)
            assert target[key] == objective["target"], key
            assert _floor_near(budget[key], objective["errorBudgetRemainingPercent"], 1), key
        remaining = _by(self.vector(queries["Error budget remaining"][0]), "name", "objective")
        assert remaining == budget
        burn = _by(self.vector(queries["Burn rate of the primary objective"][0]), "name", "window")
        rates = self.shown.burn_rates()
        assert set(burn) == set(rates)
        for key, rate in rates.items():
            assert _floor_near(burn[key], rate, 2), (key, burn[key], rate)
        self.window_slis(queries["SLI over the window (rolling SLOs, recorded)"][0], None)
        events = _by(self.vector(queries["Events per minute"][0]), "slo")
        for (name,), value in events.items():
            assert value == self.minute_total(name), name
        assert set(events) == {(name,) for name in self.shown.bodies}
        (p90,) = self.vector(queries["Evaluation cycle duration (p90)"][0]).values()
        # Cycles on a few objects take well under a second; 10 s is a bucket bound far above.
        assert 0 < p90 < 10, p90
        errors = self.vector(queries["Evaluation errors"][0])
        assert set(errors.values()) == {0.0}, errors
        reconciles = _by(self.vector(queries["Reconciles"][0]), "kind", "outcome")
        # The SLA was accepted, then edited and accepted again, within the range.
        assert 1 <= reconciles[("ServiceLevelAgreement", "accepted")] < 3, reconciles

    def window_slis(self, expr: str, only: str | None) -> None:
        """`100 * (1 - bad / total)` of the recorded full-window sums equals the SLI status
        shows for that threshold or group; SLOs without events (or calendar ones) show none."""
        found = self.vector(expr, slo=only or "", group="")
        expected: dict[tuple[tuple[str, str], ...], float] = {}
        for name, body in self.shown.bodies.items():
            if only not in (None, name) or "window" not in body["spec"]:
                continue
            for labels in found:
                shown_labels = dict(labels)
                if shown_labels["slo"] == name:
                    expected[labels] = self.shown.window_sli(name, shown_labels)
            tenants = self.measured_tenants(name)
            seen = {dict(labels).get("tenant") for labels in found if dict(labels)["slo"] == name}
            if body["status"].get("sli") is None:
                assert not seen, f"{name} has no events, yet {found}"
            elif tenants != [None]:
                assert seen == set(tenants), (name, seen, tenants)
        assert set(found) == set(expected), (found, expected)
        for labels, value in found.items():
            assert _floor_near(value, expected[labels], 3), (labels, value, expected[labels])

    def minute_total(self, name: str, tenant: str | None = None) -> float:
        """Events the SLO counted in its last minute before the data's end, per the counters."""
        truth = Truth(self.data, self.shown.bodies[name]["spec"])
        at = self.minute_end(name, series.LEVEL1_TOTAL_NAMES)
        tenants = [tenant] if tenant else self.measured_tenants(name)
        return sum(truth.events(at - 60, at, tenant=t)[0] for t in tenants)

    # -- one SLO -----------------------------------------------------------------------------

    def detail(self, dashboard: dict[str, Any], name: str) -> None:
        queries = dict(_panel_exprs(dashboard))
        body = self.shown.bodies[name]
        status, spec = body["status"], body["spec"]
        measured = {o["name"]: o for o in status.get("objectives") or []}
        for objective in spec["objectives"]:
            values = {"slo": name, "objective": objective["name"], "group": ""}
            shown = measured.get(objective["name"])
            stats = {
                title: self.vector(queries[title][0], **values)
                for title in ("SLI", "Target", "Error budget remaining", "Objective met")
            }
            burn_down = self.vector(queries["Error budget burn-down"][0], **values)
            if shown is None:  # no events: no value anywhere, never 100%
                assert not any(stats.values()) and not burn_down, (name, stats, burn_down)
                continue
            ((_, sli),) = stats["SLI"].items()
            assert _floor_near(sli, shown["sli"], 3), (name, sli, shown)
            assert list(stats["Target"].values()) == [objective["target"]], name
            ((_, budget),) = stats["Error budget remaining"].items()
            assert _floor_near(budget, shown["errorBudgetRemainingPercent"], 1), name
            assert list(stats["Objective met"].values()) == [1.0 if shown["met"] else 0.0]
            assert list(burn_down.values()) == [budget], name
        values = {"slo": name, "group": ""}
        rates = _by(self.vector(queries["Burn rate at the alert windows"][0], **values), "window")
        expected = status.get("burnRates") or {}
        assert {window for (window,) in rates} == set(expected), (name, rates)
        for window, rate in expected.items():
            assert _floor_near(rates[(window,)], rate, 2), (name, window, rates, rate)
        self.error_ratios(queries["Error ratio at each window"][0], name)
        self.window_slis(queries["SLI over the window (rolling SLOs)"][0], name)
        self.events(queries["Events: total and bad"], name)
        self.tiles(queries["Hourly tiles"], name)

    def error_ratios(self, expr: str, name: str) -> None:
        """The full window's ratio is 1 - the SLI status shows; at the alert windows the worst
        group's ratio of the primary threshold is the burn rate status shows times the budget."""
        body = self.shown.bodies[name]
        spec, status = body["spec"], body["status"]
        ratios = self.vector(expr, slo=name, group="")
        if status.get("sli") is None:
            assert not ratios, (name, ratios)
            return
        primary = spec.get("primaryObjective", spec["objectives"][0]["name"])
        (objective,) = [o for o in spec["objectives"] if o["name"] == primary]
        budget = 1 - objective["target"] / 100
        worst: dict[str, float] = {}
        for labels, ratio in ratios.items():
            found = dict(labels)
            assert 0 <= ratio <= 1, (name, found, ratio)
            window = found[series.LABEL_WINDOW]
            if window == spec.get("window"):
                sli = self.shown.window_sli(name, found)
                assert _floor_near(100 * (1 - ratio), sli, 3), (name, found, ratio, sli)
            elif found.get(series.LABEL_THRESHOLD, "") == objective.get("threshold", ""):
                worst[window] = max(worst.get(window, 0.0), ratio)
        for window, rate in (status.get("burnRates") or {}).items():
            assert _floor_near(worst[window] / budget, rate, 2), (name, window, worst, rate)

    def events(self, exprs: list[str], name: str) -> None:
        """Level-1 totals and bad events of the last minute equal the synthetic counters."""
        total_expr, bad_expr = exprs
        truth = Truth(self.data, self.shown.bodies[name]["spec"])
        at = self.minute_end(name, series.LEVEL1_TOTAL_NAMES)
        tenants = self.measured_tenants(name)
        totals = _by(self.vector(total_expr, slo=name, group=""), "tenant")
        assert totals == {(t or "",): truth.events(at - 60, at, tenant=t)[0] for t in tenants}
        bads = _by(self.vector(bad_expr, slo=name, group=""), series.LABEL_THRESHOLD, "tenant")
        thresholds = {o.get("threshold", "") for o in self.shown.bodies[name]["spec"]["objectives"]}
        assert bads == {
            (threshold, t or ""): truth.events(at - 60, at, threshold, t)[1]
            for threshold in thresholds
            for t in tenants
        }, name

    def tiles(self, exprs: list[str], name: str) -> None:
        """Hourly tiles (tiled SLOs only) hold the hour's events (or slices) of the counters."""
        body = self.shown.bodies[name]
        spec = body["spec"]
        totals = _by(self.vector(exprs[0], slo=name, group=""), "tenant")
        bads = _by(self.vector(exprs[1], slo=name, group=""), series.LABEL_THRESHOLD, "tenant")
        resource = validation.parse_resource(copy.deepcopy(body))
        if not series.needs_tiles(resource.spec):
            assert not totals and not bads, name
            return
        tenants = self.measured_tenants(name)
        if series.uses_slices(resource.spec):
            slices = 3600 / common.parse_duration_seconds(spec["timeslice"]["duration"])
            assert totals == {(t or "",): slices for t in tenants}, name
            assert all(0 <= bad <= slices for bad in bads.values()), name
            return
        truth = Truth(self.data, spec)
        at = self.minute_end(name, (series.TOTAL_TILE,))
        assert totals == {(t or "",): truth.events(at - 3600, at, tenant=t)[0] for t in tenants}
        thresholds = {o.get("threshold", "") for o in spec["objectives"]}
        assert bads == {
            (threshold, t or ""): truth.events(at - 3600, at, threshold, t)[1]
            for threshold in thresholds
            for t in tenants
        }, name

    # -- SLAs --------------------------------------------------------------------------------

    def agreements(self, dashboard: dict[str, Any]) -> None:
        queries = dict(_panel_exprs(dashboard))
        agreement = self.shown.agreement
        name = agreement["metadata"]["name"]
        period = agreement["status"]["currentPeriod"]
        attainment, projected = (
            _by(self.vector(expr), "name", "commitment")
            for expr in queries["Commitments this period"]
        )
        for commitment in period["commitments"]:
            key = (name, commitment["name"])
            assert _floor_near(attainment[key], commitment["attainment"], 3), key
            assert _floor_near(projected[key], commitment["projected"], 3), key
        credits = _by(self.vector(queries["Credits owed this period"][0]), "name")
        assert credits == {(name,): period["creditPercent"]}
        start = _time(period["start"])
        since = f"{int(self.end - start)}s"
        for commitment in agreement["spec"]["commitments"]:
            title = f"{commitment['name']}: attainment (before exclusions)"
            ((_, value),) = self.vector(queries[title][0], __range=since).items()
            self.hourly_attainment(value, commitment, start)

    def hourly_attainment(self, value: float, commitment: dict[str, Any], start: float) -> None:
        """The panel sums the hourly tiles at the whole hours after the period's start (the
        tile ending at the start belongs to the period before): the counters' attainment over
        exactly those hours."""
        name = commitment["sloRef"]["name"]
        truth = Truth(self.data, self.shown.bodies[name]["spec"])
        tenant = commitment.get("groupLabels", {}).get("tenant")
        last_hour = self.end - self.end % 3600
        selector = f'{series.TOTAL_TILE}{{slo="{name}",slo_namespace="{self.namespace}"}}'
        tile_end = self.server.query_value(f"max(timestamp({selector}))", last_hour)
        first_step = (start // 3600 + 1) * 3600
        hours = int((last_hour - first_step) // 3600) + 1
        # The rules were backfilled from ten minutes after the data's start, on their minute grid.
        rules_start = self.data.scenario.start + 600
        first_minute = tile_end - (tile_end - rules_start) // 60 * 60
        covered_from = max(tile_end - hours * 3600, first_minute - 60)
        total, bad = truth.events(covered_from, tile_end, tenant=tenant)
        expected = 100 * (1 - bad / total)
        assert value == pytest.approx(expected, abs=1e-9), (value, expected, covered_from, tile_end)


def _panel_exprs(dashboard: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [
        (panel["title"], [target["expr"] for target in panel["targets"]])
        for panel in dashboard["panels"]
        if panel.get("targets")
    ]


def check_dashboards(
    server: prometheus.PrometheusServer,
    resources: list[Any],
    bodies: dict[str, dict[str, Any]],
    agreement: dict[str, Any],
    data: synthetic.SyntheticData,
    namespace: str,
    now: float,
    end: float,
    recorded_slos: int,
) -> set[str]:
    """Checks every panel of the three dashboards; returns the expressions run."""
    check = DashboardCheck(server, Shown(bodies, agreement), data, namespace, now, end)
    overview, detail, agreements = grafana.render_dashboards(resources)
    check.overview(overview, recorded_slos)
    for name in bodies:
        check.detail(detail, name)
    check.agreements(agreements)
    every = {
        expr
        for board in (overview, detail, agreements)
        for _, exprs in _panel_exprs(board)
        for expr in exprs
    }
    assert every <= check.checked, every - check.checked
    return check.checked
