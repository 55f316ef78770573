"""`slo-operator ui`: the web UI from a laptop, on the current kubeconfig's cluster.

The same pages as the operator's UI port; the objects come from this process' own list+watch
(`watch.Watcher`) of one namespace or all, and the chart series from the backends given here.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable

import kubernetes

from ..backends import backend_config
from ..evaluation import registry
from . import server, watch

FIRST_LISTING_SECONDS = 30.0


Connect = Callable[[], kubernetes.client.ApiClient]
"""The cluster connection: `kube.clients.api_client`, handed in by `cli.ui`, because the web UI
sits below `kube` in the import layers (pyproject.toml) and may not import it."""


def run(args: argparse.Namespace, connect: Connect, context_namespace: Callable[[], str]) -> int:
    """Serve until interrupted; 1 with a reason when the cluster or the backends cannot be used.

    `context_namespace` is the kubeconfig context's namespace, shown without `-n` or `-A`."""
    if not 0 < args.port < 65536:
        print(f"slo-operator ui: --port: {args.port} is not a TCP port", file=sys.stderr)
        return 2
    try:
        backends = backend_config.load(args.prometheus_url, args.backends_file)
    except ValueError as error:
        print(f"slo-operator ui: --backends-file: {error}", file=sys.stderr)
        return 1
    try:
        api_client = connect()
    except kubernetes.config.ConfigException as error:
        print(f"slo-operator ui: no cluster to read from: {error}", file=sys.stderr)
        return 1
    namespace = None if args.all_namespaces else (args.namespace or context_namespace())
    scope = "all namespaces" if namespace is None else f"namespace {namespace}"
    return asyncio.run(_serve(args, api_client, namespace, scope, backends))


async def _serve(
    args: argparse.Namespace,
    api_client: kubernetes.client.ApiClient,
    namespace: str | None,
    scope: str,
    backends: backend_config.Backends,
) -> int:
    objects = registry.Registry()
    loop = asyncio.get_running_loop()
    watcher = watch.Watcher(objects, namespace, loop, api_client)
    watcher.start()
    listed = await asyncio.to_thread(watcher.wait_listed, FIRST_LISTING_SECONDS)
    if not listed:
        watcher.stop()
        reasons = "; ".join(watcher.errors.values()) or "no answer"
        print(f"slo-operator ui: cannot list SLOs and SLAs ({scope}): {reasons}", file=sys.stderr)
        return 1
    app = server.build_app(objects, backends or None, scope=scope)
    try:
        runner = await server.start(app, args.address, args.port)
    except OSError as error:
        watcher.stop()
        print(
            f"slo-operator ui: cannot listen on {args.address}:{args.port}: {error}",
            file=sys.stderr,
        )
        return 1
    print(f"slo-operator ui: serving {scope} on http://{args.address}:{args.port}/", flush=True)
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    watcher.stop()
    await runner.cleanup()
    return 0
