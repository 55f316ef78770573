"""Reading SLO and SLA objects from the cluster for the command line (`slo-operator report`).

The current kubeconfig (or the in-cluster service account), one list call per kind; the bodies
come back without their status, as manifests, so the command line validates them exactly as it
validates `-f` files.
"""

from __future__ import annotations

from typing import Any

import kubernetes

from ..api import crd


def current_namespace() -> str:
    """The namespace of the kubeconfig's current context, as kubectl picks it."""
    try:
        _, active = kubernetes.config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        return "default"
    return str((active or {}).get("context", {}).get("namespace") or "default")


def _api_client() -> kubernetes.client.ApiClient:
    try:
        kubernetes.config.load_kube_config()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        kubernetes.config.load_incluster_config()  # type: ignore[no-untyped-call]
    return kubernetes.client.ApiClient()


def list_manifests(namespace: str | None) -> list[dict[str, Any]]:
    """Every SLO and SLA in `namespace` (None: all namespaces), as manifests without status.

    Raises kubernetes' ConfigException or ApiException; the caller says what went wrong.
    """
    with _api_client() as api_client:
        custom = kubernetes.client.CustomObjectsApi(api_client)
        manifests: list[dict[str, Any]] = []
        for kind in crd.KINDS:
            found: Any
            if namespace is None:
                found = custom.list_cluster_custom_object(crd.GROUP, crd.VERSION, kind.plural)
            else:
                found = custom.list_namespaced_custom_object(
                    crd.GROUP, crd.VERSION, namespace, kind.plural
                )
            for item in found.get("items") or []:
                metadata = item.get("metadata") or {}
                manifests.append(
                    {
                        "apiVersion": item.get("apiVersion"),
                        "kind": item.get("kind") or kind.kind,
                        "metadata": {
                            "name": metadata.get("name"),
                            "namespace": metadata.get("namespace"),
                            "labels": metadata.get("labels") or {},
                        },
                        "spec": item.get("spec"),
                    }
                )
    return manifests
