"""SLA history: each closed period exactly once, newest first, bounded, never rewritten
(budget/sla_history.py)."""

from __future__ import annotations

import datetime
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies

from slo_operator.api import sla, status
from slo_operator.budget import sla_history

UTC = datetime.UTC


def month(year: int, number: int, credit: float = 0.0) -> status.PeriodStatus:
    start = datetime.datetime(year, number, 1, tzinfo=UTC)
    end = datetime.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return status.PeriodStatus(start=start, end=end, credit_percent=credit)


def starts(history: list[status.PeriodStatus]) -> list[str]:
    return [entry.start.strftime("%Y-%m") for entry in history]


@pytest.mark.parametrize(
    ("history", "closed", "limit", "expected"),
    [
        ([], [month(2026, 10)], 12, ["2026-10"]),
        ([month(2026, 9)], [month(2026, 10)], 12, ["2026-10", "2026-09"]),
        # Several missed periods, offered in any order, land newest first.
        (
            [month(2026, 9)],
            [month(2026, 11), month(2026, 10)],
            12,
            ["2026-11", "2026-10", "2026-09"],
        ),
        # Bounded by the limit: the oldest go.
        (
            [month(2026, 9), month(2026, 8)],
            [month(2026, 10)],
            2,
            ["2026-10", "2026-09"],
        ),
        # A lowered historyLimit trims existing history too.
        ([month(2026, 9), month(2026, 8), month(2026, 7)], [], 1, ["2026-09"]),
        # A period older than every entry of a full history is dropped at once.
        ([month(2026, 9), month(2026, 8)], [month(2026, 1)], 2, ["2026-09", "2026-08"]),
        # Offered twice in one call: once.
        ([], [month(2026, 10), month(2026, 10)], 12, ["2026-10"]),
        # Duplicates left by anything else are collapsed to the first.
        ([month(2026, 10), month(2026, 10, credit=10)], [], 12, ["2026-10"]),
    ],
)
def test_close_periods(
    history: list[status.PeriodStatus],
    closed: list[status.PeriodStatus],
    limit: int,
    expected: list[str],
) -> None:
    assert starts(sla_history.close_periods(history, closed, limit)) == expected


def test_nothing_in_history_is_rewritten() -> None:
    told = month(2026, 10, credit=10)
    remeasured = month(2026, 10, credit=25)
    history = sla_history.close_periods([told], [remeasured, month(2026, 11)], 12)
    assert history[1] is told
    assert history[1].credit_percent == 10


def test_same_instant_in_another_offset_is_the_same_period() -> None:
    berlin = datetime.timezone(datetime.timedelta(hours=1))
    entry = month(2026, 11)
    same = entry.model_copy(update={"start": entry.start.astimezone(berlin)})
    assert starts(sla_history.close_periods([entry], [same], 12)) == ["2026-11"]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sla_history.close_periods([], [], 0)


def test_restart_does_not_duplicate() -> None:
    # Down from 20 October to 5 January: October, November and December are closed on return;
    # a second restart offers them again and nothing changes.
    spec = agreement(historyLimit=12)
    history = [month(2026, 9)]
    since = datetime.datetime(2026, 10, 1, tzinfo=UTC)  # status.currentPeriod.start
    until = datetime.datetime(2027, 1, 5, tzinfo=UTC)
    missed = sla_history.periods_to_close(spec, history, since, until)
    assert [p.start.strftime("%Y-%m") for p in missed] == ["2026-10", "2026-11", "2026-12"]
    closed = [month(p.start.year, p.start.month, credit=10) for p in missed]
    history = sla_history.close_periods(history, closed, spec.history_limit)
    assert starts(history) == ["2026-12", "2026-11", "2026-10", "2026-09"]
    # The restart: the status still shows October as current if the patch was lost...
    assert sla_history.periods_to_close(spec, history, since, until) == []
    assert sla_history.close_periods(history, closed, spec.history_limit) == history


def agreement(**fields: Any) -> sla.ServiceLevelAgreementSpec:
    wire: dict[str, Any] = {
        "customer": "acme-store",
        "period": "Month",
        "commitments": [{"name": "checkout", "sloRef": {"name": "checkout"}, "target": 99.5}],
    }
    wire.update(fields)
    return sla.ServiceLevelAgreementSpec.model_validate(wire)


@pytest.mark.parametrize(
    ("history", "since", "until", "limit", "expected"),
    [
        # A new SLA, or `evaluate --at`: reconstructed from data, the newest `limit` periods.
        ([], None, "2026-11-27T10:00:00Z", 3, ["2026-08", "2026-09", "2026-10"]),
        # Already closed ones are not measured again.
        ([month(2026, 10)], None, "2026-11-27T10:00:00Z", 3, ["2026-08", "2026-09"]),
        # Nothing ended since the current period started.
        ([], "2026-11-01T00:00:00Z", "2026-11-27T10:00:00Z", 12, []),
        # Exactly at the boundary the period just ended is closed.
        ([], "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", 12, ["2026-11"]),
        # A full history: older periods would be pruned at once, so they are not measured.
        (
            [month(2026, 10), month(2026, 9)],
            "2026-07-01T00:00:00Z",
            "2026-11-27T10:00:00Z",
            2,
            [],
        ),
    ],
)
def test_periods_to_close(
    history: list[status.PeriodStatus],
    since: str | None,
    until: str,
    limit: int,
    expected: list[str],
) -> None:
    spec = agreement(historyLimit=limit)
    found = sla_history.periods_to_close(
        spec,
        history,
        None if since is None else datetime.datetime.fromisoformat(since),
        datetime.datetime.fromisoformat(until),
    )
    assert [p.start.strftime("%Y-%m") for p in found] == expected


# --- properties --------------------------------------------------------------------------------

month_numbers = strategies.integers(min_value=0, max_value=47)  # 2024-01 .. 2027-12


def numbered(index: int, credit: float) -> status.PeriodStatus:
    return month(2024 + index // 12, index % 12 + 1, credit)


offers = strategies.lists(
    strategies.tuples(month_numbers, strategies.sampled_from([0.0, 10.0, 25.0])), max_size=8
)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    calls=strategies.lists(offers, min_size=1, max_size=6),
    limit=strategies.integers(min_value=1, max_value=12),
)
def test_history_never_duplicates_and_never_rewrites(
    calls: list[list[tuple[int, float]]], limit: int
) -> None:
    history: list[status.PeriodStatus] = []
    first_written: dict[datetime.datetime, float | None] = {}
    for offer in calls:
        closed = [numbered(index, credit) for index, credit in offer]
        updated = sla_history.close_periods(history, closed, limit)
        keys = [entry.start for entry in updated]
        assert len(keys) == len(set(keys))
        assert keys == sorted(keys, reverse=True)
        assert len(updated) <= limit
        for entry in updated:
            # What was once written keeps its numbers as long as it is kept.
            first_written.setdefault(entry.start, entry.credit_percent)
            assert entry.credit_percent == first_written[entry.start]
        # Idempotent: the same offer again changes nothing.
        assert sla_history.close_periods(updated, closed, limit) == updated
        # Nothing pruned comes back.
        pruned = {e.start for e in history} - set(keys)
        if pruned:
            assert max(pruned) < min(keys)
        history = updated
