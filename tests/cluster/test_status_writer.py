"""The evaluation loop's status writer against a real apiserver: what it writes, what it skips,
and how a refusal reads — with the admin's client certificate and with a ServiceAccount's
token (the operator's own way in a pod)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from slo_operator.evaluation import registry
from slo_operator.kube import status_writer
from testkit import controlplane

KIND = "ServiceLevelObjective"


def slo(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {
            "service": "checkout",
            "indicator": {"ratio": {"errors": 'req{code="500"}', "total": "req"}},
            "window": "1d",
            "objectives": [{"name": "standard", "target": 99.0}],
        },
    }


def patch(kubeconfig: Path, ref: registry.ObjectRef, *patches: Mapping[str, Any]) -> None:
    """Send `patches` one after another with one writer, as a cycle does, then close it."""
    writer = status_writer.KubernetesStatusWriter(
        kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    )

    async def send() -> None:
        try:
            for one in patches:
                await writer.patch_status(ref, one)
        finally:
            await writer.close()

    asyncio.run(send())


def status(plane: controlplane.ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    path = f"/apis/slo.dev/v1alpha1/namespaces/{namespace}/servicelevelobjectives/{name}"
    response = plane.api_request("GET", path)
    assert response.status == 200, response.body
    return dict(response.body.get("status") or {})


def test_merge_patches_change_only_the_fields_they_name(
    control_plane: controlplane.ControlPlane, kubeconfig: Path, namespace: str
) -> None:
    control_plane.apply(slo("checkout"), namespace=namespace)
    ref = registry.ObjectRef(KIND, namespace, "checkout")
    first = {"sli": 99.5, "errorBudgetRemainingPercent": 50.0, "burnRates": {"5m": 0.5}}
    patch(kubeconfig, ref, first, {"sli": 99.25, "burnRates": {"1h": 1.5}})
    assert status(control_plane, namespace, "checkout") == {
        "sli": 99.25,
        "errorBudgetRemainingPercent": 50.0,
        "burnRates": {"5m": 0.5, "1h": 1.5},
    }
    # The apiserver names the status fields' manager after the User-Agent of the Kubernetes
    # client, whichever way the patch travels.
    path = f"/apis/slo.dev/v1alpha1/namespaces/{namespace}/servicelevelobjectives/checkout"
    managers = control_plane.api_request("GET", path).body["metadata"]["managedFields"]
    agent = kubernetes.client.ApiClient().user_agent
    assert {"manager": agent.split("/")[0], "subresource": "status"} in [
        {"manager": entry["manager"], "subresource": entry.get("subresource")} for entry in managers
    ]


def test_an_object_deleted_since_the_snapshot_is_skipped(
    control_plane: controlplane.ControlPlane, kubeconfig: Path, namespace: str
) -> None:
    patch(kubeconfig, registry.ObjectRef(KIND, namespace, "gone"), {"sli": 99.5})
    response = control_plane.api_request(
        "GET", f"/apis/slo.dev/v1alpha1/namespaces/{namespace}/servicelevelobjectives/gone"
    )
    assert response.status == 404, "the patch created nothing"


def test_a_status_the_schema_refuses_names_the_field(
    control_plane: controlplane.ControlPlane, kubeconfig: Path, namespace: str
) -> None:
    control_plane.apply(slo("checkout"), namespace=namespace)
    ref = registry.ObjectRef(KIND, namespace, "checkout")
    with pytest.raises(status_writer.WriteRefused) as refused:
        patch(kubeconfig, ref, {"sli": "ninety-nine"})
    assert refused.value.status == 422
    assert "status.sli" in str(refused.value)
    assert status(control_plane, namespace, "checkout") == {}


def test_a_service_account_writes_with_its_token_and_rbac_decides(
    control_plane: controlplane.ControlPlane, namespace: str, tmp_path: Path
) -> None:
    control_plane.apply(slo("checkout"), namespace=namespace)
    control_plane.create_service_account(namespace, "writer")
    token = control_plane.service_account_token(namespace, "writer")
    config = control_plane.write_token_kubeconfig(token, tmp_path / "kubeconfig")
    ref = registry.ObjectRef(KIND, namespace, "checkout")
    with pytest.raises(status_writer.WriteRefused) as refused:
        patch(config, ref, {"sli": 99.5})
    assert refused.value.status == 403
    assert 'cannot patch resource "servicelevelobjectives/status"' in str(refused.value)
    assert f"system:serviceaccount:{namespace}:writer" in str(refused.value)
    control_plane.kubectl(
        "create", "role", "status-writer", "--namespace", namespace,
        "--verb=patch", "--resource=servicelevelobjectives.slo.dev/status",
    )  # fmt: skip
    control_plane.kubectl(
        "create", "rolebinding", "status-writer", "--namespace", namespace,
        "--role=status-writer", f"--serviceaccount={namespace}:writer",
    )  # fmt: skip
    patch(config, ref, {"sli": 99.5})
    assert status(control_plane, namespace, "checkout") == {"sli": 99.5}
