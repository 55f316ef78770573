"""The control plane is real: version, CRDs, RBAC, TokenRequest, garbage collection, dry-run,
and a harness that cleans up after itself."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from testkit import controlplane
from testkit.controlplane import ControlPlane

pytestmark = pytest.mark.cluster

PROMETHEUS_OPERATOR_CRDS = [
    "podmonitors.monitoring.coreos.com",
    "prometheusrules.monitoring.coreos.com",
    "servicemonitors.monitoring.coreos.com",
]


def crd_documents() -> list[dict[str, Any]]:
    """The CustomResourceDefinitions committed in crds/ (generated from the API models)."""
    documents = []
    for path in sorted((controlplane.REPO_ROOT / "crds").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document.get("kind") == "CustomResourceDefinition":
                documents.append(document)
    return documents


def established(control_plane: ControlPlane, crd_name: str) -> str:
    crd = control_plane.kubectl_json("get", "customresourcedefinition", crd_name)
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    return str(conditions.get("Established"))


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (a work dir, say)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


# -- the apiserver and its CRDs ----------------------------------------------------------------


def test_apiserver_reports_the_pinned_release(control_plane: ControlPlane) -> None:
    pinned = controlplane.read_versions()["K8S_VERSION"]
    assert pinned == "v1.34.4"

    response = control_plane.api_request("GET", "/version")

    assert response.status == 200
    assert response.body["gitVersion"] == pinned
    client = json.loads(control_plane.kubectl("version", "--client", "-o", "json").stdout)
    assert client["clientVersion"]["gitVersion"] == pinned


def test_warm_start_does_not_rebuild(control_plane: ControlPlane) -> None:
    """Started from the cached binaries: seconds, where a rebuild takes tens of minutes. The
    bound is loose on purpose (a loaded CI machine took 20 s); the start time itself is a
    figure for the docs, not a test."""
    assert control_plane.startup_seconds is not None
    assert control_plane.startup_seconds < 180


@pytest.mark.parametrize("crd_name", PROMETHEUS_OPERATOR_CRDS)
def test_prometheus_operator_crds_are_established(
    control_plane: ControlPlane, crd_name: str
) -> None:
    assert crd_name in control_plane.crd_names
    assert established(control_plane, crd_name) == "True"


def test_prometheus_rule_schema_is_enforced(control_plane: ControlPlane, namespace: str) -> None:
    rule: dict[str, Any] = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "probe"},
        "spec": {"groups": [{"name": "g", "rules": [{"record": "r", "expr": "vector(1)"}]}]},
    }
    control_plane.apply(rule, namespace=namespace)
    stored = control_plane.kubectl_json("get", "prometheusrule", "probe", "-n", namespace)
    assert stored["spec"]["groups"][0]["rules"][0]["expr"] == "vector(1)"

    rule["metadata"]["name"] = "broken"
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    refused = control_plane.kubectl(
        "apply", "--server-side", "-n", namespace, "-f", "-", stdin=json.dumps(rule), check=False
    )

    assert refused.returncode != 0
    assert "spec.groups[0].rules[0].expr: Required value" in refused.stderr


def test_our_crds_are_established_and_documented(control_plane: ControlPlane) -> None:
    documents = crd_documents()
    assert documents, "crds/ holds no CRDs: run `make crds`"
    for document in documents:
        name = document["metadata"]["name"]
        assert name in control_plane.crd_names
        assert established(control_plane, name) == "True"
    if any(d["spec"]["names"]["kind"] == "ServiceLevelObjective" for d in documents):
        explained = control_plane.kubectl("explain", "servicelevelobjective.spec").stdout
        assert "FIELDS:" in explained
        assert "objectives" in explained


# -- authentication and authorization -----------------------------------------------------------


def test_rbac_refuses_a_service_account_without_rights(
    control_plane: ControlPlane, namespace: str
) -> None:
    control_plane.create_service_account(namespace, "reader")
    token = control_plane.service_account_token(namespace, "reader")
    path = f"/api/v1/namespaces/{namespace}/configmaps"

    refused = control_plane.api_request("GET", path, token=token)

    assert refused.status == 403
    assert refused.body["reason"] == "Forbidden"
    assert f"system:serviceaccount:{namespace}:reader" in refused.body["message"]

    # The same token works once a Role grants the right: the 403 was RBAC, not a broken token.
    control_plane.kubectl(
        "create", "role", "read-configmaps", "--verb=list", "--resource=configmaps", "-n", namespace
    )
    control_plane.kubectl(
        "create", "rolebinding", "reader", "--role=read-configmaps",
        f"--serviceaccount={namespace}:reader", "-n", namespace,
    )  # fmt: skip
    controlplane.wait_until(
        lambda: control_plane.api_request("GET", path, token=token).status == 200,
        timeout=30,
        description="the RoleBinding takes effect",
    )
    elsewhere = control_plane.api_request(
        "GET", "/api/v1/namespaces/default/configmaps", token=token
    )
    assert elsewhere.status == 403


def test_token_request_mints_a_token_the_apiserver_accepts(
    control_plane: ControlPlane, namespace: str
) -> None:
    control_plane.create_service_account(namespace, "operator")

    token = control_plane.service_account_token(namespace, "operator", duration_seconds=600)

    claims = jwt_claims(token)
    assert claims["sub"] == f"system:serviceaccount:{namespace}:operator"
    assert claims["iss"] == control_plane.server_url
    assert claims["exp"] - claims["iat"] == 600
    review = control_plane.api_request(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        token=token,
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert review.status == 201
    user = review.body["status"]["userInfo"]
    assert user["username"] == f"system:serviceaccount:{namespace}:operator"
    assert f"system:serviceaccounts:{namespace}" in user["groups"]


def test_token_for_another_audience_is_not_accepted(
    control_plane: ControlPlane, namespace: str
) -> None:
    control_plane.create_service_account(namespace, "operator")
    token = control_plane.service_account_token(namespace, "operator", audiences=["vault"])

    assert jwt_claims(token)["aud"] == ["vault"]
    assert control_plane.api_request("GET", "/api", token=token).status == 401


def test_token_kubeconfig_acts_as_the_service_account(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    control_plane.create_service_account(namespace, "operator")
    token = control_plane.service_account_token(namespace, "operator")
    config = control_plane.write_token_kubeconfig(
        token, tmp_path / "kubeconfig", namespace=namespace
    )

    who = control_plane.kubectl("auth", "whoami", "-o", "json", kubeconfig=config)
    listed = control_plane.kubectl("get", "configmaps", kubeconfig=config, check=False)

    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{namespace}:operator"
    )
    assert listed.returncode != 0
    assert "Forbidden" in listed.stderr


# -- controllers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cascade", "dependent_survives"),
    [("background", False), ("foreground", False), ("orphan", True)],
)
def test_garbage_collector_follows_owner_references(
    control_plane: ControlPlane, namespace: str, cascade: str, dependent_survives: bool
) -> None:
    control_plane.kubectl("create", "configmap", "owner", "-n", namespace)
    owner_uid = control_plane.kubectl_json("get", "configmap", "owner", "-n", namespace)[
        "metadata"
    ]["uid"]
    control_plane.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "dependent",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner_uid}
                ],
            },
        },
        namespace=namespace,
    )

    control_plane.kubectl(
        "delete", "configmap", "owner", "-n", namespace, f"--cascade={cascade}", "--timeout=60s"
    )

    if dependent_survives:
        # Orphaning is the garbage collector's work too: it strips the ownerReference.
        controlplane.wait_until(
            lambda: (
                not control_plane.kubectl_json("get", "configmap", "dependent", "-n", namespace)[
                    "metadata"
                ].get("ownerReferences")
            ),
            timeout=60,
            description="the orphaned dependent loses its ownerReference",
        )
    else:
        control_plane.kubectl(
            "wait", "--for=delete", "configmap/dependent", "-n", namespace, "--timeout=60s",
            timeout=70,
        )  # fmt: skip
        gone = control_plane.kubectl("get", "configmap", "dependent", "-n", namespace, check=False)
        assert "NotFound" in gone.stderr


def test_namespace_controller_empties_a_deleted_namespace(control_plane: ControlPlane) -> None:
    name = control_plane.create_namespace(prefix="doomed")
    control_plane.kubectl("create", "configmap", "content", "-n", name)

    control_plane.delete_namespace(name, wait=True, timeout=60)

    gone = control_plane.kubectl("get", "namespace", name, check=False)
    assert "NotFound" in gone.stderr


# -- server-side dry-run -------------------------------------------------------------------------


def test_server_side_dry_run_validates_without_persisting(
    control_plane: ControlPlane, namespace: str
) -> None:
    created = control_plane.kubectl_json(
        "create", "configmap", "probe", "--from-literal=k=v", "-n", namespace, "--dry-run=server"
    )
    assert created["metadata"]["uid"]  # filled in by the apiserver, not by kubectl
    assert created["data"] == {"k": "v"}
    missing = control_plane.kubectl("get", "configmap", "probe", "-n", namespace, check=False)
    assert "NotFound" in missing.stderr

    invalid = control_plane.kubectl(
        "create", "configmap", "Not_A_Name", "-n", namespace, "--dry-run=server", check=False
    )
    assert invalid.returncode != 0
    assert "metadata.name: Invalid value" in invalid.stderr


# -- the harness cleans up -----------------------------------------------------------------------

HOLD_OPEN = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    from testkit.controlplane import ControlPlane

    with ControlPlane(work_dir=Path(os.environ["WORK_DIR"]), crd_paths=[]):
        print("ready", flush=True)
        time.sleep(600)
    """
)


def start_held_control_plane(work_dir: Path) -> subprocess.Popen[str]:
    # The work dir goes in the environment, not argv, so only the components mention it.
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN],
        env={**os.environ, "WORK_DIR": str(work_dir)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    assert len(processes_mentioning(str(work_dir))) == 3  # etcd, apiserver, controller-manager
    return process


def test_sigterm_stops_the_components_and_removes_the_work_dir(tmp_path: Path) -> None:
    work_dir = tmp_path / "plane"
    process = start_held_control_plane(work_dir)

    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)

    assert processes_mentioning(str(work_dir)) == []
    assert not work_dir.exists()


def test_components_die_with_a_killed_parent(tmp_path: Path) -> None:
    work_dir = tmp_path / "plane"
    process = start_held_control_plane(work_dir)

    process.kill()  # no cleanup code runs: the kernel's parent-death signal must do it
    process.wait(timeout=10)

    controlplane.wait_until(
        lambda: not processes_mentioning(str(work_dir)),
        timeout=30,
        description="components exit after their parent was killed",
    )


def test_failed_start_cleans_up_and_names_the_cause(tmp_path: Path) -> None:
    work_dir = tmp_path / "plane"
    broken_crd = tmp_path / "broken.yaml"
    broken_crd.write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n")

    with (
        pytest.raises(controlplane.KubectlFailed, match="name"),
        ControlPlane(work_dir=work_dir, crd_paths=[broken_crd]),
    ):
        pytest.fail("start should have failed")

    assert processes_mentioning(str(work_dir)) == []
    assert not work_dir.exists()


def test_up_and_down_from_the_shell(tmp_path: Path) -> None:
    env = {**os.environ, "SLO_OPERATOR_CLUSTER_DIR": str(tmp_path / "cluster")}
    env.pop("KUBECONFIG", None)
    command = [sys.executable, "-m", "testkit.controlplane"]

    def run(verb: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, verb], env=env, capture_output=True, text=True, timeout=240, check=False
        )

    try:
        up = run("up")
        assert up.returncode == 0, up.stderr
        lines = up.stdout.splitlines()
        assert lines[0].startswith("export KUBECONFIG=")
        assert lines[1].startswith("export PATH=")
        shell = subprocess.run(
            ["bash", "-c", 'eval "$1"; kubectl get namespace default -o name; command -v helm',
             "bash", up.stdout],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert shell.returncode == 0, shell.stderr
        assert shell.stdout.splitlines()[0] == "namespace/default"
        assert shell.stdout.splitlines()[1].endswith("/helm")

        again = run("up")
        assert again.returncode == 0, again.stderr
        assert again.stdout == up.stdout
        assert "already running" in again.stderr
    finally:
        down = run("down")

    assert down.returncode == 0, down.stderr
    assert processes_mentioning(str(tmp_path / "cluster")) == []
    assert not (tmp_path / "cluster").exists()
    assert run("status").returncode == 1
