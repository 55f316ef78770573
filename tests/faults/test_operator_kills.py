"""The operator SIGKILLed again and again while it closes an SLA period and fires policy steps.

Real control plane, real Prometheus, the operator as a process with the test-only frozen clock
at 1 February 12:00: on every start it closes January into the SLA's history and crosses the
SLO's error budget policy steps (each posting a webhook to a receiver in this process). It is
killed with SIGKILL at a random moment of its first seconds, again and again, then left to run.

Promises (docs/reliability.md): every closed period is in the history exactly once, at every
moment; each policy webhook is posted at least once after recovery and at most once per
crossing; the webhook URL's credential (from a Secret) never appears in a status, an Event, a log
line or the operator's metrics.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import signal
import time
from typing import Any

import pytest

from faults import checkout
from support import waiting, webhook_receiver
from testkit import controlplane, prometheus

pytestmark = pytest.mark.timeout(420)

KILLS = 6
"""SIGKILLs, each at a random moment of the first seconds after the operator is healthy."""
JANUARY = checkout.JANUARY
_operator = checkout.operator
_status = checkout.status


def _manifests(namespace: str) -> list[dict[str, Any]]:
    return [checkout.slo(namespace), checkout.sla(namespace)]


@pytest.fixture(scope="module")
def namespace(checkout_namespaces: dict[str, str]) -> str:
    return checkout_namespaces["kills"]


@pytest.fixture(scope="module")
def server(checkout_server: prometheus.PrometheusServer) -> prometheus.PrometheusServer:
    return checkout_server


def test_sigkill_during_period_closing_and_policy_steps(
    control_plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    receiver: webhook_receiver.Receiver,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    # The webhook URL carries a credential: it must never show outside the Secret.
    token = f"hook-token-{random.Random().getrandbits(64):016x}"
    url = f"{receiver.url}?token={token}"
    control_plane.kubectl(
        "create", "secret", "generic", "hook", "-n", namespace, f"--from-literal=url={url}"
    )
    for body in _manifests(namespace):
        control_plane.apply(body)
    with _operator(control_plane, server, namespace, tmp_path / "january", JANUARY):
        waiting.wait_for(
            lambda: (
                (
                    _status(control_plane, namespace, "servicelevelagreement").get("currentPeriod")
                    or {}
                ).get("start")
                == "2026-01-01T00:00:00Z"
            ),
            60,
            "January as the current period",
        )
    assert receiver.posts == []
    chance = random.Random(14)
    histories: list[list[str]] = []
    for kill in range(KILLS):
        operator = _operator(control_plane, server, namespace, tmp_path / f"run-{kill}")
        operator.start()
        time.sleep(chance.uniform(0.0, 3.0))
        assert operator.process is not None
        os.killpg(operator.process.pid, signal.SIGKILL)
        operator.process.wait(10)
        history = _status(control_plane, namespace, "servicelevelagreement").get("history") or []
        histories.append([entry["start"] for entry in history])
        # At no moment is a closed period in the history twice.
        assert len(set(histories[-1])) == len(histories[-1]), histories

    operator = _operator(control_plane, server, namespace, tmp_path / "final")
    with operator:
        waiting.wait_for(
            lambda: (
                _status(control_plane, namespace, "servicelevelagreement").get("history")
                and (
                    _status(control_plane, namespace, "servicelevelobjective").get("policy") or {}
                ).get("activeSteps")
                == ["warn", "freeze"]
            ),
            60,
            "January closed and both policy steps active",
        )
        waiting.wait_for(
            lambda: operator.metric_sum("slo_operator_evaluation_cycles_total") >= 3, 30, "cycles"
        )
        metrics = operator.metrics()
    seen = {
        "metrics": metrics,
        "logs": "".join(path.read_text() for path in tmp_path.glob("*/*.log")),
        "objects": control_plane.kubectl("get", "slo,sla", "-n", namespace, "-o", "json").stdout,
        "events": control_plane.kubectl("get", "events", "-n", namespace, "-o", "json").stdout,
    }
    assert len(seen["logs"]) > 1000
    assert [where for where, text in seen.items() if token in text] == []
    history = _status(control_plane, namespace, "servicelevelagreement")["history"]
    steps = [post["step"] for post in receiver.posts]
    print(
        f"histories after each kill: {histories}; webhook posts: {steps} "
        f"({sum(1 for h in histories if h)} of {KILLS} kills after January was closed)"
    )
    assert [(entry["start"], entry["end"]) for entry in history] == [
        ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    ]
    # At least once after recovery, at most once per crossing.
    assert sorted(steps) == ["freeze", "warn"], steps


def test_apiserver_restarted_under_the_running_operator(
    control_plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    """kube-apiserver stopped (SIGTERM) mid-cycle and started again: the operator stays up, its
    status writes resume, and an edit made right after the restart is applied once."""
    for manifest in _manifests(namespace):
        control_plane.apply(manifest)
    operator = _operator(control_plane, server, namespace, tmp_path / "apiserver")
    with operator:
        # Mid-cycle: after this operator's own evaluations have begun writing.
        waiting.wait_for(
            lambda: operator.metric_sum("slo_operator_evaluation_cycles_total") >= 2, 60, "cycles"
        )
        down = control_plane.restart_apiserver()
        body = control_plane.kubectl_json("get", "slo", "checkout", "-n", namespace)
        body["spec"]["objectives"][0]["target"] = 99.5
        body["metadata"].pop("resourceVersion")
        control_plane.apply(body)
        edited = time.monotonic()
        status = waiting.wait_for(
            lambda: (
                found
                if (found := _status(control_plane, namespace, "servicelevelobjective")).get(
                    "target"
                )
                == 99.5
                and found.get("observedGeneration") == body["metadata"]["generation"] + 1
                and found["objectives"][0]["target"] == 99.5
                else None
            ),
            90,
            "the edit applied after the restart",
        )
        applied = time.monotonic() - edited
        assert operator.process is not None and operator.process.poll() is None
        rule = control_plane.kubectl_json("get", "prometheusrule", "slo-checkout", "-n", namespace)
        reconciles = operator.metric_sum("slo_operator_reconciles_total")
    events = control_plane.kubectl_json("get", "events", "-n", namespace)["items"]
    print(
        f"apiserver unreachable {down:.1f}s; edit applied {applied:.1f}s later; "
        f"{reconciles:.0f} reconciles; {len(events)} Events"
    )
    assert status["objectives"][0]["target"] == 99.5
    assert "0.005" in json.dumps(rule["spec"]) or "99.5" in json.dumps(rule["spec"])
    assert len(events) < 20
