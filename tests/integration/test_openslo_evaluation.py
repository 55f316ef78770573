"""OpenSLO import on a real Prometheus: the manifests `slo-operator convert --from openslo` makes
of tests/data/openslo/ evaluate to the same numbers as the hand-written examples they express.

Six hours of raw data for the examples' services (with an error burst, slow requests and a failed
probe) are backfilled with promtool, then the converted manifests' recording rules level by level
(`testing.backfill.backfill_rules`); `slo-operator evaluate --at` reads the same recorded series
for both sets, so any difference in what the conversion made of windows, calendars, targets,
thresholds or timeslices shows as a different status. The statuses are compared whole (SLIs,
budgets, burn rates, window starts, conditions), less the examples' error-budget policy, which
OpenSLO cannot express.
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from slo_operator.api import slo, validation
from slo_operator.rules import render
from support import paths
from testkit import backfill, prometheus

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

OPENSLO = paths.REPO / "tests" / "data" / "openslo"
HOURS = 6
STEP = 60
BURST = range(2 * 3600, 2 * 3600 + 20 * 60)
"""Seconds after the start of the data during which errors, slow requests and probes fail."""


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "slo-operator"), *arguments],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return completed


def _series(
    name: str,
    labels: dict[str, str],
    value: Callable[[bool], float],
    end: int,
    counter: bool = True,
) -> Iterator[str]:
    """One sample a STEP; value(in the burst) is the counter's increase since the last sample,
    or the gauge's value."""
    rendered = ",".join(f'{key}="{value}"' for key, value in labels.items())
    start = end - HOURS * 3600
    current = 0.0
    for moment in range(start, end + 1, STEP):
        step = value(moment - start in BURST)
        current = (current + step if moment > start else 0.0) if counter else step
        yield f"{name}{{{rendered}}} {current} {moment}"


def _openmetrics(end: int) -> str:
    lines = ["# TYPE http_requests counter"]
    for tenant, code in itertools.product(("acme", "other"), ("200", "500")):
        labels = {"job": "checkout", "tenant": tenant, "code": code}
        if code == "200":
            lines += _series("http_requests_total", labels, lambda b: 600, end)
        else:
            lines += _series("http_requests_total", labels, lambda b: 40 if b else 0.3, end)
    lines += _series("http_requests_total", {"job": "catalog", "code": "200"}, lambda b: 300, end)
    lines += _series(
        "http_requests_total", {"job": "catalog", "code": "503"}, lambda b: 9 if b else 0.1, end
    )
    lines.append("# TYPE http_request_duration_seconds histogram")
    fast = {"0.1": 200, "0.15": 285, "0.2": 298, "0.5": 299, "+Inf": 300}
    slow = {"0.1": 100, "0.15": 200, "0.2": 240, "0.5": 290, "+Inf": 300}
    for le in fast:
        lines += _series(
            "http_request_duration_seconds_bucket",
            {"job": "chatbot", "le": le},
            lambda b, le=le: (slow if b else fast)[le],
            end,
        )
    lines += _series("http_request_duration_seconds_count", {"job": "chatbot"}, lambda b: 300, end)
    lines += _series("http_request_duration_seconds_sum", {"job": "chatbot"}, lambda b: 30, end)
    lines.append("# TYPE probe_success gauge")
    lines += _series(
        "probe_success",
        {"job": "blackbox", "target": "catalog"},
        lambda b: 0 if b else 1,
        end,
        counter=False,
    )
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("openslo")
    _cli(
        "convert",
        "--from",
        "openslo",
        "-f",
        str(OPENSLO),
        "-n",
        "shop",
        "-o",
        str(root / "converted"),
    )
    return root


def _slos(path: pathlib.Path) -> list[Any]:
    resources, problems = validation.load_resources([path])
    assert not problems
    return [r for _, r in resources if isinstance(r, slo.ServiceLevelObjective)]


@pytest.fixture(scope="module")
def server(folder: pathlib.Path) -> Iterator[tuple[Any, int]]:
    end = math.floor(time.time() / 3600) * 3600 - 3600
    raw = folder / "raw.om"
    raw.write_text(_openmetrics(end))
    process = backfill.backfill_openmetrics_file(raw, folder / "raw-blocks")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output.decode(errors="replace")
    tsdb = folder / "tsdb"
    backfill.move_blocks(folder / "raw-blocks", tsdb)
    rule_file = folder / "rules.yaml"
    rule_file.write_text(
        yaml.safe_dump(render.render_rule_file(_slos(folder / "converted")), sort_keys=False)
    )
    with prometheus.PrometheusServer(tsdb, work_dir=folder / "prometheus") as running:
        backfill.backfill_rules([rule_file], end - HOURS * 3600 + 600, end, running)
        yield running, end


def _evaluate(server: tuple[Any, int], path: pathlib.Path) -> dict[str, Any]:
    running, end = server
    at = datetime.datetime.fromtimestamp(end, datetime.UTC).isoformat()
    completed = _cli(
        "evaluate", "-f", str(path), "--prometheus-url", running.url, "--at", at, "-o", "json"
    )
    return {item["name"]: item["status"] for item in json.loads(completed.stdout)}


def _without_policy(status: dict[str, Any]) -> dict[str, Any]:
    """The status less what the examples' errorBudgetPolicy adds (OpenSLO has no equivalent):
    the policy steps reached and the ReleaseFreeze condition."""
    kept = {key: value for key, value in status.items() if key != "policy"}
    kept["conditions"] = [c for c in status["conditions"] if c["type"] != "ReleaseFreeze"]
    return kept


def test_converted_manifests_evaluate_to_the_examples_numbers(
    server: tuple[Any, int], folder: pathlib.Path
) -> None:
    examples = sorted(paths.EXAMPLES.glob("*.yaml"))
    examples = [path for path in examples if _slos(path)]
    expected: dict[str, Any] = {}
    for path in examples:
        expected.update(_evaluate(server, path))
    converted = _evaluate(server, folder / "converted")
    assert sorted(converted) == sorted(expected)
    assert len(converted) == len(list(OPENSLO.glob("*.yaml")))
    for name, status in expected.items():
        assert "policy" not in converted[name], name
        assert converted[name] == _without_policy(status), name
    # The numbers are the data's, not empty: every objective has an SLI, and the burst shows.
    for name, status in expected.items():
        for objective in status["objectives"]:
            assert objective["sli"] is not None, (name, objective)
    assert any(
        objective["errorBudgetRemainingPercent"] < 100
        for status in expected.values()
        for objective in status["objectives"]
    )
