"""Running `slo-operator run` as a real process, for tests, benchmarks and the demo."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from . import processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_PRELOADED = """\
import json, os, pathlib, sys, time
from slo_operator import cli
from slo_operator.kube import operator
go = pathlib.Path(sys.argv[1])
while not go.exists():
    time.sleep(0.01)
os.environ.update(json.loads(go.read_text()))
sys.exit(cli.main(sys.argv[2:]))
"""
"""`slo-operator run` with its modules imported ahead, waiting for the file that says go (and
holds environment variables to add): what `OperatorProcess.preload` runs."""


class OperatorProcess:
    """`slo-operator run ARGS` with its own metrics, health, webhook and (optional) UI ports.

    The log is kept in `log_path`; `stop()` sends SIGTERM (kopf's graceful shutdown) first.
    """

    def __init__(
        self,
        args: Sequence[str],
        *,
        kubeconfig: Path,
        env: Mapping[str, str] | None = None,
        webhook: bool = True,
        log_dir: Path | None = None,
        ui: bool = False,
    ) -> None:
        self.metrics_port = free_port()
        self.ui_port = free_port() if ui else 0
        self.health_port = free_port()
        self.webhook_port = free_port() if webhook else 0
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="slo-operator-run-"))
        self.log_path = self.log_dir / f"operator-{self.metrics_port}.log"
        self.args = [
            *args,
            f"--metrics-port={self.metrics_port}",
            f"--health-port={self.health_port}",
        ]
        if ui:
            self.args.append(f"--ui-port={self.ui_port}")
        if webhook:
            self.args += [
                f"--webhook-port={self.webhook_port}",
                "--webhook-host=127.0.0.1",
                f"--webhook-cert-dir={self.log_dir / 'webhook-certs'}",
            ]
        self.environ = {**os.environ, **(env or {}), "KUBECONFIG": str(kubeconfig)}
        self.process: subprocess.Popen[bytes] | None = None
        self._go: Path | None = None

    def preload(self) -> None:
        """Spawns the process and imports the operator's modules, but runs nothing until
        `start()`: for tests that start the operator many times in a row (the imports of the
        next one overlap the life of the current one)."""
        self._go = self.log_dir / f"go-{self.metrics_port}"
        self.process = processes.spawn(
            [sys.executable, "-c", _PRELOADED, str(self._go), "run", *self.args],
            self.log_path,
            env=self.environ,
        )

    def start(self, timeout: float = 30.0, env: Mapping[str, str] | None = None) -> None:
        """Runs the operator (a preloaded one is told to go, with `env` added to its
        environment) and waits until it reports healthy."""
        if self._go is not None and self.process is not None:
            ready = self._go.with_suffix(".json")
            ready.write_text(json.dumps(dict(env or {})))
            ready.rename(self._go)
        else:
            executable = shutil.which("slo-operator", path=str(Path(sys.executable).parent))
            command = [executable] if executable else [sys.executable, "-m", "slo_operator.cli"]
            self.process = processes.spawn(
                [*command, "run", *self.args],
                self.log_path,
                env={**self.environ, **(env or {})},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"operator exited with {self.process.returncode}:\n{self.log()}")
            if self.healthy():
                return
            time.sleep(0.2)
        raise TimeoutError(f"operator not healthy after {timeout}s:\n{self.log()}")

    def healthy(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def metrics(self, timeout: float = 5.0) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return str(response.read().decode())

    def metric_sum(self, name: str, text: str | None = None, **labels: str) -> float:
        """Sum of a metric's samples whose labels include `labels`, in `text` (one scrape of
        `metrics()`) or in a new scrape."""
        total = 0.0
        for line in (self.metrics() if text is None else text).splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            if series.split("{")[0] != name:
                continue
            if all(f'{key}="{val}"' in series for key, val in labels.items()):
                total += float(value)
        return total

    def log(self, lines: int = 80) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        processes.stop(self.process, "slo-operator", timeout)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
