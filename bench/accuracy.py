"""Benchmark 2: each tool's long-window SLI against the ground truth.

At several instants over the last hours of the data (at different minutes of the hour), read
each tool's 30-day SLI the way its dashboards do (:func:`bench.harness.sli_query`) and compare it
with the exact SLI of the 30 days ending at that instant, computed from the generated events
(:mod:`testkit.synthetic`), never from Prometheus. slo-generator computes the same
SLI with its Prometheus backend against the same server (:mod:`bench.slo_generator_sli`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
from collections.abc import Sequence

from testkit import synthetic

from . import harness, peers, specs


@dataclasses.dataclass(frozen=True)
class Reading:
    tool: str
    slo: str
    time: float
    measured: float
    """SLI as a fraction (NaN when the tool returned nothing)."""
    truth: float

    @property
    def error_pp(self) -> float:
        """Absolute error in percentage points."""
        return abs(self.measured - self.truth) * 100


def truth(data: synthetic.SyntheticData, item: specs.BenchSlo, at: float) -> float:
    window = item.window_days * synthetic.DAY
    return data.counts(start=at - window, end=at, **specs.truth_selectors(item)).ratio


def read_tool(
    tool_server: harness.ToolServer,
    data: synthetic.SyntheticData,
    items: Sequence[specs.BenchSlo],
    times: Sequence[float],
) -> list[Reading]:
    readings = []
    for item in items:
        query = harness.sli_query(tool_server.tool, item)
        for at in times:
            result = tool_server.server.query(query, at)
            measured = result[0].value if len(result) == 1 else math.nan
            readings.append(
                Reading(tool_server.tool, item.name, at, measured, truth(data, item, at))
            )
    return readings


def read_slo_generator(
    url: str,
    data: synthetic.SyntheticData,
    items: Sequence[specs.BenchSlo],
    times: Sequence[float],
) -> tuple[list[Reading], dict[str, list[str]]]:
    """slo-generator's readings, and the queries it sent for each SLO."""
    slos = []
    for item in items:
        if item.kind == "availability":
            good = f'http_requests_total{{job="{item.job}",code!~"5.."}}'
        else:
            good = item.good
        slos.append({"name": item.name, "filter_good": good, "filter_valid": item.total})
    window = max(item.window_days for item in items) * synthetic.DAY
    request = {"url": url, "timestamps": list(times), "window": window, "slos": slos}
    done = subprocess.run(
        [
            str(peers.slo_generator_bin() / "python"),
            str(peers.BENCH_DIR / "slo_generator_sli.py"),
            json.dumps(request),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    by_name = {item.name: item for item in items}
    readings = []
    queries: dict[str, list[str]] = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        item = by_name[row["name"]]
        queries[item.name] = row["queries"]
        measured = math.nan if row["sli"] is None else float(row["sli"])
        readings.append(
            Reading(
                "slo-generator", item.name, row["time"], measured, truth(data, item, row["time"])
            )
        )
    return readings, queries
