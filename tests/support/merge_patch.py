"""JSON merge patch (RFC 7396) as the apiserver applies the status patches the operator sends.

Tests that stand in for the watch apply each patch with this, not with a shallow `dict` update:
a shallow update would hide a patch that leaves an old key behind inside a nested object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def apply(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """`target` after `patch`: objects merge key by key, null removes a key, anything else
    (lists too) replaces the value."""
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping):
            current = result.get(key)
            result[key] = apply(current if isinstance(current, Mapping) else {}, value)
        else:
            result[key] = value
    return result
