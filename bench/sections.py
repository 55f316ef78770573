"""The benchmarks that measure one thing each and render their own section of the page.

Each is a `Section`: `measure()` returns plain data (saved in docs/benchmarks/results.json),
`render(data)` the Markdown section, `summary(data)` its rows of the page's summary table. To add
a benchmark, add a `Section` to `SECTIONS`: `make bench` runs it, `BENCH_ONLY=<name> make bench`
runs it alone, and the page shows it from the saved data.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from . import (
    bench_engines,
    bench_evaluate_offline,
    bench_evaluation,
    bench_operator_scale,
    bench_soak,
    bench_ui,
)

Data = dict[str, Any]
SummaryRow = dict[str, Any]
"""`measure`, `target`, `result` (text), `ratio` (result / target; ≤ 1 is met), `met`."""


@dataclasses.dataclass(frozen=True)
class Section:
    name: str
    """For `BENCH_ONLY` and the key in results.json."""
    measure: Callable[[], Data]
    render: Callable[[Data], str]
    summary: Callable[[Data], list[SummaryRow]]


def _soak(size: bench_soak.Size) -> Data:
    """The load-and-soak section at the size `BENCH_SOAK_SLOS` picks (default 1,000 SLOs)."""
    return bench_soak.measure(size.slos, size.slas, size.soak_seconds, 30.0)


SECTIONS = (
    Section(
        "evaluate-offline",
        lambda: bench_evaluate_offline.measure(10_000),
        bench_evaluate_offline.render,
        bench_evaluate_offline.summary,
    ),
    Section(
        "evaluation-cycle",
        lambda: bench_evaluation.measure_in_fresh_process(10_000),
        bench_evaluation.render,
        bench_evaluation.summary,
    ),
    Section(
        "engines-cycle",
        lambda: bench_engines.measure(1_000, cycles=5),
        bench_engines.render,
        lambda measured: [],
    ),
    Section(
        "operator-scale",
        bench_operator_scale.measure_all,
        bench_operator_scale.render_section,
        bench_operator_scale.summary,
    ),
    Section(
        "soak",
        lambda: _soak(bench_soak.size_from_environment(os.environ)),
        bench_soak.render,
        lambda measured: [],
    ),
    Section("ui", bench_ui.measure, bench_ui.render, bench_ui.summary),
)
"""In page order, after the comparison with the peers."""


BY_NAME = {section.name: section for section in SECTIONS}
