"""The reader of promtool's expanding notation, which feeds the same input series to engines
without unit tests (vmalert)."""

from __future__ import annotations

import pytest

from support import promtool


@pytest.mark.parametrize(
    ("notation", "values"),
    [
        ("0 1+1x2", [0, 1, 2, 3]),
        ("5x2", [5, 5, 5]),
        ("10-2x2 _x2 _ 7", [10, 8, 6, None, None, None, 7]),
        ("0 1.5e+2+0.5x1", [0, 150, 150.5]),
        ("-3+3x1", [-3, 0]),
    ],
)
def test_expanding_notation(notation: str, values: list[float | None]) -> None:
    assert promtool.expand_values(notation) == values
