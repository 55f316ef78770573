"""Running the real `promtool` on generated rule files: Debian's Prometheus 2 (`make setup`) or
Prometheus 3 (`hack/build-engines.sh`, built on first use), picked by `release`."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from testkit import engines

from . import rule_yaml

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
RELEASES = ("prometheus2", "prometheus3")
"""The Prometheus majors whose promtool every generated rule file must satisfy."""


def binary(release: str) -> str:
    """The promtool of `release` (one of RELEASES)."""
    if release == "prometheus2":
        return PROMTOOL
    if release == "prometheus3":
        return engines.prometheus3_binaries()[1]
    raise ValueError(f"unknown release {release!r}; one of {RELEASES}")


@dataclasses.dataclass(frozen=True)
class Result:
    ok: bool
    output: str


def _run(args: Sequence[str], cwd: Path, timeout: float, release: str) -> Result:
    completed = subprocess.run(
        [binary(release), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(ok=completed.returncode == 0, output=completed.stdout + completed.stderr)


def check_rules(
    rule_file: Mapping[str, Any], timeout: float = 120, release: str = "prometheus2"
) -> Result:
    """`promtool check rules` on one rule file."""
    with tempfile.TemporaryDirectory(prefix="promtool-check-") as directory:
        path = Path(directory) / "rules.yaml"
        path.write_text(rule_yaml.dump(dict(rule_file)))
        return _run(["check", "rules", str(path)], Path(directory), timeout, release)


def run_unit_tests(
    rule_file: Mapping[str, Any],
    tests: Sequence[Mapping[str, Any]],
    timeout: float = 600,
    release: str = "prometheus2",
) -> Result:
    """`promtool test rules` with one unit-test file (evaluation every minute) for `rule_file`."""
    with tempfile.TemporaryDirectory(prefix="promtool-test-") as directory:
        (Path(directory) / "rules.yaml").write_text(rule_yaml.dump(dict(rule_file)))
        unit = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": list(tests)}
        (Path(directory) / "tests.yaml").write_text(rule_yaml.dump(unit))
        return _run(["test", "rules", "tests.yaml"], Path(directory), timeout, release)


Key = TypeVar("Key")


def run_parallel(jobs: Mapping[Key, Any], workers: int | None = None) -> dict[Key, Result]:
    """Run `jobs` (name -> zero-argument callable returning a Result) on all cores."""
    count = workers or os.cpu_count() or 1
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def expand_values(notation: str) -> list[float | None]:
    """promtool's expanding notation (`input_series` values) as one value per step, None for
    a missing sample: `a`, `axn` (n+1 times a), `a+bxn`/`a-bxn` (a, a+b, ... a+n*b), `_`,
    `_xn` (n missing)."""
    values: list[float | None] = []
    for token in notation.split():
        if token == "_":
            values.append(None)
        elif token.startswith("_x"):
            values.extend([None] * int(token[2:]))
        elif "x" in token:
            head, _, count = token.partition("x")
            split = max(head.rfind("+"), head.rfind("-"))
            if split > 0 and head[split - 1] not in "eE":
                first, step = float(head[:split]), float(head[split:])
            else:
                first, step = float(head), 0.0
            values.extend(first + step * index for index in range(int(count) + 1))
        else:
            values.append(float(token))
    return values
