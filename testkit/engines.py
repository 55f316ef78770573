"""The metrics engines the accuracy suite runs on, each holding the same synthetic data.

An :class:`EngineStack` is one engine on 127.0.0.1 with the synthetic month loaded, that can
evaluate recording rules over a past range and answers the Prometheus HTTP API
(:class:`~testkit.prometheus.PrometheusAPI`) — what ``slo-operator evaluate`` and the tests read::

    with engines.start("victoriametrics", data, work_dir) as stack:
        stack.backfill_rules([rule_file], start, end)
        stack.api.query_value("sum(slo:sli_total:sum)", end)

Engines (``docs/engines.md`` has the matrix):

``prometheus2``
    Debian's Prometheus 2.42 and its promtool (``hack/setup.sh``): data and rules backfilled
    with ``promtool tsdb create-blocks-from`` (:mod:`testkit.backfill`).
``prometheus3``
    Prometheus 3 built from its Go module (``hack/build-engines.sh``), the same way with its own
    promtool: blocks written by the release that reads them.
``victoriametrics``
    single-node VictoriaMetrics; the data imported through its ``/api/v1/import`` API, the rules
    replayed by ``vmalert -replay``, which writes the recorded series back by remote write.
``thanos``
    two Prometheus 3 shards (tenants split between them; one shard as two replicas) behind Thanos
    sidecars, ``thanos query`` over them (deduplicating the replicas, no partial responses), and
    ``thanos rule`` holding the recorded series: the rules are evaluated over Thanos Query, as the
    ruler does, by ``promtool tsdb create-blocks-from rules`` and the blocks handed to the ruler.

Binaries other than Debian's are built on first use by ``hack/build-engines.sh`` into
``~/.cache/slo-operator/engines/`` (minutes, once per version).
"""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self

from . import backfill, processes, prometheus, synthetic

logger = logging.getLogger(__name__)

Engine = Literal["prometheus2", "prometheus3", "victoriametrics", "thanos"]
ENGINES: Final[tuple[Engine, ...]] = ("prometheus2", "prometheus3")
"""The engines the accuracy suite runs on."""
REPO: Final = Path(__file__).resolve().parent.parent
_BUILT: dict[str, Path] = {}


class EngineError(Exception):
    """An engine could not be built, started or fed; carries what it said."""


def engine_dir(name: str) -> Path:
    """The cache folder of one engine's binaries, built on first use (``hack/build-engines.sh``
    NAME: prometheus3, victoriametrics, thanos or prometheus-operator)."""
    if name in _BUILT:
        return _BUILT[name]
    completed = subprocess.run(
        ["bash", str(REPO / "hack" / "build-engines.sh"), name],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode:
        raise EngineError(f"hack/build-engines.sh {name} failed:\n{completed.stderr[-4000:]}")
    for line in completed.stdout.splitlines():
        key, _, value = line.partition("=")
        if key == name:
            _BUILT[name] = Path(value)
            return _BUILT[name]
    raise EngineError(f"hack/build-engines.sh {name} printed no folder: {completed.stdout!r}")


def prometheus3_binaries() -> tuple[str, str]:
    """``(prometheus, promtool)`` of Prometheus 3."""
    folder = engine_dir("prometheus3")
    return str(folder / "prometheus"), str(folder / "promtool")


def _free_port() -> int:
    return prometheus._free_port()


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, ValueError):
            pass
        if process.poll() is not None:
            raise EngineError(f"{process.args!r} exited with {process.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise EngineError(f"{url} not ready within {timeout:.0f}s:\n{_tail(log)}")
        time.sleep(0.1)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


@dataclass
class Process:
    """One engine process with its log file; stopped with SIGTERM, then SIGKILL."""

    argv: Sequence[str]
    log: Path
    ready_url: str | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, timeout: float = 60.0) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.popen = processes.spawn(self.argv, self.log)
        if self.ready_url:
            _wait_http(self.ready_url, self.popen, self.log, timeout)

    def stop(self, grace_seconds: float = 30.0) -> None:
        popen, self.popen = self.popen, None
        if popen is not None:
            processes.stop(popen, Path(self.argv[0]).name, grace_seconds)

    def restart(self) -> None:
        self.stop()
        self.start()


class EngineStack:
    """One engine holding the synthetic data; see the module docstring."""

    engine: Engine
    api: prometheus.PrometheusAPI

    def backfill_rules(self, rule_files: Sequence[Path], start: float, end: float) -> None:
        """Evaluate the recording rules of ``rule_files`` every minute over ``[start, end]`` the
        way this engine evaluates rules, leaving the recorded series queryable at :attr:`api`."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop every process; logs stay in the work folder."""
        raise NotImplementedError

    def log_tails(self) -> str:
        """The last lines of every process' log, for a failed test."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None:
            print(self.log_tails())
        self.stop()


# --- Prometheus 2 and 3 -------------------------------------------------------------------------


class PrometheusStack(EngineStack):
    """One Prometheus on blocks its own promtool wrote; rules backfilled by that promtool."""

    def __init__(
        self, engine: Engine, data: synthetic.SyntheticData, work_dir: Path, *, data_blocks: Path
    ) -> None:
        self.engine = engine
        if engine == "prometheus3":
            binary, promtool = prometheus3_binaries()
        else:
            binary, promtool = prometheus.prometheus_binary(), prometheus.promtool_binary()
        tsdb = work_dir / "tsdb"
        backfill.link_blocks(data_blocks, tsdb)
        self.server = prometheus.PrometheusServer(
            tsdb, work_dir=work_dir / "prometheus", binary=binary, promtool=promtool
        )
        self.api = self.server
        self.work_dir = work_dir
        self.server.start()

    def backfill_rules(self, rule_files: Sequence[Path], start: float, end: float) -> None:
        backfill.backfill_rules(rule_files, start, end, self.server, work_dir=self.work_dir)

    def stop(self) -> None:
        self.server.stop()

    def log_tails(self) -> str:
        return f"--- {self.server.log_path}\n{self.server.log_tail()}"


def synthetic_blocks(engine: Engine, data: synthetic.SyntheticData) -> Path:
    """Cached blocks of ``data`` written by the engine's own promtool (Prometheus 3 for the
    Thanos shards); VictoriaMetrics needs none."""
    if engine == "prometheus2":
        return backfill.cached_synthetic_blocks(data)
    return backfill.cached_synthetic_blocks(data, promtool=prometheus3_binaries()[1])


# --- VictoriaMetrics ----------------------------------------------------------------------------

_IMPORT_CHUNK_SAMPLES: Final = 500_000


class VictoriaMetricsStack(EngineStack):
    """Single-node VictoriaMetrics; rules replayed with ``vmalert -replay``.

    Flags that make it answer like Prometheus on historical data, each needed:

    * ``-search.disableCache``: the rollup cache would keep answers computed before ``vmalert``
      wrote the recorded series into the past;
    * ``-search.latencyOffset=0s``: nothing here is "too recent" to be read;
    * ``-retentionPeriod=100y``: the synthetic month is in the past.
    """

    def __init__(self, data: synthetic.SyntheticData, work_dir: Path) -> None:
        self.engine = "victoriametrics"
        folder = engine_dir("victoriametrics")
        self.vmalert = str(folder / "vmalert")
        self.work_dir = work_dir
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = Process(
            [
                str(folder / "victoria-metrics"),
                f"-storageDataPath={work_dir / 'vm-data'}",
                f"-httpListenAddr=127.0.0.1:{port}",
                "-retentionPeriod=100y",
                "-search.disableCache",
                "-search.latencyOffset=0s",
                "-loggerLevel=WARN",
            ],
            work_dir / "victoria-metrics.log",
            ready_url=f"{self.url}/health",
        )
        self.process.start()
        self.api = prometheus.APIEndpoint(self.url)
        self._import(data)

    def _post(self, path: str, body: bytes) -> None:
        request = urllib.request.Request(f"{self.url}{path}", data=body, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise EngineError(f"POST {path}: {error.code} {error.read()[:2000]!r}") from error

    def _import(self, data: synthetic.SyntheticData) -> None:
        """Every series of ``data`` through ``/api/v1/import`` (JSON lines, milliseconds)."""
        began = time.monotonic()
        scenario = data.scenario
        stamps = [timestamp * 1000 for timestamp in scenario.timestamps]
        per_line = max(1, _IMPORT_CHUNK_SAMPLES // max(1, data.series_count))
        lines: list[str] = []
        for first in range(0, scenario.sample_count, per_line):
            stop = min(scenario.sample_count, first + per_line)
            for counter in data.counters:
                lines.append(
                    json.dumps(
                        {
                            "metric": {"__name__": counter.name, **counter.label_map},
                            "values": list(counter.exposed_values(first, stop)),
                            "timestamps": stamps[first:stop],
                        }
                    )
                )
            for gauge in data.gauges:
                lines.append(
                    json.dumps(
                        {
                            "metric": {"__name__": gauge.name, **gauge.label_map},
                            "values": list(gauge.values[first:stop]),
                            "timestamps": stamps[first:stop],
                        }
                    )
                )
            self._post("/api/v1/import", "\n".join(lines).encode())
            lines.clear()
        self.flush()
        logger.info("imported %d samples in %.1fs", data.sample_count, time.monotonic() - began)

    def flush(self) -> None:
        """Make everything ingested so far searchable."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=60) as response:
            response.read()

    def backfill_rules(self, rule_files: Sequence[Path], start: float, end: float) -> None:
        def stamp(seconds: float) -> str:
            moment = datetime.datetime.fromtimestamp(int(seconds), datetime.UTC)
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

        log = self.work_dir / "vmalert-replay.log"
        argv = [
            self.vmalert,
            *(f"-rule={path}" for path in rule_files),
            f"-datasource.url={self.url}",
            f"-remoteWrite.url={self.url}",
            f"-replay.timeFrom={stamp(start)}",
            f"-replay.timeTo={stamp(end)}",
            # Rules of a group read the series the rules before them wrote: give the storage
            # time to make them searchable before the next rule's queries.
            "-replay.rulesDelay=2s",
            "-replay.disableProgressBar",
            "-loggerLevel=WARN",
        ]
        began = time.monotonic()
        with log.open("ab") as output:
            completed = subprocess.run(
                argv, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False
            )
        if completed.returncode:
            raise EngineError(f"vmalert -replay exited {completed.returncode}:\n{_tail(log)}")
        self.flush()
        logger.info("vmalert replay of %s in %.1fs", rule_files, time.monotonic() - began)

    def stop(self) -> None:
        self.process.stop()

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {path}\n{_tail(path)}"
            for path in (self.process.log, self.work_dir / "vmalert-replay.log")
        )


# --- Thanos -------------------------------------------------------------------------------------

THANOS_REPLICA_LABEL: Final = "replica"
THANOS_QUERY_PARAMS: Final = {"dedup": "true", "partial_response": "false"}
"""What a client of Thanos Query sends: merge the replicas of a shard into one series, and fail
rather than answer from the stores that happened to respond."""


def shard_of(labels: Mapping[str, str]) -> str:
    """The shard a synthetic series lives on: tenant ``acme`` and the series without a tenant
    (probes) on ``a``, the other tenants on ``b`` — a grouped SLO spans both."""
    return "a" if labels.get("tenant", "acme") == "acme" else "b"


def shard_data(data: synthetic.SyntheticData, shard: str) -> synthetic.SyntheticData:
    """The series of ``data`` that live on ``shard``."""
    return synthetic.SyntheticData(
        data.scenario,
        [series for series in data.counters if shard_of(series.label_map) == shard],
        [series for series in data.gauges if shard_of(series.label_map) == shard],
    )


@dataclass
class _RulerTarget:
    """Thanos Query as promtool's query API, the ruler's TSDB as where the blocks go."""

    stack: ThanosStack

    @property
    def url(self) -> str:
        return self.stack.query_url

    @property
    def promtool(self) -> str:
        return prometheus3_binaries()[1]

    @property
    def tsdb_dir(self) -> Path:
        return self.stack.ruler_dir

    def restart(self) -> None:
        self.stack.restart_ruler()


class ThanosStack(EngineStack):
    """Two Prometheus 3 shards behind Thanos sidecars, Thanos Query over them, Thanos Ruler.

    Shard ``a`` runs as two replicas with identical data (external label ``replica``), shard
    ``b`` as one; every series carries its shard's external labels ``cluster`` and ``replica``.
    Query deduplicates on ``replica`` and refuses partial responses. The ruler (external label
    ``ruler="global"``) loads the rule files and evaluates them live over Query; the past is
    evaluated over Query by promtool, level by level, into the ruler's TSDB, which the ruler
    serves back to Query through its Store API.
    """

    def __init__(self, data: synthetic.SyntheticData, work_dir: Path) -> None:
        self.engine = "thanos"
        self.thanos = str(engine_dir("thanos") / "thanos")
        binary, promtool = prometheus3_binaries()
        self.work_dir = work_dir
        self.processes: list[Process] = []
        self.servers: list[prometheus.PrometheusServer] = []
        self.rule_files: list[Path] = []
        store_addresses = []
        try:
            for shard, replicas in (("a", 2), ("b", 1)):
                part = shard_data(data, shard)
                blocks = backfill.cached_synthetic_blocks(
                    part, promtool=promtool, part=f"thanos-shard-{shard}"
                )
                for replica in range(replicas):
                    name = f"shard-{shard}-{replica}"
                    tsdb = work_dir / name / "tsdb"
                    backfill.link_blocks(blocks, tsdb)
                    server = prometheus.PrometheusServer(
                        tsdb,
                        work_dir=work_dir / name,
                        binary=binary,
                        promtool=promtool,
                        external_labels={"cluster": shard, THANOS_REPLICA_LABEL: str(replica)},
                    )
                    self.servers.append(server)
                    server.start()
                    store_addresses.append(self._sidecar(name, server))
            self.ruler_dir = work_dir / "ruler" / "data"
            self.ruler_dir.mkdir(parents=True)
            self.ruler_grpc = f"127.0.0.1:{_free_port()}"
            self.ruler_http = f"127.0.0.1:{_free_port()}"
            query_http = f"127.0.0.1:{_free_port()}"
            self.query_url = f"http://{query_http}"
            query = Process(
                [
                    self.thanos,
                    "query",
                    f"--http-address={query_http}",
                    f"--grpc-address=127.0.0.1:{_free_port()}",
                    f"--query.replica-label={THANOS_REPLICA_LABEL}",
                    "--no-query.partial-response",
                    "--query.timeout=10m",
                    "--endpoint.info-timeout=2s",
                    *(f"--endpoint={address}" for address in [*store_addresses, self.ruler_grpc]),
                ],
                work_dir / "query.log",
                ready_url=f"{self.query_url}/-/ready",
            )
            self.processes.append(query)
            query.start()
            self.ruler = Process([], work_dir / "ruler.log")
            self.restart_ruler()
            self.api = prometheus.APIEndpoint(self.query_url, THANOS_QUERY_PARAMS)
            self._wait_for_stores(len(store_addresses) + 1)
        except BaseException:
            self.stop()
            raise

    def _sidecar(self, name: str, server: prometheus.PrometheusServer) -> str:
        grpc = f"127.0.0.1:{_free_port()}"
        http = f"127.0.0.1:{_free_port()}"
        sidecar = Process(
            [
                self.thanos,
                "sidecar",
                f"--prometheus.url={server.url}",
                f"--tsdb.path={server.tsdb_dir}",
                f"--grpc-address={grpc}",
                f"--http-address={http}",
            ],
            self.work_dir / name / "sidecar.log",
            ready_url=f"http://{http}/-/ready",
        )
        self.processes.append(sidecar)
        sidecar.start()
        return grpc

    def restart_ruler(self) -> None:
        """(Re)start the ruler with the current rule files; blocks moved into its TSDB since
        appear, and Query sees its new time range before this returns."""
        self.ruler.stop()
        rule_dir = self.work_dir / "ruler" / "rules"
        rule_dir.mkdir(parents=True, exist_ok=True)
        self.ruler = Process(
            [
                self.thanos,
                "rule",
                f"--data-dir={self.ruler_dir}",
                f"--grpc-address={self.ruler_grpc}",
                f"--http-address={self.ruler_http}",
                f"--query={self.query_url}",
                '--label=ruler="global"',
                "--eval-interval=1m",
                "--tsdb.retention=100y",
                *(f"--rule-file={path}" for path in self.rule_files or [rule_dir / "*.yaml"]),
            ],
            self.work_dir / "ruler.log",
            ready_url=f"http://{self.ruler_http}/-/ready",
        )
        if self.ruler not in self.processes:
            self.processes.append(self.ruler)
        self.ruler.start()
        if hasattr(self, "api"):
            self._wait_for_stores(len(self.processes) - 1)

    def _wait_for_stores(self, count: int, timeout: float = 60.0) -> None:
        """Until Query lists ``count`` healthy stores, each with the time range it holds now."""
        deadline = time.monotonic() + timeout
        expected = self._store_ranges()
        while True:
            with urllib.request.urlopen(f"{self.query_url}/api/v1/stores", timeout=10) as reply:
                stores = json.loads(reply.read())["data"]
            healthy = [
                entry for group in stores.values() for entry in group if not entry.get("lastError")
            ]
            seen = {entry["name"]: (entry["minTime"], entry["maxTime"]) for entry in healthy}
            if len(healthy) >= count and all(
                seen.get(name, (None, None))[0] == low for name, low in expected.items()
            ):
                return
            if time.monotonic() > deadline:
                raise EngineError(f"thanos query sees {stores}, expected {count} healthy stores")
            time.sleep(0.5)

    def _store_ranges(self) -> dict[str, int]:
        """The ruler's oldest block start (ms), as Query should report it once it looked."""
        starts = []
        for meta in self.ruler_dir.glob("*/meta.json"):
            starts.append(int(json.loads(meta.read_text())["minTime"]))
        return {self.ruler_grpc: min(starts)} if starts else {}

    def backfill_rules(self, rule_files: Sequence[Path], start: float, end: float) -> None:
        target = _RulerTarget(self)
        for path in rule_files:
            if path not in self.rule_files:
                self.rule_files.append(path)
        backfill.backfill_rules(rule_files, start, end, target, work_dir=self.work_dir)
        self.restart_ruler()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        for server in self.servers:
            server.stop()

    def log_tails(self) -> str:
        logs = [process.log for process in self.processes]
        logs += [server.log_path for server in self.servers]
        return "\n".join(f"--- {path}\n{_tail(path)}" for path in logs)


# --- entry point --------------------------------------------------------------------------------


def start(engine: Engine, data: synthetic.SyntheticData, work_dir: Path) -> EngineStack:
    """Start ``engine`` on 127.0.0.1 holding ``data``; use as a context manager."""
    work_dir.mkdir(parents=True, exist_ok=True)
    if engine in ("prometheus2", "prometheus3"):
        return PrometheusStack(engine, data, work_dir, data_blocks=synthetic_blocks(engine, data))
    if engine == "victoriametrics":
        return VictoriaMetricsStack(data, work_dir)
    if engine == "thanos":
        return ThanosStack(data, work_dir)
    raise EngineError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
