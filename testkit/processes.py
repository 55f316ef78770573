"""Starting and stopping the processes the tests and the demo run: one way, used by all.

A child runs in its own session (process group), so a terminal's Ctrl-C reaches only the test
run, which then stops its children in order; stopping signals the whole group: SIGTERM, then
SIGKILL after a grace period. Started from the main thread, a child also gets
``setpriv --pdeathsig KILL``, so a test run killed outright leaves nothing behind.

The detached mode (``python -m testkit.controlplane up``, ``make demo``) runs a supervisor
process that outlives the command that started it; `SupervisorState` is the folder through which
the two talk: the supervisor's pid, its log, and a ``ready.json`` it publishes once ready.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

logger = logging.getLogger(__name__)


def pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL --`` when available, from the main thread only.

    The kernel ties the signal to the starting *thread*: a child started from a worker thread
    would die with that thread, so those children go without it.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", "KILL", "--"]


def spawn(
    argv: Sequence[str],
    log_path: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    die_with_parent: bool = True,
) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session, stdout and stderr appended to `log_path`."""
    prefix = pdeathsig_prefix() if die_with_parent else []
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [*prefix, *argv],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=None if env is None else dict(env),
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes], name: str, grace_seconds: float = 15.0) -> None:
    """SIGTERM to the process group, SIGKILL after `grace_seconds`; reaps the process.

    Whatever is left in the group afterwards (normally nothing) is killed too.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            logger.warning("%s ignored SIGTERM for %.0fs; killing it", name, grace_seconds)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def is_ours(pid: int, *markers: str) -> bool:
    """Whether ``pid`` is alive and its command line holds every marker (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    return all(marker.encode() in cmdline for marker in markers)


class Shutdown(BaseException):
    """Raised by a supervisor's signal handler to unwind through every context manager."""


def raise_shutdown_on_signals() -> None:
    """SIGTERM, SIGINT and SIGHUP raise `Shutdown` once; a second signal is ignored, so it
    cannot cut the teardown short."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        for handled in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(handled, signal.SIG_IGN)
        raise Shutdown(signum)

    for handled in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(handled, on_signal)


class SupervisorFailed(Exception):
    """The detached supervisor exited or was not ready in time; the message says which."""


@dataclass(frozen=True)
class SupervisorState:
    """The files of a detached ``python -m <module> serve`` supervisor kept in one folder."""

    folder: Path
    module: ClassVar[str]
    """The supervisor's module: its command line holds it (and ``serve``)."""

    @property
    def pid_file(self) -> Path:
        return self.folder / "supervisor.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / "supervisor.log"

    @property
    def ready_file(self) -> Path:
        return self.folder / "ready.json"

    def supervisor_pid(self) -> int | None:
        """The pid of a live supervisor, or None (no pid file, dead, or pid reused)."""
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if is_ours(pid, self.module, "serve") else None

    def ready(self) -> dict[str, Any] | None:
        """What the supervisor published once ready (ports, paths, pids), or None."""
        try:
            data: dict[str, Any] = json.loads(self.ready_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data

    def publish_ready(self, ready: Mapping[str, Any]) -> None:
        """Written by the supervisor, atomically: a reader sees all of it or nothing."""
        partial = self.ready_file.with_suffix(".tmp")
        partial.write_text(json.dumps(ready, indent=2))
        partial.replace(self.ready_file)

    def start_supervisor(self, *arguments: str) -> subprocess.Popen[bytes]:
        """``python -m <module> serve --state-dir <folder> <arguments>``, detached: its own
        session, so it outlives the command that started it and the terminal's Ctrl-C."""
        command = [sys.executable, "-m", self.module, "serve", "--state-dir", str(self.folder)]
        # It runs in its state folder, where `python -m` would not find the test kit: the
        # checkout that holds this file goes on its path.
        checkout = str(Path(__file__).resolve().parents[1])
        inherited = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": f"{checkout}:{inherited}" if inherited else checkout}
        with self.log_file.open("wb") as log:
            supervisor = subprocess.Popen(
                [*command, *arguments],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.folder,
                env=env,
            )
        self.pid_file.write_text(str(supervisor.pid))
        return supervisor

    def wait_until_ready(
        self, supervisor: subprocess.Popen[bytes], timeout: float, what: str
    ) -> dict[str, Any]:
        """Relays the supervisor's log to stderr until it is ready; `SupervisorFailed` if it
        exits or is not ready within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.log_file.open("rb") as log:
            while True:
                sys.stderr.write(log.read().decode(errors="replace"))
                sys.stderr.flush()
                if (ready := self.ready()) is not None:
                    return ready
                if supervisor.poll() is not None:
                    sys.stderr.write(log.read().decode(errors="replace"))
                    raise SupervisorFailed(
                        f"the {what} supervisor exited with code {supervisor.returncode} "
                        f"(log: {self.log_file})"
                    )
                if time.monotonic() > deadline:
                    raise SupervisorFailed(
                        f"the {what} was not ready within {timeout:.0f}s (log: {self.log_file})"
                    )
                time.sleep(0.2)

    def stop_supervisor(self, grace_seconds: float = 60.0) -> int | None:
        """SIGTERM to a live supervisor, SIGKILL to its group after the grace period; its pid,
        or None when none was running."""
        pid = self.supervisor_pid()
        if pid is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while self.supervisor_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.supervisor_pid() is not None:
            print(f"supervisor {pid} ignored SIGTERM; killing it", file=sys.stderr)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        return pid
