"""The operator runs with a token of the chart's ServiceAccount and nothing else.

The chart's rendered ServiceAccount, (Cluster)Roles and bindings are applied to the control plane,
a token is minted for the ServiceAccount through the TokenRequest API, and `slo-operator run`
gets the Deployment's own arguments with a kubeconfig holding only that token, and a real (empty)
Prometheus as its default backend. A full reconcile and evaluation (every example's rule object
owned by it, the SLO evaluated: Ready with reason NoData; the SLA observed), a Warning Event, and a
webhook that refuses an invalid manifest prove the RBAC is sufficient; 403s on everything outside
the watched namespaces prove it is not more than that. There is no kubelet here, so the Deployment
itself never runs: the webhook is served in URL mode (the apiserver cannot reach a Service
without endpoints) with the same cluster-scoped webhook-configuration rights.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from e2e.helm_chart import VALUES_DIR, Helm, as_json, find
from support import manifests, paths, waiting
from testkit import controlplane, operator_process, prometheus

WEBHOOK_CONFIGURATION = "slo-operator.slo.dev"
# The flags OperatorProcess sets itself (free ports, a certificate folder, URL-mode webhook).
_PROCESS_FLAGS = ("--metrics-port", "--health-port", "--webhook-port", "--webhook-cert-dir")


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prometheus.PrometheusServer]:
    """An empty Prometheus: every SLI query answers, with no samples (reason NoData)."""
    folder = tmp_path_factory.mktemp("prometheus")
    with prometheus.PrometheusServer(folder / "tsdb", work_dir=folder / "work") as server:
        yield server


def chart_values(backend: prometheus.PrometheusServer, *more: str) -> list[str]:
    """--set-json assignments: the test's Prometheus, and a one-second evaluation cycle."""
    return [f"prometheusUrl={json.dumps(backend.url)}", "evaluationInterval=1", *more]


def get_json(plane: controlplane.ControlPlane, *args: str) -> Any:
    result = plane.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def condition(body: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for item in (body.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return None


def observed(body: dict[str, Any] | None) -> bool:
    if not body:
        return False
    return bool(
        (body.get("status") or {}).get("observedGeneration") == body["metadata"]["generation"]
    )


@contextmanager
def chart_installed(
    plane: controlplane.ControlPlane,
    helm: Helm,
    namespace: str,
    *,
    values_files: list[Path],
    set_json: list[str],
) -> Iterator[list[dict[str, Any]]]:
    """The chart's objects (all but the CRDs the harness installed) applied; deleted afterwards."""
    release = f"rbac-{secrets.token_hex(3)}"
    documents = helm.render(
        release=release, namespace=namespace, values_files=values_files, set_json=set_json
    )
    objects = [d for d in documents if d["kind"] != "CustomResourceDefinition"]
    # kopf's peering CRDs come with the chart (files/peering/), not with crds/.
    plane.install_crds(sorted((paths.CHART / "files" / "peering").glob("*.yaml")))
    plane.kubectl("apply", "-f", "-", stdin=as_json(objects))
    try:
        yield documents
    finally:
        plane.kubectl(
            "delete", "--ignore-not-found", "--wait=false", "-f", "-", stdin=as_json(objects)
        )


def operator_from_chart(
    plane: controlplane.ControlPlane,
    documents: list[dict[str, Any]],
    namespace: str,
    folder: Path,
) -> operator_process.OperatorProcess:
    """`slo-operator run` with the Deployment's arguments and the ServiceAccount's token."""
    deployment = find(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args: list[str] = []
    webhook = False
    for arg in container["args"]:
        flag, _, value = arg.partition("=")
        if flag in _PROCESS_FLAGS:
            continue
        if flag == "--webhook-service":
            webhook = True
            continue
        if flag == "--backends-file":
            # The file the ConfigMap volume would mount, written where the process can read it.
            local = folder / Path(value).name
            local.write_text(find(documents, "ConfigMap")["data"][Path(value).name])
            args.append(f"--backends-file={local}")
            continue
        args.append(arg)
    token = plane.service_account_token(namespace, pod["serviceAccountName"])
    kubeconfig = plane.write_token_kubeconfig(token, folder / "token-kubeconfig")
    return operator_process.OperatorProcess(
        args, kubeconfig=kubeconfig, webhook=webhook, log_dir=folder
    )


def wait_for_webhook(plane: controlplane.ControlPlane) -> None:
    """kopf has patched the chart's empty webhook configuration with its webhooks."""

    def patched() -> bool:
        body = get_json(plane, "validatingwebhookconfiguration", WEBHOOK_CONFIGURATION)
        return bool(body and body.get("webhooks"))

    waiting.wait_for(patched, 30, "the operator's webhooks in the chart's configuration")


def assert_reconciled(
    plane: controlplane.ControlPlane, namespace: str, rule_kind: str, timeout: float = 30
) -> None:
    """Every example SLO has an owned rule object and was evaluated; the SLA is observed."""
    for body in manifests.example_bodies(namespace=namespace):
        name = body["metadata"]["name"]
        if body["kind"] == "ServiceLevelAgreement":
            waiting.wait_for(
                lambda name=name: observed(get_json(plane, "sla", name, "-n", namespace)),
                timeout,
                f"SLA {name} observed",
            )
            continue

        def evaluated(name: str = name) -> dict[str, Any] | None:
            slo = get_json(plane, "slo", name, "-n", namespace)
            ready = condition(slo, "Ready") if slo else None
            done = ready and ready["status"] == "True" and ready["reason"] == "NoData"
            return slo if observed(slo) and done else None

        slo = waiting.wait_for(evaluated, timeout, f"SLO {name} evaluated: Ready, reason NoData")
        rule = get_json(plane, rule_kind.lower(), f"slo-{name}", "-n", namespace)
        assert rule is not None, f"no {rule_kind} slo-{name}"
        owners = [(o["kind"], o["uid"]) for o in rule["metadata"]["ownerReferences"]]
        assert owners == [("ServiceLevelObjective", slo["metadata"]["uid"])]
        assert slo["status"]["rules"]["kind"] == rule_kind


def unknown_time_zone(namespace: str, name: str) -> dict[str, Any]:
    """An SLO only the webhook (or the reconcile) can judge: its time zone does not exist."""
    body = next(
        d for d in manifests.example_bodies(namespace=namespace) if "calendar" in d.get("spec", {})
    )
    invalid = copy.deepcopy(body)
    invalid["metadata"]["name"] = name
    invalid["spec"]["calendar"]["timeZone"] = "Mars/Olympus_Mons"
    return invalid


def assert_refused_by_webhook(plane: controlplane.ControlPlane, namespace: str) -> None:
    """A manifest only the webhook can judge is refused at apply."""
    invalid = unknown_time_zone(namespace, "refused-at-admission")
    result = plane.kubectl("apply", "-f", "-", stdin=json.dumps(invalid), check=False)
    assert result.returncode != 0, "an SLO with an unknown time zone was admitted"
    assert "validate-slo" in result.stderr and "timeZone" in result.stderr, result.stderr


_REFUSED = re.compile(r"\b(Forbidden|forbidden|403)\b|permission")


def assert_warned(plane: controlplane.ControlPlane, namespace: str, name: str) -> None:
    """The SLO admitted before the webhook existed is Stalled, with a Warning Event (events
    create is the verb that posts it)."""

    def stalled() -> bool:
        slo = get_json(plane, "slo", name, "-n", namespace)
        stalled = condition(slo, "Stalled") if slo else None
        return bool(stalled and stalled["status"] == "True" and stalled["reason"] == "InvalidSpec")

    waiting.wait_for(stalled, 30, f"{name} Stalled with reason InvalidSpec")

    def event() -> list[dict[str, Any]]:
        selector = f"involvedObject.name={name},reason=InvalidSpec,type=Warning"
        events = get_json(plane, "events", "-n", namespace, "--field-selector", selector)
        return list(events["items"]) if events else []

    (posted,) = waiting.wait_for(event, 30, f"the Warning Event on {name}")
    assert "timeZone" in posted["message"], posted


def permission_problems(log: str) -> list[str]:
    """Messages of the (JSON) log that say the operator was refused something."""
    problems = []
    for line in log.splitlines():
        try:
            message = str(json.loads(line).get("message", ""))
        except ValueError:
            message = line
        if _REFUSED.search(message):
            problems.append(message)
    return problems


def test_cluster_wide_operator_reconciles_with_the_chart_rbac(
    control_plane: controlplane.ControlPlane,
    helm: Helm,
    backend: prometheus.PrometheusServer,
    release_namespace: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    with chart_installed(
        control_plane, helm, release_namespace, values_files=[], set_json=chart_values(backend)
    ) as documents:
        process = operator_from_chart(control_plane, documents, release_namespace, tmp_path)
        assert "--all-namespaces" in process.args
        # Admitted: the chart's webhook configuration is empty until the operator fills it.
        control_plane.apply(unknown_time_zone(namespace, "admitted-before-start"))
        with process:
            wait_for_webhook(control_plane)
            control_plane.kubectl(
                "apply", "-f", "-", stdin=as_json(manifests.example_bodies(namespace=namespace))
            )
            assert_reconciled(control_plane, namespace, "PrometheusRule")
            assert_warned(control_plane, namespace, "admitted-before-start")
            assert_refused_by_webhook(control_plane, namespace)
            # Without policyWebhookHosts no Secret is readable, not even by name.
            token = control_plane.service_account_token(
                release_namespace, find(documents, "ServiceAccount")["metadata"]["name"]
            )
            hook = webhook_secret(control_plane, namespace)
            assert control_plane.api_request("GET", hook, token=token).status == 403
        log = process.log(lines=100_000)
    assert not permission_problems(log), "\n".join(permission_problems(log))


@pytest.mark.parametrize("rule_kind", ["PrometheusRule", "ConfigMap"])
def test_namespaced_operator_reconciles_its_namespaces_and_is_refused_the_rest(
    control_plane: controlplane.ControlPlane,
    helm: Helm,
    backend: prometheus.PrometheusServer,
    release_namespace: str,
    tmp_path: Path,
    rule_kind: str,
) -> None:
    watched = [control_plane.create_namespace(prefix=f"watched-{i}") for i in range(2)]
    outside = control_plane.create_namespace(prefix="outside")
    values = [VALUES_DIR / "configmap-output.yaml"] if rule_kind == "ConfigMap" else []
    try:
        with chart_installed(
            control_plane,
            helm,
            release_namespace,
            values_files=values,
            set_json=chart_values(
                backend,
                f"watchNamespaces={json.dumps(watched)}",
                'policyWebhookHosts=["hooks.example.com"]',
            ),
        ) as documents:
            process = operator_from_chart(control_plane, documents, release_namespace, tmp_path)
            control_plane.apply(unknown_time_zone(watched[1], "admitted-before-start"))
            with process:
                wait_for_webhook(control_plane)
                for name in [*watched, outside]:
                    control_plane.kubectl(
                        "apply", "-f", "-", stdin=as_json(manifests.example_bodies(namespace=name))
                    )
                for name in watched:
                    assert_reconciled(control_plane, name, rule_kind)
                assert_warned(control_plane, watched[1], "admitted-before-start")
                assert_refused_by_webhook(control_plane, watched[0])
                # The examples outside were there all along: none was touched.
                for body in manifests.example_bodies(namespace=outside):
                    plural = "slo" if body["kind"] == "ServiceLevelObjective" else "sla"
                    found = get_json(control_plane, plural, body["metadata"]["name"], "-n", outside)
                    assert "status" not in found, found
                    assert "annotations" not in found["metadata"] or not any(
                        key.startswith("slo.dev/") for key in found["metadata"]["annotations"]
                    ), found["metadata"]
                assert_refused_outside(
                    control_plane, documents, release_namespace, watched, outside
                )
            log = process.log(lines=100_000)
        assert not permission_problems(log), "\n".join(permission_problems(log))
    finally:
        for name in [*watched, outside]:
            control_plane.delete_namespace(name)


def assert_refused_outside(
    plane: controlplane.ControlPlane,
    documents: list[dict[str, Any]],
    release_namespace: str,
    watched: list[str],
    outside: str,
) -> None:
    """With the ServiceAccount's own token: allowed inside, 403 for everything else."""
    account = find(documents, "ServiceAccount")["metadata"]["name"]
    token = plane.service_account_token(release_namespace, account)
    slos = "/apis/slo.dev/v1alpha1/namespaces/{}/servicelevelobjectives"
    rules = "/apis/monitoring.coreos.com/v1/namespaces/{}/prometheusrules"
    configmaps = "/api/v1/namespaces/{}/configmaps"
    allowed = [("GET", slos.format(watched[0]), None), ("GET", slos.format(watched[1]), None)]
    refused = [
        ("GET", slos.format(outside), None),
        ("GET", "/apis/slo.dev/v1alpha1/servicelevelobjectives", None),
        ("GET", slos.format(outside) + "/checkout-availability", None),
        ("GET", rules.format(outside) + "/slo-checkout-availability", None),
        ("POST", rules.format(outside), _rule_object(outside)),
        ("POST", configmaps.format(outside), _config_map(outside)),
        ("GET", f"/api/v1/namespaces/{watched[0]}/secrets", None),
        ("DELETE", slos.format(watched[0]) + "/checkout-availability", None),
        ("GET", f"/api/v1/namespaces/{outside}", None),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", _cluster_role()),
    ]
    # policyWebhookHosts is set: a policy Webhook's Secret is readable by name, inside only.
    allowed.append(("GET", webhook_secret(plane, watched[0]), None))
    refused.append(("GET", webhook_secret(plane, outside), None))
    for method, path, _ in allowed:
        response = plane.api_request(method, path, token=token)
        assert response.status == 200, (method, path, response.status, response.body)
    for method, path, body in refused:
        response = plane.api_request(method, path, token=token, body=body)
        assert response.status == 403, (method, path, response.status, response.body)


def webhook_secret(plane: controlplane.ControlPlane, namespace: str) -> str:
    """A Secret holding a policy webhook's URL (created as admin); its API path."""
    plane.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "chat-hook", "namespace": namespace},
            "stringData": {"url": "https://hooks.example.com/slo"},
        }
    )
    return f"/api/v1/namespaces/{namespace}/secrets/chat-hook"


def _rule_object(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "intruder", "namespace": namespace},
        "spec": {"groups": []},
    }


def _config_map(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "intruder", "namespace": namespace},
        "data": {},
    }


def _cluster_role() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "intruder"},
        "rules": [],
    }


def _without(rules: list[dict[str, Any]], resource: str) -> list[dict[str, Any]]:
    """The ClusterRole's rules with every grant on `resource` taken away."""
    kept = []
    for rule in rules:
        resources = [name for name in rule.get("resources", []) if name != resource]
        if resources:
            kept.append({**rule, "resources": resources})
    return kept


def test_rbac_taken_away_while_running_stalls_with_the_reason_and_recovers_when_restored(
    control_plane: controlplane.ControlPlane,
    helm: Helm,
    backend: prometheus.PrometheusServer,
    release_namespace: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    """The operator's ClusterRole loses, one at a time, the right to write PrometheusRules,
    status and Events while the operator runs, and gets it back: what it can still write says
    why, its log says the rest, and each restored right is used again without an edit."""
    slo = copy.deepcopy(manifests.example_bodies("ServiceLevelObjective", namespace)[0])
    name = slo["metadata"]["name"]
    objective = slo["spec"]["objectives"][0]
    with chart_installed(
        control_plane,
        helm,
        release_namespace,
        values_files=[VALUES_DIR / "webhook-disabled.yaml"],
        set_json=chart_values(backend),
    ) as documents:
        role = find(documents, "ClusterRole")
        process = operator_from_chart(control_plane, documents, release_namespace, tmp_path)

        def grant(rules: list[dict[str, Any]]) -> None:
            control_plane.kubectl("replace", "-f", "-", stdin=json.dumps({**role, "rules": rules}))

        def edit(target: float) -> int:
            objective["target"] = target
            control_plane.apply(slo)
            return int(
                get_json(control_plane, "slo", name, "-n", namespace)["metadata"]["generation"]
            )

        def status() -> dict[str, Any]:
            return dict(get_json(control_plane, "slo", name, "-n", namespace).get("status") or {})

        def applied(generation: int, target: float) -> bool:
            found = status()
            ready = condition({"status": found}, "Ready") or {}
            return (
                found.get("observedGeneration") == generation
                and found.get("target") == target
                and ready.get("status") == "True"
            )

        control_plane.apply(slo)
        with process:
            first = edit(99.0)
            waiting.wait_for(lambda: applied(first, 99.0), 60, "the SLO reconciled")

            # 1. PrometheusRules: Stalled with the reason and a Warning, in status and Events.
            grant(_without(role["rules"], "prometheusrules"))
            generation = edit(98.5)
            waiting.wait_for(
                lambda: (
                    (condition({"status": status()}, "Stalled") or {}).get("reason") == "Forbidden"
                ),
                60,
                "Stalled, reason Forbidden",
            )
            stalled = condition({"status": status()}, "Stalled") or {}
            assert "PrometheusRule" in stalled["message"], stalled
            grant(role["rules"])
            restored = time.monotonic()
            waiting.wait_for(lambda: applied(generation, 98.5), 90, "recovery of the rule writes")
            rules_back = time.monotonic() - restored
            rule = get_json(control_plane, "prometheusrule", f"slo-{name}", "-n", namespace)
            assert "98.5%" in json.dumps(rule["spec"])

            # 2. Status: nothing can say it there; the log does, and status catches up.
            grant(_without(role["rules"], "servicelevelobjectives/status"))
            generation = edit(98.0)
            waiting.wait_for(
                lambda: any("status" in p for p in permission_problems(process.log(2000))),
                60,
                "the refused status write in the log",
            )
            assert status().get("target") == 98.5
            grant(role["rules"])
            restored = time.monotonic()
            waiting.wait_for(lambda: applied(generation, 98.0), 90, "recovery of status writes")
            status_back = time.monotonic() - restored

            # 3. Events: status still says why; the refused Warning is in the log.
            grant(_without(role["rules"], "events"))
            invalid = unknown_time_zone(namespace, "invalid-without-events")
            control_plane.apply(invalid)
            waiting.wait_for(
                lambda: (
                    (
                        condition(
                            get_json(
                                control_plane, "slo", "invalid-without-events", "-n", namespace
                            ),
                            "Stalled",
                        )
                        or {}
                    ).get("reason")
                    == "InvalidSpec"
                ),
                60,
                "Stalled, reason InvalidSpec",
            )
            waiting.wait_for(
                lambda: any("event" in p.lower() for p in permission_problems(process.log(2000))),
                60,
                "the refused Event in the log",
            )
            grant(role["rules"])
            assert_warned_later = unknown_time_zone(namespace, "invalid-with-events")
            control_plane.apply(assert_warned_later)
            assert_warned(control_plane, namespace, "invalid-with-events")
            assert process.process is not None and process.process.poll() is None
        log = process.log(lines=100_000)
    events = get_json(control_plane, "events", "-n", namespace)["items"]
    refused = permission_problems(log)
    print(
        f"rule writes back {rules_back:.1f}s and status writes back {status_back:.1f}s after "
        f"the ClusterRole was restored; {len(refused)} refusals logged; "
        f"{len(events)} Events in the namespace: "
        f"{sorted({(e['reason'], e['involvedObject']['name']) for e in events})}"
    )
    assert len(events) < 15
