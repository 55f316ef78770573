"""The worst groups of a grouped SLO: status holds a bounded list, never every tenant."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence

from ..api import status as status_api
from . import objectives, rounding

WORST_GROUPS_LIMIT = 10
"""How many groups status lists; the metrics endpoint has every group."""


@dataclasses.dataclass(frozen=True)
class GroupNumbers:
    labels: Mapping[str, str]
    numbers: objectives.ObjectiveNumbers
    """The primary objective's numbers for this group."""

    def status(self) -> status_api.GroupStatus:
        """The group's status entry, rounded as `rounding` documents."""
        return status_api.GroupStatus(
            labels=dict(self.labels),
            sli=rounding.sli(self.numbers.sli),
            error_budget_remaining_percent=rounding.budget_percent(
                self.numbers.error_budget_remaining_percent
            ),
        )


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
    previous: Iterable[status_api.GroupStatus],
    without_events: Iterable[tuple[str, ...]],
    measured: Iterable[tuple[str, ...]],
    at: datetime.datetime,
    window_start: datetime.datetime | None,
    limit: int = WORST_GROUPS_LIMIT,
) -> list[status_api.GroupStatus]:
    """Status entries of the groups without events in the window, marked `noData`.

    A group is quiet when the window's sums hold it with no events, or when the previous status
    listed it and the sums no longer hold it at all (its series vanished). It keeps the numbers
    of its previous entry and the time it first went quiet (`noDataSince`, `at` for a new one);
    once a whole window has passed since (`noDataSince` before `window_start`), it is dropped.
    At most `limit` entries, the longest quiet first.
    """
    first_seen = at.replace(microsecond=0)  # as status writes it
    earlier: dict[tuple[str, ...], status_api.GroupStatus] = {}
    for entry in previous:
        earlier[tuple(entry.labels.get(name, "") for name in group_by)] = entry
    measured_keys = set(measured)
    keys = dict.fromkeys(without_events)
    keys.update(dict.fromkeys(key for key in earlier if key not in measured_keys))
    found: list[tuple[datetime.datetime, status_api.GroupStatus]] = []
    for key in keys:
        if key in measured_keys:
            continue
        entry = earlier.get(key) or status_api.GroupStatus(
            labels=dict(zip(group_by, key, strict=True))
        )
        since = (entry.no_data_since if entry.no_data else None) or first_seen
        if window_start is not None and since < window_start:
            continue  # quiet for a whole window: nothing left to say about it
        found.append((since, entry.model_copy(update={"no_data": True, "no_data_since": since})))
    found.sort(key=lambda item: (item[0], sorted(item[1].labels.items())))
    return [entry for _, entry in found[:limit]]
