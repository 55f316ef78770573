"""One row of the summary table of docs/benchmarks.md, the same for every benchmark."""

from __future__ import annotations

from typing import Any


def row(measure: str, target: str, result: str, ratio: float, met: bool) -> dict[str, Any]:
    """`ratio` is the result divided by the target (at most 1 when met; NaN when not run)."""
    return {"measure": measure, "target": target, "result": result, "ratio": ratio, "met": met}
