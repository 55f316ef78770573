"""The benchmark suite (`make bench`) at a small scale, so it cannot rot between runs.

Benchmarks are not tests (they are timed and take half an hour); this runs the cost and
accuracy benchmarks end to end — synthetic data, promtool backfill of raw data and of each
tool's rules level by level, a real Prometheus per tool, `stats=all` — for one SLO over a 7-day
window on one tenant, with our rules and Pyrra's reproduced ones (Sloth needs its binary, which
`bench/install-peers.sh` builds; it is left to `make bench`, which also checks the Pyrra
reproduction against the rules of Pyrra's own build).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from support import paths

# `bench/` is a top-level folder of the repository, not part of the installed package.
sys.path.insert(0, str(paths.REPO))

from bench import data, harness, pyrra, rulesets, run, specs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_pyrra_windows_scale_with_the_slo_window() -> None:
    texts = [
        (pyrra.duration_text(w.short_ms), pyrra.duration_text(w.long_ms))
        for w in pyrra.windows(30 * pyrra.DAY_MS)
    ]
    assert texts == [("5m", "1h4m"), ("32m", "6h26m"), ("2h9m", "1d1h43m"), ("6h26m", "4d6h51m")]


def test_cost_and_accuracy_benchmarks_run_end_to_end(tmp_path: Path) -> None:
    scenario = data.scenario(tenants=1, days=8)
    synthetic_data, raw = harness.raw_blocks(scenario)
    item = specs.BenchSlo("checkout-availability", "checkout", "availability", 99.9, 7)
    at = float(scenario.end - 600)
    sli_times = [at, at - 3600 + 17]
    costs, readings = run.measure_tools(
        ["slo-operator", "pyrra"],
        [item],
        synthetic_data,
        raw,
        tmp_path,
        at=at,
        sli_times=sli_times,
        repeats=1,
    )
    per_minute = {
        tool: sum(c.samples_per_minute for c in costs.rules if c.tool == tool)
        for tool in ("slo-operator", "pyrra")
    }
    # Our raw reads stay short and do not grow with the SLO's window: per raw series and cycle
    # (6 series here: 4 codes of one tenant, 2 of them 5xx), each of level 1's two branches (a
    # counter that grew, one that was reset) reads the current sample, the one a minute ago and
    # the 15 one-minute points of the scrape-gap fallback; the reset branch's `x + 0` one more.
    # A rule may also read one recorded sample (the bad-events rule's zero against the total).
    reads_raw = [
        cost
        for cost in costs.rules
        if cost.tool == "slo-operator"
        and any(":" not in name for name in rulesets.reads(cost.expr))
    ]
    assert reads_raw
    assert sum(cost.samples for cost in reads_raw) <= 6 * (2 * (2 + 15) + 1) + len(reads_raw)
    assert per_minute["slo-operator"] > 0
    assert per_minute["pyrra"] > 5 * per_minute["slo-operator"]
    assert len(readings) == 4
    for reading in readings:
        assert not math.isnan(reading.measured), reading
        assert reading.error_pp < 0.01, reading


def test_ui_benchmark_runs_and_meets_its_target_at_small_scale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bench import bench_ui

    assert bench_ui.main(["--slos", "60", "--repeats", "2"]) == 0
    table = capsys.readouterr().out
    assert "## Web UI page load" in table
    assert table.count(" | met |") == len(bench_ui.PAGES)
