"""Error budget policy steps: which are reached, which were just crossed, and since when.

A step is reached when the consumed share of the primary objective's budget is at least its
`whenConsumedPercent`. It stays reached until consumption falls `HYSTERESIS_PERCENT` below that
mark, so a budget hovering around a step does not fire its actions on every evaluation.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

from ..api import status as status_api

HYSTERESIS_PERCENT = 5.0
"""Percentage points of budget by which consumption must recover before a step clears."""


@dataclasses.dataclass(frozen=True)
class Step:
    """The part of a policy step the arithmetic needs."""

    name: str
    when_consumed_percent: float


@dataclasses.dataclass(frozen=True)
class PolicyState:
    """What `status.policy` holds: the steps reached and when the highest was reached."""

    active_steps: tuple[str, ...] = ()
    since: datetime.datetime | None = None
    unannounced: tuple[tuple[str, datetime.datetime], ...] = ()
    """(step, when it was crossed) of the crossings whose actions are not yet carried out."""

    def status(self) -> status_api.PolicyStatus:
        """`status.policy`; `since` is set to None once no step is active, `unannounced` once
        every crossing is announced (so they are removed)."""
        return status_api.PolicyStatus(
            active_steps=list(self.active_steps),
            since=self.since,
            unannounced=[
                status_api.PolicyAnnouncement(step=step, at=at) for step, at in self.unannounced
            ]
            or None,
        )

    @classmethod
    def of(cls, stored: status_api.PolicyStatus | None) -> PolicyState:
        """The state `status.policy` recorded (a restarted operator starts from it)."""
        if stored is None:
            return cls()
        pending = tuple((item.step, item.at) for item in stored.unannounced or ())
        return cls(tuple(stored.active_steps), stored.since, pending)


@dataclasses.dataclass(frozen=True)
class Transition:
    """The new state and what changed on the way to it."""

    state: PolicyState
    crossed: tuple[str, ...]
    """Steps reached now that were not before: their actions run, once."""
    cleared: tuple[str, ...]
    """Steps no longer reached."""


def advance(
    steps: Sequence[Step],
    consumed_percent: float,
    previous: PolicyState,
    now: datetime.datetime,
) -> Transition:
    """The policy state after measuring `consumed_percent` of the budget at `now`.

    `since` moves to `now` when a step higher than every previously active one is crossed; it
    is kept otherwise (when the highest step clears, the time the lower one was reached is not
    known, and the older `since` is the honest lower bound of how long the policy has applied).
    """
    was_active = set(previous.active_steps)
    ordered = sorted(steps, key=lambda step: (step.when_consumed_percent, step.name))
    active: list[str] = []
    for step in ordered:
        threshold = step.when_consumed_percent
        if step.name in was_active:
            threshold -= HYSTERESIS_PERCENT
        if consumed_percent >= threshold:
            active.append(step.name)
    crossed = tuple(name for name in active if name not in was_active)
    cleared = tuple(name for name in previous.active_steps if name not in active)
    since = previous.since if active else None
    rank = {step.name: index for index, step in enumerate(ordered)}
    previous_top = max((rank[name] for name in was_active if name in rank), default=-1)
    if any(rank[name] > previous_top for name in crossed) or (active and since is None):
        since = now
    return Transition(PolicyState(tuple(active), since), crossed, cleared)
