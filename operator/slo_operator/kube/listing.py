"""Reading SLO and SLA objects from the cluster for the command line (`slo-operator report`).

The current kubeconfig (or the in-cluster service account), one list call per kind; the bodies
come back without their status, as manifests, so the command line validates them exactly as it
validates `-f` files.
"""

from __future__ import annotations

from typing import Any

import kubernetes

from ..api import crd
from . import clients

current_namespace = clients.current_namespace


def list_manifests(namespace: str | None) -> list[dict[str, Any]]:
    """Every SLO and SLA in `namespace` (None: all namespaces), as manifests without status.

    Raises kubernetes' ConfigException or ApiException; the caller says what went wrong.
    """
    with clients.api_client(in_cluster_first=False) as api_client:
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
