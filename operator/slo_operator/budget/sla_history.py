"""Closed SLA periods: which ones to close, and the history they go into.

History is keyed by period start. An entry, once written, is never rewritten: a restart, a
repeated evaluation or a late re-measurement cannot change what a customer was told a period
owed. Closing is idempotent, so the evaluator may simply offer every period it believes closed
on every cycle.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from ..api import sla, slo, status
from . import intervals, periods

_NO_DATA_BEFORE = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
"""Where reconstruction without a lower bound stops at the latest (the newest periods are
returned first, up to historyLimit, so this only matters for very long limits)."""


def _key(moment: datetime.datetime) -> datetime.datetime:
    return intervals.utc(moment)


def close_periods(
    history: Sequence[status.PeriodStatus],
    closed: Iterable[status.PeriodStatus],
    history_limit: int,
) -> list[status.PeriodStatus]:
    """History with the `closed` periods added: newest first, each start once, at most
    `history_limit` entries.

    Entries already in `history` win over offered ones with the same start (and the first of
    duplicates within `history` wins), so nothing written is rewritten and calling again with
    the same periods changes nothing. A period older than every entry of a full history is
    dropped, as it would be pruned at once.
    """
    if history_limit < 1:
        raise ValueError(f"history_limit must be at least 1, got {history_limit}")
    by_start: dict[datetime.datetime, status.PeriodStatus] = {}
    for entry in [*history, *closed]:
        by_start.setdefault(_key(entry.start), entry)
    newest_first = sorted(by_start.items(), key=lambda item: item[0], reverse=True)
    return [entry for _, entry in newest_first[:history_limit]]


def periods_to_close(
    spec: sla.ServiceLevelAgreementSpec,
    history: Sequence[status.PeriodStatus],
    since: datetime.datetime | None,
    until: datetime.datetime,
) -> list[intervals.Interval]:
    """The closed periods the evaluator must still measure, oldest first.

    Those that ended in `(since, until]` (no lower bound when `since` is None), at most
    `historyLimit` of the newest, minus those already in history and those that a full history
    would prune at once. `since` is the start of the period the status last showed as current
    (an operator that was down across period ends closes each one it missed); None
    reconstructs history from the data, as `slo-operator evaluate --at` does.
    """
    limit = spec.history_limit
    candidates = periods.periods_closed_between(
        spec.period,
        spec.time_zone,
        since or _NO_DATA_BEFORE,
        until,
        limit=limit,
        week_start=slo.week_start_index(spec.week_start),
    )
    known = {_key(entry.start) for entry in history}
    kept = sorted(known, reverse=True)[:limit]
    floor = kept[-1] if len(kept) >= limit else None
    return [
        period
        for period in candidates
        if _key(period.start) not in known and (floor is None or period.start > floor)
    ]
