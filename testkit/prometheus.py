"""A real Prometheus server on 127.0.0.1 for tests and benchmarks.

:class:`PrometheusServer` runs Debian's ``prometheus`` binary (2.42, ``hack/setup.sh``) on a
TSDB folder of your choice — typically one filled by :mod:`testkit.backfill` — with
a free port, a generated configuration (no scrape targets unless given; optional rule files) and
``--web.enable-lifecycle``; it waits for ``/-/ready`` and stops with SIGTERM, keeping the log::

    with PrometheusServer(tsdb_dir) as server:
        server.query_value('sum(increase(http_requests_total[30d]))', time=end)
        server.query_stats("rate(http_requests_total[5m])", time=end).total_queryable_samples

Behaviour of Prometheus 2.42 that tests rely on, each checked by
``tests/integration/test_synthetic_backfill.py``:

* Backfilled blocks may be far older than the wall clock: time retention counts from the newest
  block, not from now, but a server that also ingests live data (rule evaluation, scraping)
  would cut old blocks once they are older than the retention — hence the default ``3650d``.
* The head refuses live samples older than the newest block's end (the head's minimum valid
  time is set from the blocks at startup), so backfill no further than "now" if the server also
  evaluates rules live.
* An instant selector finds the last sample at most ``--query.lookback-delta`` (5m) before the
  query time, that bound included; a range selector ``x[w]`` at ``T`` holds samples in
  ``[T - w, T]``, both ends included.
* Blocks moved into the TSDB folder of a running server appear at its next block reload (every
  minute); :meth:`PrometheusServer.restart` shows them at once (startup takes well under a
  second for a month of data). Overlapping blocks are allowed and compacted in the background.
* ``stats=all`` on ``/api/v1/query`` reports ``samples.totalQueryableSamples``: the number of
  samples the query read from storage — our noise-free cost measure — and ``peakSamples``.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import socket
import subprocess
import tempfile
import time
import types
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import yaml

from . import processes

logger = logging.getLogger(__name__)

_LOG_TAIL_LINES: Final = 40


class PrometheusError(Exception):
    """Base of what the harness raises."""


class PrometheusFailed(PrometheusError):
    """The server exited or did not become ready; carries the tail of its log."""

    def __init__(self, reason: str, log_path: Path, log_tail: str) -> None:
        super().__init__(f"prometheus {reason}; last lines of {log_path}:\n{log_tail}")
        self.reason = reason
        self.log_path = log_path
        self.log_tail = log_tail


class QueryFailed(PrometheusError):
    """The HTTP API answered with an error (bad PromQL, timeout, too many samples, ...)."""

    def __init__(self, expr: str, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message} (query: {expr})")
        self.expr = expr
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector (or a scalar, with no labels)."""

    labels: Mapping[str, str]
    timestamp: float
    value: float


@dataclass(frozen=True)
class SeriesSamples:
    """One series of a range vector: ``(timestamp, value)`` pairs, ascending."""

    labels: Mapping[str, str]
    samples: tuple[tuple[float, float], ...]

    @property
    def timestamps(self) -> tuple[float, ...]:
        """The sample times."""
        return tuple(timestamp for timestamp, _ in self.samples)

    @property
    def values(self) -> tuple[float, ...]:
        """The sample values."""
        return tuple(value for _, value in self.samples)


@dataclass(frozen=True)
class QueryStats:
    """An instant query's result and what it cost (``stats=all``)."""

    result: tuple[Sample, ...]
    total_queryable_samples: int
    """Samples read from storage to answer the query: the noise-free cost measure."""
    peak_samples: int
    """Most samples held in memory at once."""
    eval_seconds: float
    """Wall time of the evaluation (noisy; for information)."""


def prometheus_binary() -> str:
    """The ``prometheus`` on PATH (Debian's, installed by ``hack/setup.sh``)."""
    return shutil.which("prometheus") or "/usr/bin/prometheus"


def promtool_binary() -> str:
    """The ``promtool`` on PATH (Debian's, installed by ``hack/setup.sh``)."""
    return shutil.which("promtool") or "/usr/bin/promtool"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _format_time(timestamp: float) -> str:
    return f"{timestamp:.3f}"


def _parse_value(raw: str) -> float:
    return float(raw)  # Prometheus writes "NaN", "+Inf", "-Inf", which float() accepts


class PrometheusAPI:
    """The Prometheus HTTP API (``/api/v1/...``) of whatever answers at :attr:`url`: Prometheus
    itself, or an engine speaking its API (VictoriaMetrics, Thanos Query; ``testkit.engines``).

    ``query_params`` are sent with every request, e.g. Thanos Query's ``dedup``.
    """

    query_params: Mapping[str, str] = types.MappingProxyType({})
    engine: str = ""
    """Which engine answers (a ``testkit.engines`` name), set by the engine's stack."""

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        raise NotImplementedError

    def check_alive(self) -> None:
        """Raise if the process behind :attr:`url` is known to have exited."""

    def api(self, path: str, params: Mapping[str, str], *, timeout: float = 300.0) -> Any:
        """``POST /api/v1/<path>`` with form ``params``; returns ``data`` or raises
        :class:`QueryFailed`."""
        body = urllib.parse.urlencode({**self.query_params, **params}).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v1/{path}",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                payload = json.loads(error.read())
            except ValueError:
                self.check_alive()
                raise QueryFailed(params.get("query", path), "http", str(error)) from error
        if payload.get("status") != "success":
            raise QueryFailed(
                params.get("query", path),
                str(payload.get("errorType", "unknown")),
                str(payload.get("error", payload)),
            )
        return payload

    def query(self, expr: str, time: float) -> list[Sample]:
        """Instant query at ``time`` (Unix seconds): the vector (or scalar) result."""
        return list(self._instant(expr, time, stats=False).result)

    def query_value(self, expr: str, time: float) -> float:
        """Instant query that must return exactly one sample; its value."""
        result = self.query(expr, time)
        if len(result) != 1:
            raise QueryFailed(expr, "cardinality", f"expected one sample, got {len(result)}")
        return result[0].value

    def query_stats(self, expr: str, time: float) -> QueryStats:
        """Instant query with ``stats=all``: the result plus samples read and peak samples."""
        return self._instant(expr, time, stats=True)

    def _instant(self, expr: str, time: float, *, stats: bool) -> QueryStats:
        params = {"query": expr, "time": _format_time(time)}
        if stats:
            params["stats"] = "all"
        payload = self.api("query", params)
        data = payload["data"]
        result_type = data["resultType"]
        samples: tuple[Sample, ...]
        if result_type == "vector":
            samples = tuple(
                Sample(item["metric"], float(item["value"][0]), _parse_value(item["value"][1]))
                for item in data["result"]
            )
        elif result_type == "scalar":
            samples = (Sample({}, float(data["result"][0]), _parse_value(data["result"][1])),)
        else:
            raise QueryFailed(expr, "type", f"{result_type} result; use query_matrix()")
        if not stats:
            return QueryStats(samples, 0, 0, math.nan)
        counted = data.get("stats", {})
        sample_stats = counted.get("samples")
        if sample_stats is None:
            raise QueryFailed(expr, "stats", f"no sample statistics in {counted}")
        return QueryStats(
            samples,
            int(sample_stats["totalQueryableSamples"]),
            int(sample_stats["peakSamples"]),
            float(counted.get("timings", {}).get("evalTotalTime", math.nan)),
        )

    def query_matrix(self, expr: str, time: float) -> list[SeriesSamples]:
        """Instant query of a range vector (``x[1h]``): the raw samples with their times."""
        data = self.api("query", {"query": expr, "time": _format_time(time)})["data"]
        if data["resultType"] != "matrix":
            raise QueryFailed(expr, "type", f"{data['resultType']} result, not a matrix")
        return [_series(item) for item in data["result"]]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[SeriesSamples]:
        """``/api/v1/query_range`` (at most 11,000 steps)."""
        data = self.api(
            "query_range",
            {
                "query": expr,
                "start": _format_time(start),
                "end": _format_time(end),
                "step": f"{step:g}",
            },
        )["data"]
        return [_series(item) for item in data["result"]]

    def series_count(self, selector: str, start: float, end: float) -> int:
        """Number of series matching ``selector`` with samples in ``[start, end]``."""
        payload = self.api(
            "series",
            {"match[]": selector, "start": _format_time(start), "end": _format_time(end)},
        )
        return len(payload["data"])


class APIEndpoint(PrometheusAPI):
    """The Prometheus HTTP API at a given URL (a process someone else runs)."""

    def __init__(self, url: str, query_params: Mapping[str, str] | None = None) -> None:
        self._url = url.rstrip("/")
        self.query_params = dict(query_params or {})

    @property
    def url(self) -> str:
        return self._url


class PrometheusServer(PrometheusAPI):
    """The ``prometheus`` binary on ``tsdb_dir`` at ``127.0.0.1:<free port>``.

    ``rule_files`` are loaded and evaluated live every ``evaluation_interval``;
    ``scrape_configs`` are Prometheus ``scrape_configs`` entries (none by default). The config,
    the log (``prometheus.log``, appended across restarts) and nothing else live in
    ``work_dir`` (a new temporary folder by default, kept after stop for post-mortems).
    """

    def __init__(
        self,
        tsdb_dir: Path,
        *,
        work_dir: Path | None = None,
        rule_files: Sequence[Path] = (),
        scrape_configs: Sequence[Mapping[str, Any]] = (),
        evaluation_interval: str = "1m",
        retention: str = "3650d",
        lookback_delta: str | None = None,
        query_timeout: str = "5m",
        extra_flags: Sequence[str] = (),
        startup_timeout: float = 60.0,
        binary: str | None = None,
        promtool: str | None = None,
        external_labels: Mapping[str, str] | None = None,
    ) -> None:
        self.tsdb_dir = Path(tsdb_dir)
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="prometheus-"))
        self.rule_files = tuple(Path(path).resolve() for path in rule_files)
        self.scrape_configs = tuple(dict(config) for config in scrape_configs)
        self.evaluation_interval = evaluation_interval
        self.retention = retention
        self.lookback_delta = lookback_delta
        self.query_timeout = query_timeout
        self.extra_flags = tuple(extra_flags)
        self.startup_timeout = startup_timeout
        self.binary = binary or prometheus_binary()
        self.promtool = promtool or promtool_binary()
        """The promtool of the same release: what backfills rules into this server."""
        self.external_labels = dict(external_labels or {})
        """``global.external_labels``: what a Thanos sidecar adds to every series it serves."""
        self.port = 0
        self.last_startup_seconds = math.nan
        """How long the last start took until ``/-/ready`` answered."""
        self._process: subprocess.Popen[bytes] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        if not self.port:
            raise PrometheusError("the server has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        """The generated ``prometheus.yml``."""
        return self.work_dir / "prometheus.yml"

    @property
    def log_path(self) -> Path:
        """Prometheus' own log (stdout and stderr)."""
        return self.work_dir / "prometheus.log"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

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
        if exc is not None:
            logger.info("prometheus log kept at %s", self.log_path)

    def write_config(self) -> None:
        """(Re)write ``prometheus.yml`` from the current attributes."""
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": "15s",
                "evaluation_interval": self.evaluation_interval,
                **({"external_labels": self.external_labels} if self.external_labels else {}),
            },
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [dict(config) for config in self.scrape_configs],
        }
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def start(self) -> None:
        """Start the server and wait until ``/-/ready`` answers; retry on a taken port."""
        if self.running:
            return
        self.write_config()
        self.tsdb_dir.mkdir(parents=True, exist_ok=True)
        # Keep the port across restarts, so URLs handed out stay valid; pick another only if
        # someone took it meanwhile.
        if not self.port:
            self.port = _free_port()
        for attempt in range(3):
            try:
                self._spawn_and_wait()
                return
            except PrometheusFailed as failure:
                if "address already in use" not in failure.log_tail or attempt == 2:
                    raise
                logger.info("port %d was taken; retrying on another", self.port)
                self.port = _free_port()

    def _spawn_and_wait(self) -> None:
        argv = [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.tsdb_dir}",
            f"--storage.tsdb.retention.time={self.retention}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            f"--query.timeout={self.query_timeout}",
            *([f"--query.lookback-delta={self.lookback_delta}"] if self.lookback_delta else []),
            *self.extra_flags,
        ]
        began = time.monotonic()
        with self.log_path.open("ab") as log_file:
            log_file.write(f"--- starting: {' '.join(argv)}\n".encode())
            log_file.flush()
        self._process = processes.spawn(argv, self.log_path, cwd=self.work_dir)
        deadline = began + self.startup_timeout
        while not self._ready():
            returncode = self._process.poll()
            if returncode is not None:
                raise PrometheusFailed(
                    f"exited with code {returncode} during startup",
                    self.log_path,
                    _log_tail(self.log_path),
                )
            if time.monotonic() > deadline:
                self.stop()
                raise PrometheusFailed(
                    f"not ready within {self.startup_timeout:.0f}s",
                    self.log_path,
                    _log_tail(self.log_path),
                )
            time.sleep(0.05)
        self.last_startup_seconds = time.monotonic() - began
        logger.info(
            "prometheus ready at %s in %.2fs (tsdb %s)",
            self.url,
            self.last_startup_seconds,
            self.tsdb_dir,
        )

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, ValueError):
            return False

    def stop(self, grace_seconds: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_seconds``; the log stays in ``work_dir``."""
        process = self._process
        if process is None:
            return
        processes.stop(process, "prometheus", grace_seconds)
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same TSDB folder and port: blocks moved in meanwhile
        become visible, a changed configuration applies."""
        self.stop()
        self.start()

    def reload(self) -> None:
        """``POST /-/reload``: re-read the configuration and rule files without a restart."""
        self.write_config()
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:
                raise PrometheusError(f"reload answered {response.status}")

    def check_alive(self) -> None:
        """Raise :class:`PrometheusFailed` if the process has exited."""
        if self._process is not None and self._process.poll() is not None:
            raise PrometheusFailed(
                f"exited with code {self._process.returncode}",
                self.log_path,
                _log_tail(self.log_path),
            )

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the server's log."""
        return _log_tail(self.log_path, lines)


def _series(item: Mapping[str, Any]) -> SeriesSamples:
    return SeriesSamples(
        item["metric"],
        tuple((float(point[0]), _parse_value(point[1])) for point in item["values"]),
    )
