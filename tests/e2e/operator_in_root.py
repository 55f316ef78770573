"""`slo-operator run` started from an image's root file system (the Dockerfile replay, or the
real image unpacked), as the image's user, against the local control plane: what both image
tests share, so each states only how it enters its root and what it checks inside."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from support import paths
from testkit import controlplane


def snapshot(root: Path, writable: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every path under root outside the writable mounts."""
    state = {}
    for path in root.rglob("*"):
        if any(path == mount or mount in path.parents for mount in writable):
            continue
        info = path.lstat()
        state[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns)
    return state


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def ready(plane: controlplane.ControlPlane, namespace: str, name: str) -> bool:
    result = plane.kubectl("get", "slo", name, "-n", namespace, "-o", "json", check=False)
    if result.returncode:
        return False
    conditions = json.loads(result.stdout).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@contextlib.contextmanager
def running_operator(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    health_port: int,
    control_plane: controlplane.ControlPlane,
    cwd: Path | None = None,
    timeout: float = 90,
) -> Iterator[subprocess.Popen[bytes]]:
    """The operator healthy (or the test fails with its log's tail); stopped afterwards, and
    the webhook configurations kopf created removed: they belong to no release."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            controlplane.wait_until(
                lambda: healthy(health_port) or process.poll() is not None,
                timeout=timeout,
                description="the operator's /healthz",
            )
            assert process.poll() is None, log_path.read_text()[-3000:]
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
            for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
                control_plane.kubectl("delete", kind, "slo-operator.slo.dev", "--ignore-not-found")


def apply_example_until_ready(
    control_plane: controlplane.ControlPlane, namespace: str, timeout: float
) -> str:
    """The chatbot example applied to ``namespace`` and Ready within ``timeout``; its name."""
    example = json.loads(
        control_plane.kubectl(
            "create", "--dry-run=client", "-o", "json", "-f",
            str(paths.EXAMPLES / "chatbot-latency.yaml"),
        ).stdout
    )  # fmt: skip
    example["metadata"]["namespace"] = namespace
    control_plane.apply(example)
    name: str = example["metadata"]["name"]
    controlplane.wait_until(
        lambda: ready(control_plane, namespace, name),
        timeout=timeout,
        description="the example SLO Ready",
    )
    return name
