"""The Kubernetes API client, from a kubeconfig or a pod's service account."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import kubernetes


def api_client(*, in_cluster_first: bool) -> kubernetes.client.ApiClient:
    """A client from the in-cluster service account or the current kubeconfig, the one that is
    tried first as said: the operator runs in a pod; the command line (`report`, `ui`) runs
    beside kubectl, or in a pod without a kubeconfig. Raises ConfigException when neither works."""
    loaders: list[Callable[[], None]] = [
        kubernetes.config.load_incluster_config,
        functools.partial(kubernetes.config.load_kube_config, config_file=_kubeconfig()),
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
        _, active = kubernetes.config.list_kube_config_contexts(  # type: ignore[no-untyped-call]
            config_file=_kubeconfig()
        )
    except kubernetes.config.ConfigException:
        return "default"
    return str((active or {}).get("context", {}).get("namespace") or "default")


def _kubeconfig() -> str | None:
    """`KUBECONFIG` as it is now (a list of files like kubectl's), or None for ~/.kube/config.

    The client library reads the variable once, when it is imported; a program that sets it
    later (a test, a wrapper that starts a cluster) would otherwise be told of a file it never
    named."""
    return os.environ.get("KUBECONFIG") or None
