"""Reading untrusted values: every YAML value is checked for its type before it is used."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import reporting, vocabulary


def as_mapping(
    value: Any, at: reporting.At, report: reporting.Report, what: str
) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    report.error(at, f"{what} must be a mapping, got {type_name(value)}")
    return None


def as_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def shorthand_seconds(text: Any) -> tuple[int, str] | None:
    """(seconds, unit) of a duration-shorthand like `5m` or `4w`; None for M/Q/Y or bad input."""
    if not isinstance(text, str):
        return None
    match = vocabulary.SHORTHAND.match(text)
    if not match or match.group(2) in vocabulary.NOMINAL_DAYS:
        return None
    unit_seconds = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[match.group(2)]
    return int(match.group(1)) * unit_seconds, match.group(2)


def slug(text: str) -> str:
    """A DNS label from a display name: `Good experience` -> `good-experience`."""
    return vocabulary.SLUG_INVALID.sub("-", text.lower()).strip("-")[:63].strip("-")
