"""The evaluation loop end to end: real control plane, real Prometheus, real operator process.

A day and a half of synthetic traffic ending now is backfilled with promtool (raw series and the
examples' recording rules), a live Prometheus keeps evaluating the rules, and the operator runs
with a 2-second cycle. The tests prove: the examples get numbers within one cycle (young SLOs say
so), a stopped Prometheus keeps the values and leads to Stalled after the grace period, a restarted
one brings Ready back by itself, a policy webhook gets exactly one POST per step crossing across
an operator restart, and a namespace that may not use a backend is Stalled without a query.
"""

from __future__ import annotations

import base64
import copy
import datetime
import pathlib
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.rules import render
from support import example_data, waiting, webhook_receiver
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
def live_prometheus(
    manifests: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[prometheus.PrometheusServer]:
    """Prometheus on 36 backfilled hours (raw and recorded) ending now, evaluating the rules."""
    folder = tmp_path_factory.mktemp("evaluation-prometheus")
    now = int(time.time())
    end = now - now % 30 - 60
    data = synthetic.generate(example_data.examples_scenario(end, seed=5))
    tsdb = folder / "tsdb"
    backfill.backfill_synthetic(data, tsdb, work_dir=folder)
    resources = []
    for body in manifests:
        resource = validation.parse_resource(copy.deepcopy(body))
        resources.append(resource)
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(render.render_rule_file(resources), sort_keys=False))
    with prometheus.PrometheusServer(tsdb, work_dir=folder / "backfill") as server:
        backfill.backfill_rules([rule_file], data.scenario.start + 600, end, server)
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
    control_plane: controlplane.ControlPlane, backends_file: pathlib.Path, log_dir: pathlib.Path
) -> operator_process.OperatorProcess:
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
    )
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
