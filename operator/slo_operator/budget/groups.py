"""The worst groups of a grouped SLO: status holds a bounded list, never every tenant."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..api import times
from . import objectives, rounding

WORST_GROUPS_LIMIT = 10
"""How many groups status lists; the metrics endpoint has every group."""


@dataclasses.dataclass(frozen=True)
class GroupNumbers:
    labels: Mapping[str, str]
    numbers: objectives.ObjectiveNumbers
    """The primary objective's numbers for this group."""

    def status(self) -> dict[str, object]:
        """The wire form of `GroupStatus`."""
        return {
            "labels": dict(self.labels),
            "sli": rounding.sli(self.numbers.sli),
            "errorBudgetRemainingPercent": rounding.budget_percent(
                self.numbers.error_budget_remaining_percent
            ),
        }


def worst(groups: Iterable[GroupNumbers], limit: int = WORST_GROUPS_LIMIT) -> list[GroupNumbers]:
    """The `limit` groups with the least budget left (then lowest SLI, then by labels)."""
    return sorted(
        groups,
        key=lambda group: (
            group.numbers.error_budget_remaining_percent,
            group.numbers.sli,
            sorted(group.labels.items()),
        ),
    )[:limit]


def quiet(
    group_by: Sequence[str],
    previous: Iterable[Mapping[str, Any]],
    without_events: Iterable[tuple[str, ...]],
    measured: Iterable[tuple[str, ...]],
    at: datetime.datetime,
    window_start: datetime.datetime | None,
    limit: int = WORST_GROUPS_LIMIT,
) -> list[dict[str, Any]]:
    """Status entries of the groups without events in the window, marked `noData`.

    A group is quiet when the window's sums hold it with no events, or when the previous status
    listed it and the sums no longer hold it at all (its series vanished). It keeps the numbers
    of its previous entry and the time it first went quiet (`noDataSince`, `at` for a new one);
    once a whole window has passed since (`noDataSince` before `window_start`), it is dropped.
    At most `limit` entries, the longest quiet first.
    """
    stamp = times.format_timestamp(at)
    earlier: dict[tuple[str, ...], Mapping[str, Any]] = {}
    for entry in previous:
        labels = entry.get("labels") or {}
        earlier[tuple(str(labels.get(name, "")) for name in group_by)] = entry
    measured_keys = set(measured)
    keys = dict.fromkeys(without_events)
    keys.update(dict.fromkeys(key for key in earlier if key not in measured_keys))
    found: list[dict[str, Any]] = []
    for key in keys:
        if key in measured_keys:
            continue
        entry = dict(earlier.get(key) or {"labels": dict(zip(group_by, key, strict=True))})
        since = entry.get("noDataSince") if entry.get("noData") else None
        since = since or stamp
        if window_start is not None and _parse(since) < window_start:
            continue  # quiet for a whole window: nothing left to say about it
        entry["noData"] = True
        entry["noDataSince"] = since
        found.append(entry)
    found.sort(key=lambda entry: (entry["noDataSince"], sorted(entry["labels"].items())))
    return found[:limit]


def _parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
