"""Synthetic data and recording rules into TSDB blocks with the real ``promtool``.

Two steps, both with Prometheus 2.42's ``promtool tsdb create-blocks-from``:

* :func:`backfill_synthetic` writes a :class:`~testkit.synthetic.SyntheticData` as
  OpenMetrics text and turns it into blocks (``create-blocks-from openmetrics``);
  :func:`cached_synthetic_blocks` does it once per scenario and code version and hard-links the
  cached blocks into a fresh TSDB folder.
* :func:`backfill_rules` evaluates recording rules over a past range against a running
  Prometheus (``create-blocks-from rules``), level by level so that rules reading other rules'
  output see it.

What promtool 2.42 requires and does, found by running it (and read in its source,
``cmd/promtool/backfill.go`` and ``rules.go`` at v2.42.0):

* The input must end with ``# EOF`` and every sample needs a timestamp (seconds). Families may
  interleave, but within a series samples must ascend: an older sample after a newer one is
  *dropped silently* (the block writer's head rejects it at commit without an error). The
  writer below emits family by family, series by series, ascending.
* promtool parses the *whole* file once per block-sized window (2h by default): 30 days in one
  file at the default took more than 11 minutes for 84 series. The hidden flag
  ``--max-block-duration`` makes the windows (and blocks) larger; we also split the data into
  one file per window, aligned like Prometheus' own block ranges (2h * 3^k from the epoch), and
  run up to one promtool per CPU while Python writes the next file.
* ``create-blocks-from rules`` runs one ``query_range`` per rule and block window against the
  server and writes the result into new blocks; it never writes into the server. A rule that
  reads another rule's output therefore sees nothing in the same run — within a group or across
  groups. :func:`backfill_rules` sorts the rules into dependency levels and runs promtool once per
  level, moving each level's blocks into the server's TSDB and restarting it before the next.
* Evaluation times are the group's: promtool aligns each ``query_range`` with the rule group's
  ``EvalTimestamp`` — a slot offset by ``hash(group name, rule file path) % interval`` — just as
  a live server does. They are *not* aligned to the minute. We pass the same file path for a
  group at every level so all its rules share one offset, as in a live server;
  :func:`rule_group_offset` computes the offset (checked against backfilled and live servers).
* A range query may not exceed 11,000 steps, so block windows for rules are at most
  ``11,000 * interval`` (162h for 1m rules).
* Each block's query ends one whole second before the block boundary (``end`` is truncated to
  seconds), so a group whose offset falls in the last second of its interval — about 1 in 60
  groups for 1m — silently loses the evaluation just before every boundary (seen: 12 of 300
  groups). :func:`backfill_rules` re-evaluates a few seconds around each boundary with a block
  range that does not end there.
* No staleness markers are written: where a live server would mark a vanished recorded series
  stale, a backfilled one stays visible for the lookback delta (5m). Alerting rules are skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import itertools
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Protocol

import promql_parser
import yaml

from . import synthetic

logger = logging.getLogger(__name__)

HOUR_MS: Final = 3_600_000
BLOCK_RANGES_MS: Final[tuple[int, ...]] = tuple(2 * HOUR_MS * 3**k for k in range(10))
"""Prometheus' block ranges (``tsdb.ExponentialBlockRanges(2h, 10, 3)``): 2h, 6h, 18h, ..."""
DEFAULT_BLOCK_MS: Final = 162 * HOUR_MS
"""Window of one OpenMetrics file and block (6.75 days): several files for a month, so promtool
runs in parallel with the writer; Prometheus later compacts three of them into a 486h block."""
MAX_RANGE_QUERY_STEPS: Final = 11_000
"""Prometheus refuses ``query_range`` calls with more steps than this."""


class BackfillError(Exception):
    """promtool failed; carries the command and its output."""

    def __init__(self, command: Sequence[str], returncode: int, output: str) -> None:
        super().__init__(f"{' '.join(command)} exited with code {returncode}:\n{output[-4000:]}")
        self.command = tuple(command)
        self.returncode = returncode
        self.output = output


def promtool_binary() -> str:
    """The ``promtool`` on PATH (Debian's, installed by ``hack/setup.sh``)."""
    return shutil.which("promtool") or "/usr/bin/promtool"


def _release(promtool: str | None) -> str:
    return promtool or promtool_binary()


# --------------------------------------------------------------------------------------------
# OpenMetrics


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _series_prefix(name: str, labels: Sequence[tuple[str, str]]) -> str:
    rendered = ",".join(f'{key}="{_escape(value)}"' for key, value in labels)
    return f"{name}{{{rendered}}} "


_FAMILIES: Final = (
    (synthetic.REQUESTS_METRIC.removesuffix("_total"), "counter", "HTTP requests by code."),
    (synthetic.LATENCY_METRIC, "histogram", "HTTP request latency."),
    (synthetic.PROBE_METRIC, "gauge", "Whether the probe succeeded."),
)


def _family_of(name: str) -> str:
    for family, _, _ in _FAMILIES:
        if name == family or name.startswith(f"{family}_"):
            return family
    raise ValueError(f"no metric family for {name}")


def write_openmetrics(
    data: synthetic.SyntheticData,
    output: IO[str],
    *,
    start: float | None = None,
    end: float | None = None,
) -> int:
    """Write the samples at ``start <= t < end`` (default: all) as OpenMetrics text.

    Family by family (``# TYPE`` first), series by series, samples ascending, then ``# EOF``.
    Counters carry their offset and resets; ``_sum`` is written in seconds. Returns the number
    of samples written.
    """
    scenario = data.scenario
    first = 0 if start is None else max(0, -(-(round(start) - scenario.start) // scenario.interval))
    stop = (
        scenario.sample_count
        if end is None
        else min(scenario.sample_count, -(-(round(end) - scenario.start) // scenario.interval))
    )
    if stop <= first:
        output.write("# EOF\n")
        return 0
    stamps = [f" {timestamp}\n" for timestamp in scenario.timestamps[first:stop]]
    written = 0
    for family, kind, help_text in _FAMILIES:
        counters = [series for series in data.counters if _family_of(series.name) == family]
        gauges = [series for series in data.gauges if _family_of(series.name) == family]
        if not counters and not gauges:
            continue
        output.write(f"# HELP {family} {help_text}\n# TYPE {family} {kind}\n")
        for counter in counters:
            prefix = _series_prefix(counter.name, counter.labels)
            values = counter.exposed_values(first, stop)
            lines = [
                f"{prefix}{value!r}{stamp}" for value, stamp in zip(values, stamps, strict=True)
            ]
            lines = _drop_hidden(lines, scenario.hidden_indices(counter.label_map), first)
            output.write("".join(lines))
            written += len(lines)
        for gauge in gauges:
            prefix = _series_prefix(gauge.name, gauge.labels)
            lines = [
                f"{prefix}{value}{stamp}"
                for value, stamp in zip(gauge.values[first:stop], stamps, strict=True)
            ]
            lines = _drop_hidden(lines, scenario.hidden_indices(gauge.label_map), first)
            output.write("".join(lines))
            written += len(lines)
    output.write("# EOF\n")
    return written


def _drop_hidden(lines: list[str], hidden: Sequence[range], first: int) -> list[str]:
    """``lines[i]`` is sample ``first + i``; leave out the samples of scrape gaps."""
    if not hidden:
        return lines
    return [
        line
        for index, line in enumerate(lines, start=first)
        if not any(index in gap for gap in hidden)
    ]


def block_windows(start: float, end: float, block_ms: int) -> list[tuple[int, int]]:
    """The ``[from, to)`` windows (seconds) of ``block_ms`` aligned to the epoch, like
    Prometheus' block ranges, that cover ``[start, end]``."""
    block_seconds = block_ms // 1000
    first = int(start) - int(start) % block_seconds
    return [
        (window, window + block_seconds) for window in range(first, int(end) + 1, block_seconds)
    ]


@dataclass(frozen=True)
class BackfillReport:
    """What :func:`backfill_synthetic` did."""

    blocks: tuple[str, ...]
    """ULIDs of the blocks created."""
    samples: int
    files: int
    seconds: float


def backfill_openmetrics_file(
    path: Path,
    output_dir: Path,
    *,
    max_block_ms: int = DEFAULT_BLOCK_MS,
    promtool: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``promtool tsdb create-blocks-from openmetrics`` on one file; the caller waits.

    Use :func:`backfill_synthetic` unless you hand-write OpenMetrics text.
    """
    command = [
        _release(promtool),
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "--quiet",
        f"--max-block-duration={max_block_ms // HOUR_MS}h",
        str(path),
        str(output_dir),
    ]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )


def _finish(process: subprocess.Popen[bytes]) -> None:
    output, _ = process.communicate()
    if process.returncode:
        raise BackfillError(
            [str(arg) for arg in process.args],  # type: ignore[union-attr]
            process.returncode,
            output.decode(errors="replace"),
        )


def backfill_synthetic(
    data: synthetic.SyntheticData,
    tsdb_dir: Path,
    *,
    work_dir: Path | None = None,
    block_ms: int = DEFAULT_BLOCK_MS,
    parallelism: int | None = None,
    promtool: str | None = None,
) -> BackfillReport:
    """Write ``data`` as blocks into ``tsdb_dir`` (created if missing).

    One OpenMetrics file per block window, each turned into blocks by its own promtool while
    the next file is written; at most ``parallelism`` (default: CPU count) promtools at once;
    ``promtool`` picks the release (default: Debian's on PATH).
    Files are deleted as soon as their blocks exist. A Prometheus already running on
    ``tsdb_dir`` sees the blocks within a minute, or at once after a restart.
    """
    if block_ms not in BLOCK_RANGES_MS:
        raise ValueError(f"block_ms must be one of Prometheus' ranges {BLOCK_RANGES_MS}")
    began = time.monotonic()
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    limit = max(1, parallelism or os.cpu_count() or 1)
    scenario = data.scenario
    blocks: list[str] = []
    with _scratch(work_dir, "openmetrics-") as scratch:
        running: list[tuple[subprocess.Popen[bytes], Path, Path]] = []
        samples = 0
        windows = block_windows(scenario.start, scenario.end, block_ms)
        for number, (window_start, window_end) in enumerate(windows):
            path = scratch / f"window-{number:03d}.om"
            with path.open("w", buffering=1 << 20) as output:
                samples += write_openmetrics(data, output, start=window_start, end=window_end)
            while len(running) >= limit:
                blocks.extend(_collect(running.pop(0), tsdb_dir))
            out = scratch / f"blocks-{number:03d}"
            running.append(
                (
                    backfill_openmetrics_file(path, out, max_block_ms=block_ms, promtool=promtool),
                    path,
                    out,
                )
            )
        for entry in running:
            blocks.extend(_collect(entry, tsdb_dir))
    report = BackfillReport(tuple(sorted(blocks)), samples, len(windows), time.monotonic() - began)
    logger.info(
        "backfilled %d samples of %d series from %d files in %.1fs",
        samples,
        data.series_count,
        len(windows),
        report.seconds,
    )
    return report


def _collect(entry: tuple[subprocess.Popen[bytes], Path, Path], tsdb_dir: Path) -> list[str]:
    process, path, out = entry
    _finish(process)
    path.unlink()
    return move_blocks(out, tsdb_dir)


def _block_dirs(folder: Path) -> list[Path]:
    """Block folders (those with a ``meta.json``) directly inside ``folder``."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if (path / "meta.json").is_file())


def move_blocks(source_dir: Path, tsdb_dir: Path) -> list[str]:
    """Move every block folder of ``source_dir`` into ``tsdb_dir``; returns their ULIDs."""
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    moved = []
    for block in _block_dirs(source_dir):
        shutil.move(str(block), tsdb_dir / block.name)
        moved.append(block.name)
    return moved


def link_blocks(source_dir: Path, tsdb_dir: Path) -> list[str]:
    """Hard-link every block of ``source_dir`` into ``tsdb_dir`` (instant, no extra space).

    Safe for a cache: Prometheus never rewrites a block file in place — compaction writes new
    blocks and deletes old folders, and ``meta.json`` is replaced by rename.
    """
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    linked = []
    for block in _block_dirs(source_dir):
        shutil.copytree(block, tsdb_dir / block.name, copy_function=os.link)
        linked.append(block.name)
    return linked


def cache_dir() -> Path:
    """Where cached blocks live: ``$SLO_OPERATOR_CACHE/synthetic-tsdb`` or
    ``~/.cache/slo-operator/synthetic-tsdb``."""
    if override := os.environ.get("SLO_OPERATOR_CACHE"):
        root = Path(override)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "slo-operator"
    return root / "synthetic-tsdb"


def blocks_fingerprint(
    scenario: synthetic.Scenario, promtool: str | None = None, part: str = ""
) -> str:
    """Cache key: the scenario, the generator's and this writer's code, promtool's version, and
    ``part`` (naming a subset of the scenario's series, such as a shard's)."""
    digest = hashlib.sha256(scenario.fingerprint().encode())
    digest.update(part.encode())
    digest.update(Path(__file__).read_bytes())
    version = subprocess.run(
        [_release(promtool), "--version"], capture_output=True, text=True, check=False
    )
    digest.update((version.stdout + version.stderr).encode())
    return digest.hexdigest()[:20]


def cached_synthetic_blocks(
    data: synthetic.SyntheticData,
    *,
    root: Path | None = None,
    keep: int = 10,
    promtool: str | None = None,
    part: str = "",
) -> Path:
    """A folder of blocks for ``data``, backfilled on the first call and reused afterwards.

    Keyed by :func:`blocks_fingerprint`; a lock serializes concurrent test sessions; only the
    ``keep`` most recently used entries stay. Hard-link the blocks into a TSDB folder of your
    own with :func:`link_blocks` — never start Prometheus on the cache itself.
    """
    root = root or cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    key = blocks_fingerprint(data.scenario, promtool, part)
    target = root / key
    with (root / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "COMPLETE").is_file():
            shutil.rmtree(target, ignore_errors=True)
            staging = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=root))
            try:
                report = backfill_synthetic(
                    data, staging / "blocks", work_dir=staging, promtool=promtool
                )
                (staging / "blocks" / "COMPLETE").write_text(
                    f"{report.samples} samples, {len(report.blocks)} blocks, "
                    f"{report.seconds:.1f}s\n"
                )
                (staging / "blocks").rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        os.utime(target)
    _prune_cache(root, keep)
    return target


def _prune_cache(root: Path, keep: int) -> None:
    entries = sorted(
        (path for path in root.iterdir() if (path / "COMPLETE").is_file()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for stale in entries[keep:]:
        with (root / f"{stale.name}.lock").open("w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            shutil.rmtree(stale, ignore_errors=True)
        (root / f"{stale.name}.lock").unlink(missing_ok=True)


@contextlib.contextmanager
def _scratch(work_dir: Path | None, prefix: str) -> Iterator[Path]:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=work_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Recording rules


@dataclass(frozen=True)
class RecordingRule:
    """One recording rule of a loaded rule file, with the group it belongs to."""

    file_index: int
    group: str
    interval: str | None
    record: str
    expr: str
    labels: Mapping[str, str]
    level: int = 0
    """0 when it reads raw data only; else one more than the deepest rule it reads."""


@dataclass(frozen=True)
class RuleBackfillReport:
    """What :func:`backfill_rules` did."""

    levels: tuple[tuple[str, ...], ...]
    """Record names per level, in the order they were backfilled."""
    blocks: int
    seconds: float
    restart_seconds: float
    """Time spent restarting Prometheus between levels (included in ``seconds``)."""
    rule_paths: tuple[str, ...]
    """The path promtool saw for each input file (it sets the groups' evaluation offsets)."""


def load_rule_groups(path: Path) -> list[dict[str, Any]]:
    """Rule groups of a Prometheus rule file or of ``PrometheusRule`` objects (``spec.groups``),
    one or more YAML documents."""
    groups: list[dict[str, Any]] = []
    for document in yaml.safe_load_all(path.read_text()):
        if not document:
            continue
        if "groups" in document:
            groups.extend(document["groups"] or [])
        elif isinstance(document.get("spec"), Mapping) and "groups" in document["spec"]:
            groups.extend(document["spec"]["groups"] or [])
        else:
            raise ValueError(f"{path}: neither a rule file nor a PrometheusRule: {document!r}")
    return groups


def referenced_metrics(expr: str) -> set[str]:
    """Metric names an expression reads (vector selectors' names, ``__name__="..."``), and
    ``~regex`` entries for ``__name__=~"..."`` matchers."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name != "__name__":
                    continue
                op = str(matcher.op)
                if op == "MatchOp.Equal":
                    names.add(matcher.value)
                elif op == "MatchOp.Re":
                    names.add(f"~{matcher.value}")

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def recording_rules(rule_files: Sequence[Path]) -> list[RecordingRule]:
    """Every recording rule of ``rule_files`` with its dependency level.

    A rule depends on every rule whose record name its expression reads (all producers of that
    name, so the levels are conservative); a cycle raises ValueError.
    """
    rules: list[RecordingRule] = []
    for file_index, path in enumerate(rule_files):
        for group in load_rule_groups(Path(path)):
            for rule in group.get("rules") or []:
                if "record" not in rule:
                    continue
                rules.append(
                    RecordingRule(
                        file_index,
                        str(group["name"]),
                        group.get("interval"),
                        str(rule["record"]),
                        str(rule["expr"]),
                        dict(rule.get("labels") or {}),
                    )
                )
    producers: dict[str, list[int]] = {}
    for index, rule in enumerate(rules):
        producers.setdefault(rule.record, []).append(index)
    reads = [_dependencies(rule.expr, producers) for rule in rules]
    levels: dict[int, int] = {}

    def level_of(index: int, path: tuple[int, ...]) -> int:
        if index in levels:
            return levels[index]
        if index in path:
            cycle = " -> ".join(rules[step].record for step in (*path, index))
            raise ValueError(f"recording rules depend on each other in a cycle: {cycle}")
        deepest = -1
        for dependency in reads[index]:
            deepest = max(deepest, level_of(dependency, (*path, index)))
        levels[index] = deepest + 1
        return deepest + 1

    return [
        dataclasses.replace(rule, level=level_of(index, ())) for index, rule in enumerate(rules)
    ]


def _dependencies(expr: str, producers: Mapping[str, Sequence[int]]) -> set[int]:
    found: set[int] = set()
    for name in referenced_metrics(expr):
        if name.startswith("~"):
            pattern = re.compile(name[1:])
            for record, indices in producers.items():
                if pattern.fullmatch(record):
                    found.update(indices)
        else:
            found.update(producers.get(name, ()))
    return found


def _duration_seconds(text: str) -> float:
    return float(promql_parser.parse_duration(text).total_seconds())


def rule_block_ms(rules: Sequence[RecordingRule], eval_interval: float) -> int:
    """The largest Prometheus block range whose range queries stay under 11,000 steps for
    the shortest group interval."""
    shortest = min(
        (_duration_seconds(rule.interval) if rule.interval else eval_interval for rule in rules),
        default=eval_interval,
    )
    fitting = [
        block for block in BLOCK_RANGES_MS if block / 1000 / shortest <= MAX_RANGE_QUERY_STEPS
    ]
    return max(fitting, default=BLOCK_RANGES_MS[0])


_MASK64: Final = (1 << 64) - 1
_PRIME64 = (
    0x9E3779B185EBCA87,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0x85EBCA77C2B2AE63,
    0x27D4EB2F165667C5,
)


def _rotate_left(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (64 - bits))) & _MASK64


def _xxh64_round(accumulator: int, lane: int) -> int:
    accumulator = (accumulator + lane * _PRIME64[1]) & _MASK64
    return (_rotate_left(accumulator, 31) * _PRIME64[0]) & _MASK64


def _xxh64(data: bytes) -> int:
    """XXH64 with seed 0 (the hash behind Prometheus' ``labels.Hash``), per the published
    algorithm; checked against the server's evaluation times in the integration tests."""
    p1, p2, p3, p4, p5 = _PRIME64
    length = len(data)
    position = 0
    if length >= 32:
        lanes = [(p1 + p2) & _MASK64, p2, 0, (-p1) & _MASK64]
        while position + 32 <= length:
            for lane in range(4):
                word = int.from_bytes(data[position : position + 8], "little")
                lanes[lane] = _xxh64_round(lanes[lane], word)
                position += 8
        digest = (
            _rotate_left(lanes[0], 1)
            + _rotate_left(lanes[1], 7)
            + _rotate_left(lanes[2], 12)
            + _rotate_left(lanes[3], 18)
        ) & _MASK64
        for lane in lanes:
            digest ^= _xxh64_round(0, lane)
            digest = (digest * p1 + p4) & _MASK64
    else:
        digest = p5
    digest = (digest + length) & _MASK64
    while position + 8 <= length:
        word = int.from_bytes(data[position : position + 8], "little")
        digest ^= _xxh64_round(0, word)
        digest = (_rotate_left(digest, 27) * p1 + p4) & _MASK64
        position += 8
    if position + 4 <= length:
        word = int.from_bytes(data[position : position + 4], "little")
        digest ^= (word * p1) & _MASK64
        digest = (_rotate_left(digest, 23) * p2 + p3) & _MASK64
        position += 4
    while position < length:
        digest ^= (data[position] * p5) & _MASK64
        digest = (_rotate_left(digest, 11) * p1) & _MASK64
        position += 1
    digest ^= digest >> 33
    digest = (digest * p2) & _MASK64
    digest ^= digest >> 29
    digest = (digest * p3) & _MASK64
    digest ^= digest >> 32
    return digest


def rule_group_offset(group: str, rule_file: str, interval_seconds: float) -> float:
    """Seconds after each interval slot at which Prometheus 2.42 evaluates a rule group.

    ``Group.EvalTimestamp`` offsets every group by ``hash({file=..., name=...}) % interval``
    (nanoseconds), where ``file`` is the rule file path exactly as Prometheus (or promtool) was
    given it. Evaluation times are ``k * interval + offset``, in promtool's backfill as in a
    live server.
    """
    separator = b"\xff"
    labels = separator.join([b"file", rule_file.encode(), b"name", group.encode(), b""])
    interval_ns = round(interval_seconds * 1e9)
    return (_xxh64(labels) % interval_ns) / 1e9


class RuleTarget(Protocol):
    """Where :func:`backfill_rules` evaluates and stores: a query API at ``url``, the promtool of
    the matching release, the TSDB folder that serves the recorded blocks and a restart that
    makes moved-in blocks visible (a :class:`~testkit.prometheus.PrometheusServer`, or Thanos
    Query with the ruler's TSDB in ``testkit.engines``)."""

    @property
    def url(self) -> str: ...

    @property
    def promtool(self) -> str: ...

    @property
    def tsdb_dir(self) -> Path: ...

    def restart(self) -> None: ...


def backfill_rules(
    rule_files: Sequence[Path],
    start: float,
    end: float,
    prometheus: RuleTarget,
    *,
    eval_interval: float = 60,
    work_dir: Path | None = None,
    rule_dir: Path | None = None,
) -> RuleBackfillReport:
    """Backfill the recording rules of ``rule_files`` over ``[start, end]`` into the TSDB of the
    running ``prometheus``, which answers promtool's queries.

    Level by level (:func:`recording_rules`): level 0 reads raw data; after each level its
    blocks are moved into ``prometheus.tsdb_dir`` and the server restarts, so the next level's
    queries see them. ``eval_interval`` (seconds) applies to groups without an ``interval``.
    Each original file is rewritten per level to one fixed path,
    ``<rule_dir>/<NN>-<stem>.yml`` (``rule_dir`` defaults to a scratch folder), so a group keeps
    one evaluation offset across levels: :func:`rule_group_offset` with that path predicts it.
    ``start``/``end`` are whole seconds; the first evaluation is the group's first slot at or
    after ``start``, the last at or before ``end``.

    promtool 2.42 ends each block's query one second before the block boundary, so a group
    whose offset lies in the last second of its interval loses the slot just before every
    boundary; a second, tiny promtool run per boundary (with a block range that does not end
    there) evaluates it, and re-evaluates identical samples for the other groups, which the TSDB
    deduplicates.
    """
    began = time.monotonic()
    rules = recording_rules(rule_files)
    if not rules:
        return RuleBackfillReport((), 0, time.monotonic() - began, 0.0, ())
    block_ms = rule_block_ms(rules, eval_interval)
    depth = max(rule.level for rule in rules) + 1
    first, last = int(start), int(end)
    boundaries = [
        (boundary, _range_not_ending_at(boundary, block_ms))
        for boundary in range(
            first - first % (block_ms // 1000) + block_ms // 1000, last + 1, block_ms // 1000
        )
    ]
    restart_seconds = 0.0
    blocks = 0
    levels: list[tuple[str, ...]] = []
    limit = max(1, os.cpu_count() or 1)
    with _scratch(work_dir, "rules-") as scratch:
        levels_dir = rule_dir or scratch / "rules"
        stable_paths = [
            levels_dir / f"{index:02d}-{Path(path).stem}.yml"
            for index, path in enumerate(rule_files)
        ]
        levels_dir.mkdir(parents=True, exist_ok=True)
        for level in range(depth):
            level_began = time.monotonic()
            selected = [rule for rule in rules if rule.level == level]
            levels.append(tuple(dict.fromkeys(rule.record for rule in selected)))
            files = write_level_files(selected, stable_paths)
            output_dir = scratch / f"blocks-level-{level}"
            runs = [(first, last, block_ms, output_dir / "main")]
            runs += [
                (
                    max(first, boundary - 2),
                    min(last, boundary + 2),
                    wider,
                    output_dir / str(boundary),
                )
                for boundary, wider in boundaries
                if wider is not None
            ]
            running: list[tuple[list[str], subprocess.Popen[str]]] = []
            for run_start, run_end, run_block_ms, run_output in runs:
                while len(running) >= limit:
                    _finish_rules(*running.pop(0))
                command = _rules_command(
                    prometheus.promtool,
                    prometheus.url,
                    run_start,
                    run_end,
                    run_output,
                    eval_interval,
                    run_block_ms,
                    files,
                )
                running.append((command, _spawn(command)))
            for entry in running:
                _finish_rules(*entry)
            moved = [
                block
                for _, _, _, run_output in runs
                for block in move_blocks(run_output, prometheus.tsdb_dir)
            ]
            blocks += len(moved)
            restart_began = time.monotonic()
            prometheus.restart()
            restart_seconds += time.monotonic() - restart_began
            logger.info(
                "rule level %d (%d rules) backfilled in %.1fs: %d blocks",
                level,
                len(selected),
                time.monotonic() - level_began,
                len(moved),
            )
    return RuleBackfillReport(
        tuple(levels),
        blocks,
        time.monotonic() - began,
        restart_seconds,
        tuple(str(path) for path in stable_paths),
    )


def _range_not_ending_at(boundary: int, block_ms: int) -> int | None:
    """The smallest block range above ``block_ms`` that has no block boundary at
    ``boundary`` (seconds); None if every range ends there."""
    for candidate in BLOCK_RANGES_MS:
        if candidate > block_ms and (boundary * 1000) % candidate:
            return candidate
    logger.warning("every block range ends at %d; its last-second slot may be missing", boundary)
    return None


def _rules_command(
    promtool: str,
    url: str,
    start: int,
    end: int,
    output_dir: Path,
    eval_interval: float,
    block_ms: int,
    files: Sequence[Path],
) -> list[str]:
    return [
        promtool,
        "tsdb",
        "create-blocks-from",
        "rules",
        "--quiet",
        f"--url={url}",
        f"--start={start}",
        f"--end={end}",
        f"--output-dir={output_dir}",
        f"--eval-interval={eval_interval:g}s",
        f"--max-block-duration={block_ms // HOUR_MS}h",
        *(str(path) for path in files),
    ]


def _spawn(command: Sequence[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _finish_rules(command: list[str], process: subprocess.Popen[str]) -> None:
    output, _ = process.communicate()
    if process.returncode:
        raise BackfillError(command, process.returncode, output)


def write_level_files(rules: Sequence[RecordingRule], paths: Sequence[Path]) -> list[Path]:
    """Write each file's rules of one level to its fixed path; the paths written."""
    used: list[Path] = []
    for file_index, file_rules in itertools.groupby(
        sorted(rules, key=lambda rule: rule.file_index), key=lambda rule: rule.file_index
    ):
        groups: dict[str, dict[str, Any]] = {}
        for rule in file_rules:
            group = groups.setdefault(rule.group, {"name": rule.group, "rules": []})
            if rule.interval:
                group["interval"] = rule.interval
            entry: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
            if rule.labels:
                entry["labels"] = dict(rule.labels)
            group["rules"].append(entry)
        path = paths[file_index]
        path.write_text(yaml.safe_dump({"groups": list(groups.values())}, sort_keys=False))
        used.append(path)
    return used
