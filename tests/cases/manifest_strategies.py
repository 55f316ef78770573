"""Hypothesis strategies for hostile manifests: valid bases with one value replaced by anything.

Shared by the unit tier (the loader never raises) and the cluster tier (nothing the apiserver
rejects passes `slo-operator validate`).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies

from . import invalid_manifests

_NEAR_MISSES = ["30d", "1h", "0s", "Month", "UTC", "up", 'x{a="b"}', "standard", "Webhook", ""]
"""Values valid somewhere in the API, so mutations also hit the rules beyond type checks."""


def json_values(*, finite: bool = False) -> strategies.SearchStrategy[Any]:
    """Arbitrary JSON-like data; `finite` leaves out NaN and infinities, which JSON lacks."""
    scalars = (
        strategies.none()
        | strategies.booleans()
        | strategies.integers()
        | strategies.floats(allow_nan=not finite, allow_infinity=not finite)
        | strategies.text(max_size=20)
        | strategies.sampled_from(_NEAR_MISSES)
    )
    return strategies.recursive(
        scalars,
        lambda children: (
            strategies.lists(children, max_size=4)
            | strategies.dictionaries(strategies.text(max_size=12), children, max_size=4)
        ),
        max_leaves=20,
    )


def paths_of(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into a JSON-like value, the value's own (empty) path first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*prefix, index))
    return found


@strategies.composite
def mutated_manifests(
    draw: strategies.DrawFn, *, under: str = "", finite: bool = False
) -> dict[str, Any]:
    """A valid base manifest with one value (below the top-level key `under`, if given)
    replaced by arbitrary data."""
    base = draw(strategies.sampled_from(list(invalid_manifests.VALID_BASES.values())))
    manifest: dict[str, Any] = json.loads(json.dumps(base))
    candidates = [path for path in paths_of(manifest)[1:] if not under or path[0] == under]
    path = draw(strategies.sampled_from(candidates))
    node: Any = manifest
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = draw(json_values(finite=finite))
    return manifest
