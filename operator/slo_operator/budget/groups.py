"""The worst groups of a grouped SLO: status holds a bounded list, never every tenant."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

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
