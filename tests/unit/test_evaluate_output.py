"""`evaluate -o json` writes what `json.dumps(..., indent=2)` writes, byte for byte, also when
statuses repeat (each distinct nested value is indented once and then reused)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from slo_operator.cli import common

_STATUS = {
    "conditions": [
        {"type": "Ready", "status": "True", "reason": "RawSeries", "message": "no recorded series"}
    ],
    "sli": 99.7,
    "burnRates": {},
    "objectives": [{"name": "standard", "target": 99.5, "met": True, "remaining": None}],
}

CASES: dict[str, list[dict[str, Any]]] = {
    "nothing": [],
    "an empty object": [{}],
    "one SLO": [{"kind": "ServiceLevelObjective", "name": "a", "status": _STATUS}],
    "a fleet with equal statuses": [
        {"kind": "ServiceLevelObjective", "name": f"slo-{index}", "status": _STATUS}
        for index in range(5)
    ],
    "equal text at different depths": [
        {"status": {"x": [1]}, "other": {"nested": {"x": [1]}}},
        {"status": {"nested": {"x": [1]}}},
    ],
    "empty containers, scalars, escapes and non-ASCII": [
        {
            "list": [],
            "map": {},
            "none": None,
            "float": 1.5e-7,
            "text": 'Bestellungen für alle\n"quoted"\t\\',
            "deep": [1, [2, {}], {"ü": [{"é": "\u2028"}]}],
        }
    ],
}


@pytest.mark.parametrize("items", list(CASES.values()), ids=list(CASES))
def test_json_list_is_the_standard_librarys_indented_json(items: list[dict[str, Any]]) -> None:
    assert common.json_list(items) == json.dumps(items, indent=2)
