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
    two Prometheus 3 shards holding different tenants, one of them as two replicas, each behind
    a Thanos sidecar with external labels; Thanos Query over the three, deduplicating on
    ``replica``; Thanos Ruler evaluating the rules globally through Query and serving the
    recorded series back to it. The rules' history is evaluated through Query by promtool into
    the ruler's TSDB (:class:`ThanosStack`).

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
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self

from . import backfill, processes, prometheus, synthetic

logger = logging.getLogger(__name__)

Engine = Literal["prometheus2", "prometheus3", "victoriametrics", "thanos"]
ENGINES: Final[tuple[Engine, ...]] = ("prometheus2", "prometheus3", "victoriametrics", "thanos")
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
    """Cached blocks of ``data`` written by the Prometheus engine's own promtool."""
    if engine == "prometheus2":
        return backfill.cached_synthetic_blocks(data)
    return backfill.cached_synthetic_blocks(data, promtool=prometheus3_binaries()[1])


# --- VictoriaMetrics ----------------------------------------------------------------------------

_IMPORT_CHUNK_SAMPLES: Final = 500_000
Sample = tuple[float, float]
"""(Unix seconds, value)."""


class VictoriaMetricsStack(EngineStack):
    """Single-node VictoriaMetrics; rules replayed with ``vmalert -replay``.

    Flags that make it answer like Prometheus on historical data, each needed:

    * ``-search.disableCache``: the rollup cache would keep answers computed before ``vmalert``
      wrote the recorded series into the past;
    * ``-search.latencyOffset=0s``: nothing here is "too recent" to be read;
    * ``-retentionPeriod=100y``: the synthetic month is in the past;
    * ``-dedup.minScrapeInterval=1ms``: ``vmalert -replay`` writes the point at each boundary of
      its query chunks (every 1,000 steps) twice, and VictoriaMetrics keeps both unless it
      deduplicates — every window over such a boundary then counted one minute twice.
    """

    def __init__(
        self,
        data: synthetic.SyntheticData | None,
        work_dir: Path,
        *,
        extra_flags: Sequence[str] = (),
    ) -> None:
        """Start VictoriaMetrics and import ``data`` (nothing when None: feed it with
        :meth:`import_series`)."""
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
                "-dedup.minScrapeInterval=1ms",
                "-loggerLevel=WARN",
                *extra_flags,
            ],
            work_dir / "victoria-metrics.log",
            ready_url=f"{self.url}/health",
        )
        self.process.start()
        self.api = prometheus.APIEndpoint(self.url)
        if data is not None:
            self._import(data)

    def import_series(self, series: Sequence[tuple[Mapping[str, str], Sequence[Sample]]]) -> None:
        """Each ``(labels with __name__, [(Unix seconds, value), ...])`` through
        ``/api/v1/import``, then flushed."""
        lines = [
            json.dumps(
                {
                    "metric": dict(labels),
                    "values": [value for _, value in samples],
                    "timestamps": [int(stamp * 1000) for stamp, _ in samples],
                }
            )
            for labels, samples in series
            if samples
        ]
        self._post("/api/v1/import", "\n".join(lines).encode())
        self.flush()

    def export(
        self, selector: str, start: float, end: float
    ) -> list[tuple[dict[str, str], list[Sample]]]:
        """The raw samples of ``selector`` in ``[start, end]`` (``/api/v1/export``)."""
        query = urllib.parse.urlencode({"match[]": selector, "start": start, "end": end})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=60) as response:
            lines = response.read().decode().splitlines()
        exported = []
        for line in lines:
            item = json.loads(line)
            samples = [
                (stamp / 1000, float(value))
                for stamp, value in zip(item["timestamps"], item["values"], strict=True)
            ]
            exported.append((dict(item["metric"]), samples))
        return exported

    def replay_alerts(self, rule_files: Sequence[Path], start: float, end: float) -> None:
        """``vmalert -replay`` of the alerting rules of ``rule_files`` over ``[start, end]``,
        after :meth:`backfill_rules` recorded what they read: vmalert writes their state as
        ``ALERTS`` and ``ALERTS_FOR_STATE`` series by remote write."""
        folder = self.work_dir / "alert-rules"
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, path in enumerate(rule_files):
            groups = [
                {**group, "rules": alerts}
                for group in backfill.load_rule_groups(Path(path))
                if (alerts := [rule for rule in group.get("rules") or [] if "alert" in rule])
            ]
            if groups:
                paths.append(folder / f"{index:02d}-{Path(path).stem}.yml")
                paths[-1].write_text(json.dumps({"groups": groups}))
        if paths:
            self._replay(paths, start, end)
            self.flush()

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
        """``vmalert -replay`` level by level (:func:`backfill.recording_rules`), flushing the
        storage between levels: vmalert writes what it records asynchronously, and a rule that
        reads another rule's output in the same replay would otherwise see nothing or part of it
        (vmalert's ``-replay.rulesDelay`` only guesses how long that takes)."""
        rules = backfill.recording_rules(rule_files)
        depth = max((rule.level for rule in rules), default=-1) + 1
        level_dir = self.work_dir / "rule-levels"
        level_dir.mkdir(parents=True, exist_ok=True)
        paths = [
            level_dir / f"{index:02d}-{Path(path).stem}.yml"
            for index, path in enumerate(rule_files)
        ]
        for level in range(depth):
            selected = [rule for rule in rules if rule.level == level]
            self._replay(backfill.write_level_files(selected, paths), start, end)
            self.flush()

    def _replay(self, rule_files: Sequence[Path], start: float, end: float) -> None:
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
            # Rules of one level read none of each other's output.
            "-replay.rulesDelay=0s",
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
        logger.info("vmalert replay of %s in %.1fs", rule_files, time.monotonic() - began)

    def stop(self) -> None:
        self.process.stop()

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {path}\n{_tail(path)}"
            for path in (self.process.log, self.work_dir / "vmalert-replay.log")
        )


# --- Thanos -----------------------------------------------------------------------------------

SHARDS: Final[Mapping[str, Sequence[str]]] = {
    # What each shard does NOT hold (deleted from its copy of the data), as series selectors: the
    # tenants split between the shards, one of them (globex) across both by status code, so its
    # SLIs are right only when evaluated over both shards at once.
    "shard-a": ('{tenant="initech"}', '{tenant="globex",code=~"5.."}'),
    "shard-b": (
        '{tenant="acme"}',
        '{tenant="globex",code!~"5.."}',
        '{__name__=~".+",tenant=""}',
    ),
}
REPLICA_LABEL: Final = "replica"
"""The external label Query deduplicates on (``--query.replica-label``); shard-a runs twice."""
RULER_REPLICA_LABEL: Final = "rule_replica"


@dataclass
class _Shard:
    server: prometheus.PrometheusServer
    sidecar: Process
    grpc: str


class ThanosStack(EngineStack):
    """Prometheus 3 shards behind sidecars, Thanos Query over them, Thanos Ruler for the rules.

    ``api`` is Query. Partial responses are refused (``--no-query.partial-response``): a store
    that does not answer fails the query instead of answering from part of the data.
    :meth:`backfill_rules` evaluates the rules through Query with Prometheus 3's promtool (the
    way the ruler evaluates them, over the global view) into the ruler's TSDB, and restarts the
    ruler so Query serves the recorded series from it.
    """

    def __init__(
        self,
        data: synthetic.SyntheticData | None,
        work_dir: Path,
        *,
        blocks: Path | None = None,
    ) -> None:
        """Start the stack on ``data`` (its blocks written by Prometheus 3's promtool) or, when
        ``data`` is None, on ``blocks`` that promtool wrote; each shard deletes its part."""
        self.engine = "thanos"
        self.thanos = str(engine_dir("thanos") / "thanos")
        self.prometheus, self.promtool_path = prometheus3_binaries()
        self.work_dir = work_dir
        self.shards: list[_Shard] = []
        self.query: Process | None = None
        self.ruler: Process | None = None
        self.rule_files: list[Path] = []
        if data is not None:
            blocks = synthetic_blocks("prometheus3", data)
        if blocks is None:
            raise EngineError("ThanosStack needs synthetic data or blocks")
        try:
            for name, replica in (("shard-a", "0"), ("shard-a", "1"), ("shard-b", "0")):
                self.shards.append(self._start_shard(name, replica, blocks))
            self.ruler_grpc = f"127.0.0.1:{_free_port()}"
            self.ruler_http = f"127.0.0.1:{_free_port()}"
            self.query_http = f"127.0.0.1:{_free_port()}"
            self.url = f"http://{self.query_http}"
            self.query = Process(
                [
                    self.thanos,
                    "query",
                    f"--http-address={self.query_http}",
                    f"--grpc-address=127.0.0.1:{_free_port()}",
                    *(f"--endpoint={shard.grpc}" for shard in self.shards),
                    f"--endpoint={self.ruler_grpc}",
                    f"--query.replica-label={REPLICA_LABEL}",
                    f"--query.replica-label={RULER_REPLICA_LABEL}",
                    "--no-query.partial-response",
                    "--query.timeout=5m",
                    "--log.level=warn",
                ],
                work_dir / "query.log",
                ready_url=f"{self.url}/-/ready",
            )
            self.query.start()
            self.api = prometheus.APIEndpoint(self.url)
            self._start_ruler()
            self._wait_for_stores(len(self.shards) + 1)
        except BaseException:
            self.stop()
            raise

    def _start_shard(self, name: str, replica: str, blocks: Path) -> _Shard:
        folder = self.work_dir / f"{name}-{replica}"
        backfill.link_blocks(blocks, folder / "tsdb")
        server = prometheus.PrometheusServer(
            folder / "tsdb",
            work_dir=folder,
            binary=self.prometheus,
            promtool=self.promtool_path,
            external_labels={"cluster": name, REPLICA_LABEL: replica},
            extra_flags=("--web.enable-admin-api",),
        )
        server.start()
        for selector in SHARDS[name]:
            query = urllib.parse.urlencode({"match[]": selector})
            request = urllib.request.Request(
                f"{server.url}/api/v1/admin/tsdb/delete_series?{query}", method="POST"
            )
            with urllib.request.urlopen(request, timeout=300) as response:
                if response.status != 204:
                    raise EngineError(f"{name}: deleting {selector} answered {response.status}")
        grpc = f"127.0.0.1:{_free_port()}"
        http = f"127.0.0.1:{_free_port()}"
        sidecar = Process(
            [
                self.thanos,
                "sidecar",
                f"--tsdb.path={folder / 'tsdb'}",
                f"--prometheus.url={server.url}",
                f"--grpc-address={grpc}",
                f"--http-address={http}",
                "--log.level=warn",
            ],
            folder / "sidecar.log",
            ready_url=f"http://{http}/-/ready",
        )
        shard = _Shard(server, sidecar, grpc)
        try:
            sidecar.start()
        except BaseException:
            server.stop()
            raise
        return shard

    @property
    def ruler_tsdb(self) -> Path:
        return self.work_dir / "ruler"

    def _start_ruler(self) -> None:
        self.ruler = Process(
            [
                self.thanos,
                "rule",
                f"--data-dir={self.ruler_tsdb}",
                *(f"--rule-file={path}" for path in self.rule_files),
                f"--query={self.query_http}",
                f'--label={RULER_REPLICA_LABEL}="0"',
                "--eval-interval=1m",
                "--tsdb.retention=100y",
                f"--grpc-address={self.ruler_grpc}",
                f"--http-address={self.ruler_http}",
                "--log.level=warn",
            ],
            self.work_dir / "ruler.log",
            ready_url=f"http://{self.ruler_http}/-/ready",
        )
        self.ruler.start()

    def _wait_for_stores(self, count: int, timeout: float = 60.0) -> None:
        """Until Query has met ``count`` healthy stores, each with its current time range
        (Query skips a store whose advertised range misses the query's)."""
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(f"{self.url}/api/v1/stores", timeout=5) as response:
                groups = json.loads(response.read()).get("data") or {}
            stores = [store for members in groups.values() for store in members or ()]
            healthy = [store for store in stores if not store.get("lastError")]
            fresh = [store for store in healthy if self._range_is_current(store)]
            if len(fresh) >= count:
                return
            if time.monotonic() > deadline:
                raise EngineError(f"Thanos Query sees {stores!r}, wanted {count} stores")
            time.sleep(0.5)

    def _range_is_current(self, store: Mapping[str, Any]) -> bool:
        if store.get("name") != self.ruler_grpc or not self._ruler_blocks_min_ms:
            return True
        return int(store.get("minTime", 2**63)) <= self._ruler_blocks_min_ms

    _ruler_blocks_min_ms: int = 0

    def backfill_rules(self, rule_files: Sequence[Path], start: float, end: float) -> None:
        backfill.backfill_rules(rule_files, start, end, _RulerTarget(self), work_dir=self.work_dir)
        self.rule_files = [Path(path).resolve() for path in rule_files]
        self.restart_ruler()

    def restart_ruler(self) -> None:
        """Restart the ruler (loading blocks moved into its TSDB) and wait until Query sees
        them."""
        if self.ruler is not None:
            self.ruler.stop()
        self._start_ruler()
        self._ruler_blocks_min_ms = min(
            (
                json.loads((block / "meta.json").read_text())["minTime"]
                for block in self.ruler_tsdb.iterdir()
                if (block / "meta.json").is_file()
            ),
            default=0,
        )
        self._wait_for_stores(len(self.shards) + 1)
        self._wait_for_ruler_reads()

    def _wait_for_ruler_reads(self, timeout: float = 60.0) -> None:
        """Until a query over the ruler's time range succeeds: Query's connection to the
        restarted ruler may still be backing off from the refused dials of the restart, and a
        query then fails (partial responses are refused) although the store list looks
        healthy."""
        at = max(self._ruler_blocks_min_ms / 1000 + 60, 60)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.api.query('absent(slo_operator_engine_probe{rule_replica="0"})', at)
                return
            except prometheus.QueryFailed as failure:
                if time.monotonic() > deadline:
                    raise EngineError(f"Thanos Query cannot read the ruler: {failure}") from None
            time.sleep(0.5)

    def stop(self) -> None:
        for process in (self.ruler, self.query):
            if process is not None:
                process.stop()
        for shard in self.shards:
            shard.sidecar.stop()
            shard.server.stop()

    def log_tails(self) -> str:
        logs = [self.work_dir / "query.log", self.work_dir / "ruler.log"]
        for shard in self.shards:
            logs += [shard.sidecar.log, shard.server.log_path]
        return "\n".join(f"--- {path}\n{_tail(path)}" for path in logs)


@dataclass
class _RulerTarget:
    """:class:`backfill.RuleTarget` for Thanos: promtool queries Query, writes the ruler's
    TSDB, and a restart of the ruler makes the blocks visible through Query."""

    stack: ThanosStack

    @property
    def url(self) -> str:
        return self.stack.url

    @property
    def promtool(self) -> str:
        return self.stack.promtool_path

    @property
    def tsdb_dir(self) -> Path:
        return self.stack.ruler_tsdb

    def restart(self) -> None:
        self.stack.restart_ruler()


# --- entry point --------------------------------------------------------------------------------


def start(engine: Engine, data: synthetic.SyntheticData, work_dir: Path) -> EngineStack:
    """Start ``engine`` on 127.0.0.1 holding ``data``; use as a context manager."""
    work_dir.mkdir(parents=True, exist_ok=True)
    stack: EngineStack
    if engine in ("prometheus2", "prometheus3"):
        stack = PrometheusStack(engine, data, work_dir, data_blocks=synthetic_blocks(engine, data))
    elif engine == "victoriametrics":
        stack = VictoriaMetricsStack(data, work_dir)
    elif engine == "thanos":
        stack = ThanosStack(data, work_dir)
    else:
        raise EngineError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    stack.api.engine = engine
    return stack
