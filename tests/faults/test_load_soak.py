"""Load and soak, small: `bench/bench_soak.py` with 200 SLOs and 20 SLAs and a short soak.

The same promises as the benchmark (docs/reliability.md, docs/benchmarks.md "Load and soak"):
every object Ready with numbers; in the steady state (the data does not change) the loop writes
nothing, neither status patches nor any other apiserver write; queries per cycle grow with the
distinct windows and periods, not with the objects; no evaluation error; resident memory flat.
"""

from __future__ import annotations

import pytest

from bench import bench_soak

pytestmark = pytest.mark.timeout(300)

SLOS, SLAS = 200, 20
QUERY_BOUND = 20
"""Queries per cycle: a few per distinct window (3 here) and per SLA period, independent of the
object count (10,000 SLOs take 16 in bench_evaluation)."""


def test_hundreds_of_slos_and_slas_settle_and_stay_flat() -> None:
    results = bench_soak.measure(SLOS, SLAS, soak_seconds=30, interval=3, ready_timeout=150)
    print(bench_soak.render(results))
    assert results["slos_ready_seconds"] < 150
    assert results["slas_ready_seconds"] < 150
    assert results["soak_cycles"] >= 5
    assert results["evaluation_errors"] == 0
    assert results["status_patches_per_cycle"] == 0
    assert results["apiserver_writes_per_cycle"] == 0
    assert 0 < results["queries_per_cycle"] <= QUERY_BOUND
    # Flat: the last minute within 10% (and at least 10 MB of noise) of the first.
    growth = results["rss_last_minute_mb"] - results["rss_first_minute_mb"]
    assert growth < max(10.0, 0.1 * results["rss_first_minute_mb"]), results
