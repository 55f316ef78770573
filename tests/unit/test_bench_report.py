"""docs/benchmarks.md is rendered from one run's results alone: a section not run says so, no
section of an earlier page survives, and the summary shows each target, result and ratio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from support import paths

# `bench/` is a top-level folder of the repository, not part of the installed package.
sys.path.insert(0, str(paths.REPO))

from bench import bench_engines, bench_evaluate_offline, bench_soak, report, run


def _results(**overrides: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "started": "2026-12-01 20:00 UTC",
        "environment": {"cpu": "2 x test", "wall time": "1.0 min"},
        "peers": {"sloth": {"name": "sloth", "status": "built", "detail": "v0.16.0"}},
        "scenario": {},
        "at": 0.0,
        "sli_times": [],
        "costs": [],
        "readings": [],
        "alerts": [],
        "generate": [],
        "generate_phases": {},
        "generate_profiles": {},
        "sections": {},
        "run": [],
    }
    results.update(overrides)
    return results


def _timing(tool: str, seconds: float) -> dict[str, Any]:
    return {
        "tool": tool,
        "command": f"{tool} generate",
        "mean_seconds": seconds,
        "stddev_seconds": 0.1,
        "min_seconds": seconds - 0.1,
        "runs": 3,
        "slos": 10_000,
        "rules": 170_000,
    }


def _write(results: dict[str, Any], tmp_path: Path, previous: str = "") -> str:
    page = tmp_path / "benchmarks.md"
    page.write_text(previous)
    (tmp_path / "benchmarks").mkdir(exist_ok=True)
    run.write_report(results, page)
    return page.read_text()


def test_a_generate_only_run_shows_its_figures_and_names_what_was_not_run(
    tmp_path: Path,
) -> None:
    profile = {"total": 9.5, "rows": [[9.0, 0.1, 1, "slo_operator/cli/generate.py:1(run)"]]}
    results = _results(
        run=["generate"],
        generate=[_timing("slo-operator", 4.0), _timing("sloth", 5.0)],
        generate_profiles={
            "before": {"commit": "a87810f", **profile},
            "after": {"commit": "this run's", **profile},
        },
    )
    text = _write(results, tmp_path, previous="# Old\n\n## Operator at scale\n\nold numbers\n")
    assert (
        "| `generate` for 10,000 SLOs vs `sloth generate` | ≤ Sloth's time | 4.0 s vs 5.0 s "
        in text
    )
    assert "| 0.80 | yes |" in text
    assert "### Profiles, before and after" in text
    assert "commit `a87810f`" in text
    not_run = next(line for line in text.splitlines() if line.startswith("Not run in this run"))
    for name in report.all_sections():
        assert (f"`{name}`" in not_run) == (name != "generate"), name
    # Nothing of the earlier page is kept.
    assert "## Operator at scale" not in text
    assert "old numbers" not in text


def test_a_section_benchmark_adds_its_section_and_its_summary_rows(tmp_path: Path) -> None:
    measured = {
        "slos": 10_000,
        "windows": ["1d", "7d", "30d"],
        "seconds": 25.0,
        "queries": 22,
        "raw_series_slos": 10_000,
        "exact_slos": 10_000,
        "expected_sli": 99.7,
        "command": "slo-operator evaluate ...",
    }
    text = _write(
        _results(run=["evaluate-offline"], sections={"evaluate-offline": measured}), tmp_path
    )
    assert bench_evaluate_offline.SECTION in text
    assert "no recorded series: wall time | ≤ 20 s | 25.0 s | 1.25 | **no** |" in text
    assert "no recorded series: queries sent | ≤ 100 | 22 | 0.22 | yes |" in text
    assert "target missed** (25.0 s)" in text
    assert "## 3. Offline `generate` throughput\n\nNot run in this run." in text


@pytest.mark.parametrize("only", ["generate,nonsense", "cost,evaluate"])
def test_an_unknown_section_name_is_refused_before_anything_runs(
    only: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run.main(["--only", only])
    assert exited.value.code == 2
    assert "unknown section(s)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", bench_soak.Size(1_000, 100, 300.0)),
        ("10000", bench_soak.Size(10_000, 1_000, 600.0)),
        ("2,000", bench_soak.Size(2_000, 200, 300.0)),
    ],
)
def test_the_soak_runs_1000_slos_unless_bench_soak_slos_asks_for_more(
    value: str, expected: bench_soak.Size
) -> None:
    assert bench_soak.size_from_environment({"BENCH_SOAK_SLOS": value}) == expected
    assert bench_soak.size_from_environment({}) == bench_soak.SIZES["default"]


@pytest.mark.parametrize("value", ["many", "5", "-10"])
def test_a_bad_soak_size_is_refused_naming_the_variable_before_anything_runs(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BENCH_SOAK_SLOS", value)
    with pytest.raises(SystemExit) as exited:
        run.main(["--only", "soak"])
    assert exited.value.code == 2
    assert f"BENCH_SOAK_SLOS={value!r}" in capsys.readouterr().err


def test_the_soak_section_says_which_size_ran_and_how_to_run_the_other(tmp_path: Path) -> None:
    measured = {
        "slos": 1_000,
        "slas": 100,
        "interval": 30.0,
        "series": 23_000,
        "backfill_seconds": 12.0,
        "apply_seconds": 80.0,
        "slos_ready_seconds": 189.0,
        "slas_ready_seconds": 190.0,
        "cpu_until_ready_seconds": 60.0,
        "soak_seconds": 300.0,
        "soak_cycles": 10,
        "cycle_seconds_mean": 0.8,
        "cpu_per_cycle_seconds": 0.3,
        "queries_per_cycle": 17.0,
        "status_patches_per_cycle": 0.0,
        "apiserver_writes_per_cycle": 0.0,
        "evaluation_errors": 0,
        "metrics_scrape_seconds": 0.1,
        "rss_idle_mb": 100.0,
        "rss_after_ready_mb": 150.0,
        "rss_first_minute_mb": 151.0,
        "rss_last_minute_mb": 151.0,
        "rss_peak_mb": 152.0,
        "measured": "2026-12-01 23:00 UTC",
        "load_average_end": 3.0,
    }
    text = _write(_results(run=["soak"], sections={"soak": measured}), tmp_path)
    assert "Size run: **1,000 SLOs and 100 SLAs**" in text
    assert "`BENCH_SOAK_SLOS=10000 make bench` runs 10,000 SLOs and 1,000 SLAs" in text
    assert "| soak | 300 s, 10 cycles |" in text


def _engine_row(engine: str, seconds: list[float], equal: int) -> dict[str, Any]:
    return {
        "engine": engine,
        "version": f"{engine} 1.0",
        "setup_seconds": 3.0,
        "cycles": [
            {"seconds": s, "cpu_seconds": s / 2, "queries": 16, "patches": 0 if i else 1_000}
            for i, s in enumerate(seconds)
        ],
        "with_sli": 1_000,
        "equal_to_first": equal,
    }


def test_the_engine_section_shows_each_engines_later_cycle_and_its_slos_per_second(
    tmp_path: Path,
) -> None:
    measured = {
        "slos": 1_000,
        "series": 11_600,
        "engines": [
            _engine_row("prometheus2", [1.7, 1.3, 1.9, 1.25, 1.4], 1_000),
            _engine_row("victoriametrics", [1.5, 0.5], 999),
        ],
        "seconds": 60.0,
        "load_before": [3.5, 3.0, 2.0],
        "load_after": [4.0, 3.0, 2.0],
        "cores": 2,
        "date": "2026-12-01 23:00 UTC",
    }
    text = _write(_results(run=["engines-cycle"], sections={"engines-cycle": measured}), tmp_path)
    assert bench_engines.SECTION in text
    # The median of the later cycles (1.3, 1.9, 1.25, 1.4: the lower middle one), not the first.
    assert (
        "| Prometheus 2.42 (Debian) | 1.70 s | 1.30 s | 0.65 s | 16 | 1,000, 0 | 769 "
        "| 1,000 | 1,000 |" in text
    )
    assert (
        "| VictoriaMetrics (single node) | 1.50 s | 0.50 s | 0.25 s | 16 | 1,000, 0 | 2,000 "
        "| 1,000 | 999 |" in text
    )
    assert "equal to Prometheus 2.42 (Debian)'s |" in text
    assert "load average 3.50 3.00 2.00 before, 4.00 3.00 2.00 after" in text


def _cost(tool: str, samples: int, interval: float = 60.0) -> dict[str, Any]:
    return {
        "tool": tool,
        "slo": "checkout-availability",
        "group": f"checkout-availability-{tool}",
        "name": f"{tool}:rule",
        "window": "",
        "expr": "sum(slo:sli_total:sum)",
        "interval_seconds": interval,
        "samples": samples,
        "peak_samples": samples,
        "eval_seconds": 0.002,
    }


def test_rule_cost_per_engine_is_shown_as_ratios_to_ours_and_to_prometheus_2() -> None:
    results = _results(
        costs=[_cost("slo-operator", 1_000), _cost("sloth", 50_000)],
        engine_costs={
            "prometheus3": [_cost("slo-operator", 990), _cost("sloth", 49_000, interval=30.0)]
        },
    )
    text = "\n".join(report._engine_cost_table(results, ["slo-operator", "sloth"], 1))
    assert "| Prometheus 2.42 | slo-operator | 1 | 1,000 | 1,000 | 1 | 1 | 2.0 |" in text
    assert "| Prometheus 2.42 | sloth | 1 | 50,000 | 50,000 | 1/50.0 | 1 | 2.0 |" in text
    assert "| Prometheus 3 | slo-operator | 1 | 990 | 990 | 1 | 0.9900 | 2.0 |" in text
    # Per minute weighs each rule by its group's interval: 49,000 every 30 s.
    assert "| Prometheus 3 | sloth | 1 | 49,000 | 98,000 | 1/99.0 | 1.9600 | 2.0 |" in text


def test_without_a_second_engine_the_cost_section_has_no_engine_table() -> None:
    results = _results(costs=[_cost("slo-operator", 1_000)])
    assert report._engine_cost_table(results, ["slo-operator"], 1) == []
