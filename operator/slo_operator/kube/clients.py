"""The Kubernetes API client, from a kubeconfig or a pod's service account."""

from __future__ import annotations

from collections.abc import Callable

import kubernetes


def api_client(*, in_cluster_first: bool) -> kubernetes.client.ApiClient:
    """A client from the in-cluster service account or the current kubeconfig, the one that is
    tried first as said: the operator runs in a pod; the command line (`report`, `ui`) runs
    beside kubectl, or in a pod without a kubeconfig. Raises ConfigException when neither works."""
    loaders: list[Callable[[], None]] = [
        kubernetes.config.load_incluster_config,
        kubernetes.config.load_kube_config,
    ]
    if not in_cluster_first:
        loaders.reverse()
    try:
        loaders[0]()
    except kubernetes.config.ConfigException as first:
        try:
            loaders[1]()
        except kubernetes.config.ConfigException:
            # Neither: the preferred source's reason is the one to tell (a laptop without a
            # kubeconfig needs to hear about the kubeconfig, not about the service account).
            raise first from None
    return kubernetes.client.ApiClient()


def current_namespace() -> str:
    """The namespace of the kubeconfig's current context, as kubectl picks it."""
    try:
        _, active = kubernetes.config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except kubernetes.config.ConfigException:
        return "default"
    return str((active or {}).get("context", {}).get("namespace") or "default")
