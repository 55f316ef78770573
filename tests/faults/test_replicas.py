"""Two replicas of the operator against one control plane, as the chart runs them.

Real control plane, real Prometheus, every replica a `slo-operator run` process with kopf peering
(`--peering`), the shared webhook certificate (`--webhook-cert-secret`) and the frozen clock of
the checkout scenario (tests/faults/checkout.py), so the active replica closes January into the
SLA's history and crosses both policy steps (each a webhook and an Event). The apiserver reaches
the replicas' webhooks through a round-robin TCP front (tests/support/tcp_front.py), the test's
stand-in for the chart's Service.

Promises (docs/reliability.md, "Two replicas"):

- one replica is active: only it reconciles, evaluates and writes; the other answers admission
  reviews with the same certificate and serves the web UI with every object, and does nothing
  else; starting it does not rewrite the webhook configuration;
- the active replica SIGKILLed, the standby takes over within 30 s: an SLO created after the
  kill has its PrometheusRule and its status within 30 s of the kill, and creates admitted by
  the surviving replica's webhook meanwhile;
- across every takeover, January is in the history once, each policy step's webhook was posted
  once and its Event written once;
- the active replica stopped gracefully (SIGTERM) hands over at once and leaves the webhook
  registered for the others;
- the active replica cut off from the apiserver (a partition: its connections broken, new ones
  closed) is standby before the other takes over, so two replicas are never active at once;
  the other does the work meanwhile; once the link is back, one replica is active again, and
  nothing was written or announced twice.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import pathlib
import signal
import ssl
import statistics
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
import yaml

from faults import checkout
from support import paths, tcp_front, waiting, webhook_receiver
from testkit import controlplane, operator_process, prometheus

pytestmark = pytest.mark.timeout(360)

TAKEOVERS = 3
"""SIGKILLs of the active replica, each followed by a new standby (a restarted pod)."""
TAKEOVER_BOUND = 30.0
"""Seconds from the kill until an SLO created after it has its rules and status."""
PEERING = "slo-operator"
CERT_SECRET = "slo-operator-webhook-tls"
CONFIGURATION = "validatingwebhookconfiguration/slo-operator.slo.dev"


@pytest.fixture(scope="module")
def namespace(checkout_namespaces: dict[str, str]) -> str:
    return checkout_namespaces["replicas"]


@pytest.fixture(scope="module")
def peering_crds(control_plane: controlplane.ControlPlane) -> None:
    """kopf's peering CRDs, from the chart (which installs them with the operator's)."""
    control_plane.install_crds(sorted((paths.CHART / "files" / "peering").glob("*.yaml")))


def _slo(namespace: str) -> dict[str, Any]:
    """The checkout SLO with an Event action besides each policy step's webhook."""
    body = checkout.slo(namespace)
    for step in body["spec"]["errorBudgetPolicy"]:
        step["actions"].append({"type": "Event"})
    return body


def _new_slo(namespace: str, name: str) -> dict[str, Any]:
    body = checkout.slo(namespace, policy=False)
    body["metadata"]["name"] = name
    return body


class Replicas:
    """The replicas started so far, and the front the apiserver calls their webhooks through."""

    def __init__(
        self,
        plane: controlplane.ControlPlane,
        server: prometheus.PrometheusServer,
        namespace: str,
        log_dir: pathlib.Path,
    ) -> None:
        self.plane, self.server, self.namespace, self.log_dir = plane, server, namespace, log_dir
        self.front = tcp_front.TcpFront([])
        self.started: list[operator_process.OperatorProcess] = []

    def start(self, kubeconfig: pathlib.Path | None = None) -> operator_process.OperatorProcess:
        replica = checkout.operator(
            self.plane,
            self.server,
            self.namespace,
            self.log_dir / f"replica-{len(self.started)}",
            kubeconfig=kubeconfig,
            webhook=True,
        )
        replica.ui_port = operator_process.free_port()
        replica.args += [
            f"--ui-port={replica.ui_port}",
            f"--peering={PEERING}",
            f"--webhook-cert-secret={self.namespace}/{CERT_SECRET}",
            f"--webhook-public-port={self.front.port}",
        ]
        replica.start()
        self.front.endpoints.append(replica.webhook_port)
        self.front.connections[replica.webhook_port] = 0
        self.started.append(replica)
        return replica

    def kill(self, replica: operator_process.OperatorProcess) -> float:
        """SIGKILL, no goodbye; the front stops sending it connections. The monotonic time."""
        assert replica.process is not None
        os.killpg(replica.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        replica.process.wait(10)
        self.front.remove(replica.webhook_port)
        return killed

    def terminate(self, replica: operator_process.OperatorProcess) -> None:
        """SIGTERM, kopf's graceful shutdown, not waited for; the front stops sending it
        connections first, as the endpoints controller does for a terminating pod."""
        self.front.remove(replica.webhook_port)
        assert replica.process is not None
        os.killpg(replica.process.pid, signal.SIGTERM)

    def alive(self) -> list[operator_process.OperatorProcess]:
        return [r for r in self.started if r.process is not None and r.process.poll() is None]

    def close(self) -> None:
        for replica in self.started:
            replica.stop()
        self.front.close()


def _active(replica: operator_process.OperatorProcess) -> bool:
    return replica.metric_sum("slo_operator_active") == 1


def _writes(replica: operator_process.OperatorProcess) -> float:
    """Everything a replica counts that only an active one does."""
    text = replica.metrics()
    names = ("slo_operator_reconciles_total", "slo_operator_evaluation_cycles_total")
    return sum(replica.metric_sum(name, text) for name in names)


def _review(
    replica: operator_process.OperatorProcess, ca_file: pathlib.Path, path: str, body: Any
) -> bool:
    """One admission review sent straight to a replica's port, trusting only the shared CA."""
    context = ssl.create_default_context(cafile=str(ca_file))
    connection = http.client.HTTPSConnection(
        "127.0.0.1", replica.webhook_port, context=context, timeout=10
    )
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "slo.dev", "version": "v1alpha1", "kind": body["kind"]},
            "resource": {
                "group": "slo.dev",
                "version": "v1alpha1",
                "resource": "servicelevelobjectives",
            },
            "operation": "CREATE",
            "userInfo": {"username": "replica-test"},
            "object": body,
            "oldObject": None,
        },
    }
    try:
        connection.request("POST", path, json.dumps(review), {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 200, response.read()[:500]
        return bool(json.loads(response.read())["response"]["allowed"])
    finally:
        connection.close()


def _ready_with_rules(plane: controlplane.ControlPlane, namespace: str, name: str) -> bool:
    found = plane.kubectl("get", "prometheusrule", f"slo-{name}", "-n", namespace, check=False)
    if found.returncode != 0:
        return False
    status = plane.kubectl_json("get", "slo", name, "-n", namespace).get("status") or {}
    return (status.get("rules") or {}).get("name") == f"slo-{name}"


def _operator_events(plane: controlplane.ControlPlane, namespace: str) -> list[tuple[str, ...]]:
    events = plane.kubectl_json("get", "events", "-n", namespace)["items"]
    return sorted(
        (item["involvedObject"]["name"], item["reason"], item["message"])
        for item in events
        for _ in range(int(item.get("count") or 1))
    )


def test_one_active_replica_and_a_takeover_within_30s(
    control_plane: controlplane.ControlPlane,
    checkout_server: prometheus.PrometheusServer,
    receiver: webhook_receiver.Receiver,
    namespace: str,
    peering_crds: None,
    tmp_path: pathlib.Path,
) -> None:
    plane = control_plane
    plane.kubectl(
        "create", "secret", "generic", "hook", "-n", namespace, f"--from-literal=url={receiver.url}"
    )
    plane.apply(_slo(namespace))
    plane.apply(checkout.sla(namespace))
    # The SLA seen in January first (periods that ended before it was seen are not closed).
    january = tmp_path / "january"
    with checkout.operator(plane, checkout_server, namespace, january, checkout.JANUARY):
        waiting.wait_for(
            lambda: (
                (
                    checkout.status(plane, namespace, "servicelevelagreement").get("currentPeriod")
                    or {}
                ).get("start")
                == "2026-01-01T00:00:00Z"
            ),
            60,
            "January as the current period",
        )
    replicas = Replicas(plane, checkout_server, namespace, tmp_path)
    try:
        first = replicas.start()
        waiting.wait_for(lambda: _active(first), 30, "the first replica active")
        waiting.wait_for(
            lambda: plane.kubectl_json("get", CONFIGURATION).get("webhooks"), 30, "the webhook"
        )
        generation = plane.kubectl_json("get", CONFIGURATION)["metadata"]["generation"]
        second = replicas.start()
        waiting.wait_for(
            lambda: (
                checkout.status(plane, namespace, "servicelevelagreement").get("history")
                and (
                    checkout.status(plane, namespace, "servicelevelobjective").get("policy") or {}
                ).get("activeSteps")
                == ["warn", "freeze"]
            ),
            90,
            "January closed and both policy steps crossed by the active replica",
        )
        # Well past the standby's start: it never became active, nor wrote anything.
        waiting.wait_for(lambda: _writes(first) >= 5, 30, "the active replica's cycles")
        assert not _active(second) and _writes(second) == 0, second.log()
        # The standby's web UI shows the objects too (its own watch: kopf's is paused there).
        with urllib.request.urlopen(f"http://127.0.0.1:{second.ui_port}/", timeout=10) as page:
            overview = page.read().decode()
        assert "checkout" in overview and "acme" in overview
        # One certificate: the second replica's start left the configuration as it was.
        configuration = plane.kubectl_json("get", CONFIGURATION)
        assert configuration["metadata"]["generation"] == generation
        secret = plane.kubectl_json("get", "secret", CERT_SECRET, "-n", namespace)
        ca_file = tmp_path / "shared-ca.crt"
        ca_file.write_bytes(base64.b64decode(secret["data"]["ca.crt"]))
        for hook in configuration["webhooks"]:
            assert hook["clientConfig"]["caBundle"] == secret["data"]["ca.crt"]
            assert f":{replicas.front.port}/" in hook["clientConfig"]["url"]
        # Both replicas answer reviews, with the certificate the configuration's CA signed.
        path = next(
            urllib.parse.urlsplit(hook["clientConfig"]["url"]).path
            for hook in configuration["webhooks"]
            if "servicelevelobjectives" in hook["rules"][0]["resources"]
        )
        probe = _new_slo(namespace, "probe")
        assert [_review(r, ca_file, path, probe) for r in replicas.started] == [True, True]

        takeovers: list[float] = []
        ready_after: list[float] = []
        admitted = refused = 0
        active = first
        for round_number in range(TAKEOVERS):
            standby = next(r for r in replicas.alive() if r is not active)
            killed = replicas.kill(active)
            # Created right after the kill: the survivor's webhook admits it (Fail policy).
            name = f"after-kill-{round_number}"
            created = plane.kubectl(
                "apply", "-f", "-", stdin=json.dumps(_new_slo(namespace, name)), check=False
            )
            assert created.returncode == 0, created.stderr
            waiting.wait_for(
                lambda: _active(standby),  # noqa: B023
                TAKEOVER_BOUND,
                "the standby active",
            )
            takeovers.append(time.monotonic() - killed)
            waiting.wait_for(
                lambda: _ready_with_rules(plane, namespace, name),  # noqa: B023
                max(1.0, TAKEOVER_BOUND - (time.monotonic() - killed)),
                f"{name}'s PrometheusRule and status",
            )
            ready_after.append(time.monotonic() - killed)
            for _ in range(5):
                check = plane.kubectl(
                    "create",
                    "--dry-run=server",
                    "-f",
                    "-",
                    stdin=json.dumps(_new_slo(namespace, f"dry-{uuid.uuid4().hex[:8]}")),
                    check=False,
                )
                admitted += check.returncode == 0
                refused += check.returncode != 0
            active = standby
            replicas.start()  # the restarted pod: the youngest, so a standby
        # The last active replica's own cycles, after its takeover.
        cycles = active.metric_sum("slo_operator_evaluation_cycles_total")
        waiting.wait_for(
            lambda: active.metric_sum("slo_operator_evaluation_cycles_total") >= cycles + 3,
            30,
            "cycles of the last active replica",
        )
        history = checkout.status(plane, namespace, "servicelevelagreement")["history"]
        events = _operator_events(plane, namespace)
        steps = sorted(post["step"] for post in receiver.posts)
        print(
            f"takeover after SIGKILL (s): {[round(t, 1) for t in takeovers]} "
            f"(min {min(takeovers):.1f}, median {statistics.median(takeovers):.1f}, "
            f"max {max(takeovers):.1f}); SLO created after the kill Ready with rules after "
            f"{[round(t, 1) for t in ready_after]} s; creates through the webhook while one "
            f"replica was dead: {admitted + TAKEOVERS} admitted, {refused} refused; front "
            f"connections per replica: {list(replicas.front.connections.values())}"
        )
        assert max(ready_after) < TAKEOVER_BOUND
        assert refused == 0
        assert [(entry["start"], entry["end"]) for entry in history] == [
            ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
        ]
        assert steps == ["freeze", "warn"], receiver.posts
        assert len(events) == len(set(events)), events
        policy_events = [
            message.split(" reached")[0]
            for _, reason, message in events
            if reason == "ErrorBudgetPolicy"
        ]
        assert sorted(policy_events) == [
            "error budget policy step freeze",
            "error budget policy step warn",
        ], events
        # One writer at every moment: every other live replica is a standby that wrote nothing.
        standby = next(r for r in replicas.alive() if r is not active)
        assert not _active(standby) and _writes(standby) == 0

        # A rollout or a drain: the active replica stopped with SIGTERM hands over at once, and
        # leaves the webhook registered for the replica that still serves it.
        began = time.monotonic()
        replicas.terminate(active)
        waiting.wait_for(lambda: _active(standby), 10, "the standby active after a SIGTERM")
        handover = time.monotonic() - began
        assert active.process is not None
        active.process.wait(30)
        stopped = time.monotonic() - began
        assert plane.kubectl_json("get", CONFIGURATION).get("webhooks")
        plane.apply(_new_slo(namespace, "after-sigterm"))
        waiting.wait_for(
            lambda: _ready_with_rules(plane, namespace, "after-sigterm"),
            TAKEOVER_BOUND,
            "after-sigterm's PrometheusRule and status",
        )
        print(
            f"SIGTERM: the standby active {handover:.1f} s after it, "
            f"the stopped replica's process gone after {stopped:.1f} s"
        )
    finally:
        replicas.close()
        plane.kubectl("delete", CONFIGURATION, "--ignore-not-found")
        plane.kubectl(
            "delete", "mutatingwebhookconfiguration/slo-operator.slo.dev", "--ignore-not-found"
        )


def _policy_settled(plane: controlplane.ControlPlane, namespace: str) -> bool:
    policy = checkout.status(plane, namespace, "servicelevelobjective").get("policy") or {}
    return policy.get("activeSteps") == ["warn", "freeze"] and "unannounced" not in policy


def _checkout_events(plane: controlplane.ControlPlane, namespace: str) -> list[tuple[str, ...]]:
    return [e for e in _operator_events(plane, namespace) if e[0] in ("checkout", "acme")]


def _through(
    plane: controlplane.ControlPlane, link: tcp_front.TcpFront, path: pathlib.Path
) -> pathlib.Path:
    """A copy of the control plane's kubeconfig that reaches the apiserver through `link`."""
    config = yaml.safe_load(plane.kubeconfig.read_text())
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{link.port}"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_replica_cut_off_from_the_apiserver_stands_by_before_the_other_takes_over(
    control_plane: controlplane.ControlPlane,
    checkout_server: prometheus.PrometheusServer,
    receiver: webhook_receiver.Receiver,
    namespace: str,
    peering_crds: None,
    tmp_path: pathlib.Path,
) -> None:
    """The checkout SLO and SLA (the first test's, if it ran) once both policy steps are
    announced: after the partition and its end, they are as they were."""
    plane = control_plane
    if plane.kubectl("get", "secret", "hook", "-n", namespace, check=False).returncode:
        plane.kubectl(
            "create", "secret", "generic", "hook", "-n", namespace,
            f"--from-literal=url={receiver.url}",
        )  # fmt: skip
    plane.apply(_slo(namespace))
    plane.apply(checkout.sla(namespace))
    apiserver_port = int(urllib.parse.urlsplit(plane.server_url).port or 443)
    link = tcp_front.TcpFront([apiserver_port])
    replicas = Replicas(plane, checkout_server, namespace, tmp_path)
    try:
        cut_off = replicas.start(_through(plane, link, tmp_path / "through-link.kubeconfig"))
        waiting.wait_for(lambda: _active(cut_off), 30, "the first replica active")
        other = replicas.start()
        waiting.wait_for(
            lambda: _policy_settled(plane, namespace), 60, "both policy steps announced"
        )
        waiting.wait_for(lambda: _writes(cut_off) >= 5, 30, "the active replica's cycles")
        assert not _active(other)
        history = checkout.status(plane, namespace, "servicelevelagreement").get("history")
        posts, events = len(receiver.posts), _checkout_events(plane, namespace)

        link.cut()
        began = time.monotonic()
        standby_at = active_at = None
        while active_at is None and time.monotonic() - began < 40:
            # Two separate reads: the cut-off replica's state first, so an overlap shows.
            if standby_at is None and not _active(cut_off):
                standby_at = time.monotonic() - began
            if _active(other):
                active_at = time.monotonic() - began
            time.sleep(0.1)
        assert standby_at is not None and active_at is not None, cut_off.log()
        print(
            f"partition: the cut-off replica standby {standby_at:.1f} s after the cut, "
            f"the other active {active_at:.1f} s after it"
        )
        assert standby_at < active_at  # never two active replicas
        assert active_at < TAKEOVER_BOUND
        plane.apply(_new_slo(namespace, "during-partition"))
        waiting.wait_for(
            lambda: _ready_with_rules(plane, namespace, "during-partition"),
            TAKEOVER_BOUND,
            "during-partition's PrometheusRule and status, from the other replica",
        )
        cycles = cut_off.metric_sum("slo_operator_evaluation_cycles_total")
        time.sleep(3)
        assert cut_off.metric_sum("slo_operator_evaluation_cycles_total") == cycles
        assert cut_off.process is not None and cut_off.process.poll() is None

        link.heal()
        healed = time.monotonic()
        # The older replica's keep-alive is back: it is the active one again, the other stands
        # by (kopf's priorities); one of them at every poll from then on.
        waiting.wait_for(
            lambda: _active(cut_off) and not _active(other), 60, "the older replica active again"
        )
        rejoined = time.monotonic() - healed
        print(f"partition healed: the older replica active again after {rejoined:.1f} s")
        plane.apply(_new_slo(namespace, "after-partition"))
        waiting.wait_for(
            lambda: _ready_with_rules(plane, namespace, "after-partition"),
            TAKEOVER_BOUND,
            "after-partition's PrometheusRule and status",
        )
        assert checkout.status(plane, namespace, "servicelevelagreement").get("history") == history
        assert len(receiver.posts) == posts
        assert _checkout_events(plane, namespace) == events
    finally:
        replicas.close()
        link.close()
        plane.kubectl("delete", CONFIGURATION, "--ignore-not-found")
        plane.kubectl(
            "delete", "mutatingwebhookconfiguration/slo-operator.slo.dev", "--ignore-not-found"
        )
