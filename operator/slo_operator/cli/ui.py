"""`slo-operator ui`: the read-only web UI of the cluster's SLOs and SLAs, from the kubeconfig."""

from __future__ import annotations

import argparse

from . import common


# The arguments are declared here, not in `ui.standalone`: building the parser of every verb
# must not import the Kubernetes client and aiohttp (a second of every command's start).
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, required=True, help="port to serve the UI on")
    parser.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    backends = parser.add_mutually_exclusive_group()
    backends.add_argument(
        "--prometheus-url", help="Prometheus-compatible backend for the charts and alerts"
    )
    backends.add_argument(
        "--backends-file",
        metavar="FILE",
        help="the operator's backends file (named backends, auth, TLS, allow-lists)",
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", help="namespace to show (default: the context's)")
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="SLOs and SLAs of every namespace"
    )


def run(args: argparse.Namespace) -> int:
    # Imported here: the Kubernetes client and aiohttp are heavy, and only this verb needs them.
    from ..kube import clients
    from ..ui import standalone

    return standalone.run(
        args,
        connect=lambda: clients.api_client(in_cluster_first=False),
        context_namespace=clients.current_namespace,
    )


VERB = common.Verb(
    "ui",
    "serve the read-only web UI of the cluster's SLOs and SLAs (current kubeconfig)",
    add_arguments,
    run,
)
