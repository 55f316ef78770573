"""The apiserver's own rate for the evaluation cycle's status patches: the reference the
operator's status writer is measured against.

The same merge patches (each SLO's whole status, what the first cycle writes) go to the status
subresource from a minimal client — aiohttp with the kubeconfig's client certificate, every body
serialised before the clock starts — at a fixed number of requests in flight. Before each round
(untimed) the statuses are removed, so each patch meets an object as the first cycle does: one
without a status. The CPU seconds of the kube-apiserver and etcd processes (children of this
process) are read from /proc around each timed round.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import pathlib
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import kubernetes

from slo_operator import GROUP, VERSION
from slo_operator.api import times
from slo_operator.kube import status_writer

MERGE_PATCH = "application/merge-patch+json"


def children_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of this process's children, by command name."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for task in pathlib.Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                name = pathlib.Path(f"/proc/{pid}/comm").read_text().strip()
                stat = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended in between
            found[name] = found.get(name, 0.0) + (int(stat[11]) + int(stat[12])) / tick
    return found


def cpu_spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds per child between two `children_cpu` readings."""
    return {name: after[name] - before.get(name, 0.0) for name in after}


def _ssl_context(kubeconfig: pathlib.Path) -> tuple[str, ssl.SSLContext]:
    """The server URL and a TLS context with the kubeconfig's CA and client certificate."""
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(kubeconfig), client_configuration=configuration
    )
    return configuration.host, status_writer.tls_context(configuration)


def _status_path(body: Mapping[str, Any]) -> str:
    metadata = body["metadata"]
    return (
        f"/apis/{GROUP}/{VERSION}/namespaces/{metadata['namespace']}"
        f"/servicelevelobjectives/{metadata['name']}/status"
    )


def patches(listed: Sequence[Mapping[str, Any]], at: datetime.datetime) -> list[tuple[str, bytes]]:
    """(path, body) of a status patch per listed SLO: its whole status, evaluated at `at`."""
    stamp = times.format_timestamp(at)
    return [
        (
            _status_path(body),
            json.dumps(
                {"status": {**(body.get("status") or {}), "lastEvaluationTime": stamp}}
            ).encode(),
        )
        for body in listed
    ]


def clearing(bodies: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Merge patches that remove the status of each object `bodies` patch."""
    return [(path, b'{"status": null}') for path, _ in bodies]


async def _send(
    host: str, context: ssl.SSLContext, bodies: list[tuple[str, bytes]], in_flight: int
) -> None:
    connector = aiohttp.TCPConnector(ssl=context, limit=in_flight)
    headers = {"Content-Type": MERGE_PATCH, "Accept": "application/json"}
    async with aiohttp.ClientSession(host, connector=connector, headers=headers) as session:
        queue = list(reversed(bodies))

        async def worker() -> None:
            while queue:
                path, data = queue.pop()
                async with session.patch(path, data=data) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"PATCH {path}: {response.status}")

        await asyncio.gather(*(worker() for _ in range(in_flight)))


def measure(
    kubeconfig: pathlib.Path, bodies: list[tuple[str, bytes]], in_flight: int
) -> dict[str, Any]:
    """Send `bodies` with `in_flight` requests at a time: patches per second and CPU seconds
    of this process, the apiserver and etcd."""
    host, context = _ssl_context(kubeconfig)
    asyncio.run(_send(host.removesuffix("/"), context, clearing(bodies), in_flight))
    before, cpu, began = children_cpu(), time.process_time(), time.monotonic()
    asyncio.run(_send(host.removesuffix("/"), context, bodies, in_flight))
    seconds = time.monotonic() - began
    spent = cpu_spent(before, children_cpu())
    return {
        "in_flight": in_flight,
        "patches": len(bodies),
        "seconds": seconds,
        "per_second": len(bodies) / seconds,
        "client_cpu_seconds": time.process_time() - cpu,
        "apiserver_cpu_seconds": spent.get("kube-apiserver", 0.0),
        "etcd_cpu_seconds": spent.get("etcd", 0.0),
        "load": os.getloadavg()[0],
    }
