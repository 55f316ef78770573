"""The control plane fails under the running operator: etcd crashes, a watch expires (410 Gone)
while the operator is cut off and its SLO is edited, another writer fights over status, the
apiserver restarts before the operator's first cycle.

Real etcd and kube-apiserver (testkit/controlplane.py), the operator as a process evaluating the
checkout SLO every second at a frozen instant over backfilled data (tests/faults/checkout.py), so
every number in status is known: the SLI stays put, and each objective target gives one budget.

Promises (docs/reliability.md): every edit is applied exactly once (one rule write, one
reconcile), no status write is lost (status ends as the last spec measures it), no Event storm.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pathlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest

from faults import checkout
from slo_operator.kube import discovery_watchdog
from support import waiting
from testkit import controlplane, operator_process, prometheus

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def namespace(
    control_plane: controlplane.ControlPlane, checkout_namespaces: dict[str, str]
) -> Iterator[str]:
    name = checkout_namespaces["control-plane"]
    yield name
    control_plane.kubectl("delete", "slo", "--all", "-n", name, "--wait=false")


def _edit(plane: controlplane.ControlPlane, namespace: str, target: float) -> None:
    plane.apply(checkout.slo(namespace, target=target, policy=False))


def _budget(sli: float, target: float) -> float:
    """The error budget left of an Occurrences SLO, percent, from its SLI and target."""
    return 100.0 * (1.0 - (100.0 - sli) / (100.0 - target))


def _measured_for(
    plane: controlplane.ControlPlane, namespace: str, target: float, sli: float | None = None
) -> dict[str, Any] | None:
    """The status once it carries the numbers of `target` (for the SLI `sli` if given); else
    None."""
    found = checkout.status(plane, namespace, "servicelevelobjective")
    objectives = found.get("objectives") or [{}]
    remaining = found.get("errorBudgetRemainingPercent")
    sli = found.get("sli") if sli is None else sli
    if (
        sli is not None
        and found.get("target") == target
        and objectives[0].get("target") == target
        and found.get("sli") == sli
        and remaining is not None
        # Status rounds the SLI to 3 decimals and the budget to 1.
        and abs(remaining - _budget(sli, target)) <= 0.05 / (100.0 - target) + 0.051
    ):
        return found
    return None


def _apiserver_requests(plane: controlplane.ControlPlane, **labels: str) -> float:
    """`apiserver_request_total` summed over the samples with `labels` (since its start)."""
    total = 0.0
    for line in str(plane.api_request("GET", "/metrics").body).splitlines():
        if line.startswith("apiserver_request_total{") and all(
            f'{key}="{value}"' in line for key, value in labels.items()
        ):
            total += float(line.rpartition(" ")[2])
    return total


def _counters(operator: operator_process.OperatorProcess) -> dict[str, float]:
    return {
        "reconciles": operator.metric_sum(
            "slo_operator_reconciles_total", kind="ServiceLevelObjective", outcome="updated"
        ),
        "rule updates": operator.metric_sum(
            "slo_operator_rule_object_writes_total", outcome="updated"
        ),
    }


def _events(plane: controlplane.ControlPlane, namespace: str) -> list[dict[str, Any]]:
    return list(plane.kubectl_json("get", "events", "-n", namespace)["items"])


def test_etcd_restart_and_an_expired_watch_apply_every_edit_once(
    control_plane: controlplane.ControlPlane,
    checkout_server: prometheus.PrometheusServer,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    _edit(control_plane, namespace, 99.9)
    operator = checkout.operator(control_plane, checkout_server, namespace, tmp_path)
    with operator:
        first = waiting.wait_for(
            lambda: (
                found
                if (
                    found := checkout.status(control_plane, namespace, "servicelevelobjective")
                ).get("sli")
                else None
            ),
            60,
            "the first measurement",
        )
        sli = first["sli"]
        assert _measured_for(control_plane, namespace, 99.9, sli)
        before = _counters(operator)
        events_before = len(_events(control_plane, namespace))

        # etcd crashes (SIGKILL) and comes back on its data; then the SLO is edited.
        etcd_down = control_plane.restart_etcd(kill=True)
        _edit(control_plane, namespace, 99.5)
        edited = time.monotonic()
        waiting.wait_for(
            lambda: _measured_for(control_plane, namespace, 99.5, sli), 60, "the first edit"
        )
        after_etcd = time.monotonic() - edited

        # The operator is cut off (frozen) while the SLO is edited; etcd compacts its history
        # past the operator's last resourceVersion, and the apiserver restarts, closing every
        # watch: the operator's resumed watch gets 410 Gone and must list again.
        assert operator.process is not None
        os.killpg(operator.process.pid, signal.SIGSTOP)
        try:
            _edit(control_plane, namespace, 99.0)
            compacted = control_plane.etcd_compact()
            apiserver_down = control_plane.restart_apiserver(kill=True)
        finally:
            os.killpg(operator.process.pid, signal.SIGCONT)
        resumed = time.monotonic()
        final = waiting.wait_for(
            lambda: _measured_for(control_plane, namespace, 99.0, sli),
            60,
            "the edit made while the operator was cut off",
        )
        after_410 = time.monotonic() - resumed
        # The resumed watch was refused (its history compacted) and the operator listed again:
        # the only LIST of SLOs since the restart (this test reads the object by name).
        relists = _apiserver_requests(
            control_plane, resource="servicelevelobjectives", verb="LIST", code="200"
        )
        waiting.wait_for(
            lambda: operator.metric_sum("slo_operator_evaluation_cycles_total") >= 3, 30, "cycles"
        )
        counted = _counters(operator)
        assert operator.process.poll() is None
    events = _events(control_plane, namespace)[events_before:]
    rule = control_plane.kubectl_json("get", "prometheusrule", "slo-checkout", "-n", namespace)
    print(
        f"etcd down {etcd_down:.1f}s, edit applied {after_etcd:.1f}s after it; etcd compacted "
        f"at revision {compacted}, apiserver down {apiserver_down:.1f}s, the edit made meanwhile "
        f"applied {after_410:.1f}s after the operator resumed; {relists:.0f} relist(s); "
        f"counters {before} -> {counted}; {len(events)} new Events"
    )
    assert relists >= 1
    # Exactly once: two edits, two reconciles, two rule writes.
    assert counted["reconciles"] - before["reconciles"] == 2
    assert counted["rule updates"] - before["rule updates"] == 2
    assert final["objectives"][0]["target"] == 99.0
    assert "/ 0.01 >" in json.dumps(rule["spec"])
    assert len(events) <= 2, [(e["reason"], e["message"]) for e in events]


def test_a_concurrent_status_writer_does_not_block_or_undo_the_operator(
    control_plane: controlplane.ControlPlane,
    checkout_server: prometheus.PrometheusServer,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    """Another controller writes the status with read-modify-write updates (resourceVersion
    set, so it meets 409 Conflicts) while the operator runs and the SLO is edited."""
    _edit(control_plane, namespace, 99.9)
    operator = checkout.operator(control_plane, checkout_server, namespace, tmp_path)
    path = f"/apis/slo.dev/v1alpha1/namespaces/{namespace}/servicelevelobjectives/checkout/status"
    stop = threading.Event()
    outcomes: dict[int, int] = {}

    def rival() -> None:
        while not stop.is_set():
            body = control_plane.api_request("GET", path).body
            body["status"] = {**body.get("status", {}), "sli": 12.5}
            code = control_plane.api_request("PUT", path, body=body).status
            outcomes[code] = outcomes.get(code, 0) + 1

    with operator:
        sli = waiting.wait_for(
            lambda: checkout.status(control_plane, namespace, "servicelevelobjective").get("sli"),
            60,
            "the first measurement",
        )
        conflicts_before = _apiserver_requests(
            control_plane, resource="servicelevelobjectives", subresource="status", code="409"
        )
        writer = threading.Thread(target=rival, daemon=True)
        writer.start()
        try:
            time.sleep(3)
            _edit(control_plane, namespace, 99.5)
            time.sleep(5)
        finally:
            stop.set()
            writer.join(30)
        stopped = time.monotonic()
        waiting.wait_for(
            lambda: _measured_for(control_plane, namespace, 99.5, sli), 30, "the operator's numbers"
        )
        restored = time.monotonic() - stopped
        failed_patches = operator.metric_sum(
            "slo_operator_evaluation_errors_total", reason="StatusPatchFailed"
        )
    conflicts = {
        verb: _apiserver_requests(
            control_plane,
            resource="servicelevelobjectives",
            subresource="status",
            code="409",
            verb=verb,
        )
        for verb in ("PUT", "PATCH")
    }
    print(
        f"rival writer: {outcomes}; 409s at the apiserver since the rival started: "
        f"{conflicts} (before {conflicts_before:.0f}); operator's failed status patches "
        f"{failed_patches:.0f}; status right again {restored:.1f}s after the rival stopped"
    )
    # The rival did write (and was refused at times); the operator never was.
    assert outcomes.get(200, 0) > 0
    assert conflicts["PATCH"] == 0
    assert failed_patches == 0


def test_apiserver_restart_while_the_operator_starts(
    control_plane: controlplane.ControlPlane,
    checkout_server: prometheus.PrometheusServer,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    """The apiserver crashes and comes back while the operator starts (its discovery scan in
    flight): the edit made after it is applied, if need be after the operator has exited and
    been started again, as a Deployment's pod would be."""
    _edit(control_plane, namespace, 99.9)
    operator = checkout.operator(control_plane, checkout_server, namespace, tmp_path)
    restarting = threading.Thread(
        target=control_plane.restart_apiserver, kwargs={"down_seconds": 2.0, "kill": True}
    )
    restarting.start()
    with operator:
        restarting.join(120)
        _edit(control_plane, namespace, 99.5)
        edited = time.monotonic()
        restarts: list[float] = []

        def applied() -> dict[str, Any] | None:
            assert operator.process is not None
            if operator.process.poll() is not None:
                # The discovery watchdog's exit; started again, as the kubelet would.
                assert operator.process.returncode == 3, operator.log()
                assert "Exiting with status 3" in operator.log()
                restarts.append(time.monotonic() - edited)
                operator.start()
            return _measured_for(control_plane, namespace, 99.5)

        waiting.wait_for(applied, 90, "the edit after the apiserver restart")
        seconds = time.monotonic() - edited
    print(f"edit applied {seconds:.1f}s after it was made; restarted after {restarts} s")


def test_the_discovery_watchdog_stops_an_operator_blind_to_served_resources(
    control_plane: controlplane.ControlPlane,
) -> None:
    """kopf's warning that our resources are unresolved, while discovery serves them, stops
    the operator (the exit that gets it started again); the warning passes through."""
    stop = asyncio.Event()
    heard: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            heard.append(record.getMessage())

    observer = logging.getLogger(discovery_watchdog.KOPF_OBSERVER_LOGGER)
    keep = Keep()
    observer.addHandler(keep)

    async def scenario() -> None:
        watching = asyncio.create_task(discovery_watchdog.watch(api_client, stop, 0.1))
        await asyncio.sleep(0.2)
        observer.warning("Unresolved resources cannot be served: Selector(group='other.dev')")
        await asyncio.sleep(1.0)
        assert not stop.is_set(), "another group's warning is not ours"
        observer.warning(
            "Unresolved resources cannot be served (try creating their CRDs): "
            "Selector(group='slo.dev', version='v1alpha1', any_name='servicelevelobjectives')"
        )
        await asyncio.wait_for(watching, 30)

    api_client = kubernetes.config.new_client_from_config(str(control_plane.kubeconfig))
    try:
        asyncio.run(scenario())
    finally:
        observer.removeHandler(keep)
        api_client.close()
    assert stop.is_set()
    assert len(heard) == 2


def test_the_admission_webhook_while_the_only_operator_is_down(
    control_plane: controlplane.ControlPlane,
    checkout_server: prometheus.PrometheusServer,
    namespace: str,
    tmp_path: pathlib.Path,
) -> None:
    """What docs/reliability.md says of an outage of every replica, and of its way out: killed,
    the operator leaves its Fail-policy webhook behind and every SLO change is refused; switching
    the configuration to Ignore lets them in; the operator started again serves and owns the
    webhook again and reconciles what was admitted meanwhile."""
    configuration = "validatingwebhookconfiguration/slo-operator.slo.dev"
    operator = checkout.operator(control_plane, checkout_server, namespace, tmp_path, webhook=True)
    try:
        with operator:
            waiting.wait_for(
                lambda: control_plane.kubectl_json("get", configuration).get("webhooks"),
                30,
                "the operator's webhook registered",
            )
            _edit(control_plane, namespace, 99.9)
            assert operator.process is not None
            os.killpg(operator.process.pid, signal.SIGKILL)
            operator.process.wait(10)
            body = json.dumps(checkout.slo(namespace, target=99.5, policy=False))
            apply = ("apply", "--server-side", "--field-manager=slo-operator-tests", "-f", "-")
            refused = control_plane.kubectl(*apply, stdin=body, check=False)
            assert refused.returncode != 0
            assert "failed calling webhook" in refused.stderr, refused.stderr
            # The way out while no replica answers: admit unchecked.
            patch = '[{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}]'
            control_plane.kubectl("patch", configuration, "--type=json", "-p", patch)
            admitted = control_plane.kubectl(*apply, stdin=body, check=False)
            assert admitted.returncode == 0, admitted.stderr
            operator.start()
            waiting.wait_for(
                lambda: (
                    control_plane.kubectl_json("get", configuration)["webhooks"][0]["failurePolicy"]
                    == "Fail"
                ),
                30,
                "the started operator's Fail policy back in the configuration",
            )
            waiting.wait_for(
                lambda: _measured_for(control_plane, namespace, 99.5),
                60,
                "the change admitted meanwhile, reconciled",
            )
        # Stopped gracefully, kopf empties the configuration: nothing is refused.
        assert not control_plane.kubectl_json("get", configuration).get("webhooks")
        control_plane.apply(checkout.slo(namespace, target=99.0, policy=False))
    finally:
        control_plane.kubectl("delete", configuration, "--ignore-not-found")
        control_plane.kubectl(
            "delete", "mutatingwebhookconfiguration/slo-operator.slo.dev", "--ignore-not-found"
        )
