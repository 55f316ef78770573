"""Budget arithmetic: SLI, remaining budget, burn rates, rounding, policy steps, worst groups."""

from __future__ import annotations

import datetime
import math

import pytest

from slo_operator.api import status
from slo_operator.budget import groups, objectives, policy, rounding

T0 = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("target", "bad", "total", "slice_minutes", "sli", "met", "remaining_percent", "remaining"),
    [
        # 1000 events, 99% -> 10 may fail.
        (99.0, 0, 1000, None, 100.0, True, 100.0, "10 events"),
        (99.0, 4, 1000, None, 99.6, True, 60.0, "6 events"),
        (99.0, 10, 1000, None, 99.0, True, 0.0, "0 events"),
        (99.0, 15, 1000, None, 98.5, False, -50.0, "-5 events"),
        (99.9, 1, 1_000_000, None, 99.999, True, 99.9, "999 events"),
        # Timeslices: 10080 one-minute slices in 7d, 99.5% -> 50.4 bad slices allowed.
        (99.5, 20, 10080, 1.0, 99.801, True, 60.3, "30 minutes"),
        (99.5, 60, 10080, 1.0, 99.404, False, -19.1, "-10 minutes"),
        # RatioTimeslices: 5m slices, bad is a sum of slice error ratios.
        (99.0, 2.5, 288, 5.0, 99.131, True, 13.1, "1 minutes"),
        # An SLI a hair below the target is not met, and shows below it.
        (99.9, 1001, 1_000_000, None, 99.899, False, -0.1, "-1 events"),
    ],
)
def test_objective_numbers(
    target: float,
    bad: float,
    total: float,
    slice_minutes: float | None,
    sli: float,
    met: bool,
    remaining_percent: float,
    remaining: str,
) -> None:
    numbers = objectives.objective_numbers(
        "standard", target, objectives.Measurement(bad, total), slice_minutes=slice_minutes
    )
    assert numbers is not None
    status = numbers.status().to_wire()
    assert status["sli"] == sli
    assert status["met"] is met
    assert status["errorBudgetRemainingPercent"] == remaining_percent
    assert status["errorBudgetRemaining"] == remaining
    assert numbers.consumed_percent == pytest.approx(100 - numbers.error_budget_remaining_percent)


@pytest.mark.parametrize(("bad", "total"), [(0, 0), (3, 0), (math.nan, 10), (1, math.nan), (0, -1)])
def test_no_events_means_no_numbers_never_zeros(bad: float, total: float) -> None:
    assert objectives.objective_numbers("x", 99, objectives.Measurement(bad, total)) is None


@pytest.mark.parametrize(
    ("error_ratio", "target", "expected"),
    [(0.01, 99.0, 1.0), (0.144, 99.0, 14.4), (0.0, 99.9, 0.0), (0.0005, 99.9, 0.5)],
)
def test_burn_rate(error_ratio: float, target: float, expected: float) -> None:
    assert objectives.burn_rate(error_ratio, target) == pytest.approx(expected)


@pytest.mark.parametrize("target", [0, 100, -1, 101])
def test_target_must_leave_a_budget(target: float) -> None:
    with pytest.raises(ValueError, match="target"):
        objectives.allowed_error_ratio(target)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (99.412, 3, 99.412),
        (99.41199999999999, 3, 99.412),  # float noise does not drop a step
        (99.4129, 3, 99.412),
        (99.8996, 3, 99.899),  # down, never up to a target it does not reach
        (-0.04, 1, -0.1),  # negative budgets round down too
        (41.25, 1, 41.2),
        (1.004, 2, 1.0),
    ],
)
def test_floor_to(value: float, decimals: int, expected: float) -> None:
    assert rounding.floor_to(value, decimals) == expected


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (1234.9, "events", "1234 events"),
        (-0.5, "events", "-1 events"),
        (43.0, "minutes", "43 minutes"),
    ],
)
def test_budget_amount(amount: float, unit: str, expected: str) -> None:
    assert rounding.budget_amount(amount, unit) == expected


STEPS = [policy.Step("slow-down", 50), policy.Step("freeze", 100)]


@pytest.mark.parametrize(
    ("previous", "consumed", "active", "crossed", "cleared"),
    [
        ((), 10, (), (), ()),
        ((), 50, ("slow-down",), ("slow-down",), ()),
        ((), 120, ("slow-down", "freeze"), ("slow-down", "freeze"), ()),
        (("slow-down",), 60, ("slow-down",), (), ()),
        # Hysteresis: a step stays until consumption is 5 points below its mark.
        (("slow-down",), 46, ("slow-down",), (), ()),
        (("slow-down",), 44.9, (), (), ("slow-down",)),
        (("slow-down", "freeze"), 97, ("slow-down", "freeze"), (), ()),
        (("slow-down", "freeze"), 90, ("slow-down",), (), ("freeze",)),
        # A step that was not active needs its full mark.
        (("slow-down",), 99, ("slow-down",), (), ()),
    ],
)
def test_policy_steps(
    previous: tuple[str, ...],
    consumed: float,
    active: tuple[str, ...],
    crossed: tuple[str, ...],
    cleared: tuple[str, ...],
) -> None:
    before = policy.PolicyState(previous, T0 if previous else None)
    transition = policy.advance(STEPS, consumed, before, T0 + datetime.timedelta(hours=1))
    assert transition.state.active_steps == active
    assert transition.crossed == crossed
    assert transition.cleared == cleared


def test_policy_since_moves_only_when_a_higher_step_is_reached() -> None:
    later = T0 + datetime.timedelta(hours=1)
    first = policy.advance(STEPS, 55, policy.PolicyState(), T0)
    assert first.state.since == T0
    same = policy.advance(STEPS, 70, first.state, later)
    assert same.state.since == T0
    higher = policy.advance(STEPS, 100, same.state, later)
    assert higher.state.since == later
    lower = policy.advance(STEPS, 80, higher.state, later + datetime.timedelta(hours=1))
    assert lower.state.active_steps == ("slow-down",)
    assert lower.state.since == later
    cleared = policy.advance(STEPS, 0, lower.state, later)
    assert cleared.state == policy.PolicyState((), None)
    assert cleared.state.status().to_wire() == {"activeSteps": []}
    assert higher.state.status().to_wire() == {
        "activeSteps": ["slow-down", "freeze"],
        "since": "2026-11-27T11:00:00Z",
    }


def test_worst_groups_are_bounded_and_ordered() -> None:
    made = []
    for index in range(15):
        numbers = objectives.objective_numbers(
            "standard", 99.0, objectives.Measurement(index, 1000)
        )
        assert numbers is not None
        made.append(groups.GroupNumbers({"tenant": f"t{index:02d}"}, numbers))
    worst = groups.worst(made, limit=3)
    assert [g.labels["tenant"] for g in worst] == ["t14", "t13", "t12"]
    assert worst[0].status().to_wire() == {
        "labels": {"tenant": "t14"},
        "sli": 98.6,
        "errorBudgetRemainingPercent": -40.0,
    }
    assert len(groups.worst(made)) == groups.WORST_GROUPS_LIMIT


# --- groups whose traffic stopped ---------------------------------------------------------------


HOUR = datetime.timedelta(hours=1)


def test_quiet_groups_keep_their_last_numbers_marked_no_data_until_a_window_passed() -> None:
    t0 = datetime.datetime(2026, 1, 10, 12, tzinfo=datetime.UTC)
    previous = [
        status.GroupStatus.model_validate(entry)
        for entry in (
            {"labels": {"tenant": "acme"}, "sli": 99.9, "errorBudgetRemainingPercent": 80.0},
            {"labels": {"tenant": "globex"}, "sli": 98.0, "errorBudgetRemainingPercent": -5.0},
        )
    ]
    # globex's series vanished: it stays, with its last numbers, marked since now (the
    # microseconds of the cycle's clock are not written).
    first = groups.quiet(
        ("tenant",), previous, [], [("acme",)], t0.replace(microsecond=4321), t0 - HOUR
    )
    assert [entry.to_wire() for entry in first] == [
        {
            "labels": {"tenant": "globex"},
            "sli": 98.0,
            "errorBudgetRemainingPercent": -5.0,
            "noData": True,
            "noDataSince": "2026-01-10T12:00:00Z",
        }
    ]
    # Later it keeps the time it first went quiet; initech counts zero events: new, no numbers.
    later = t0 + datetime.timedelta(minutes=30)
    second = groups.quiet(("tenant",), first, [("initech",)], [("acme",)], later, later - HOUR)
    assert [(g.to_wire()["labels"]["tenant"], g.to_wire()["noDataSince"]) for g in second] == [
        ("globex", "2026-01-10T12:00:00Z"),
        ("initech", "2026-01-10T12:30:00Z"),
    ]
    assert "sli" not in second[1].to_wire()
    # Traffic again: measured, not quiet.
    assert groups.quiet(("tenant",), first, [], [("acme",), ("globex",)], later, t0) == []
    # Quiet for a whole window: dropped.
    end = t0 + datetime.timedelta(hours=1, minutes=1)
    assert groups.quiet(("tenant",), first, [], [("acme",)], end, end - HOUR) == []
