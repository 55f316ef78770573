"""What the evaluator measures for an SLA period, and the attainment and projection from it
(budget/sla_attainment.py). Seconds and counts are worked out by hand in the comments."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from slo_operator.api import sla
from slo_operator.budget import intervals, sla_attainment

UTC = datetime.UTC
Counts = sla_attainment.Counts
Interval = intervals.Interval


def utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).astimezone(UTC)


def span(start: str, end: str) -> Interval:
    return Interval(utc(start), utc(end))


def agreement(**fields: Any) -> sla.ServiceLevelAgreementSpec:
    wire: dict[str, Any] = {
        "customer": "acme-store",
        "period": "Month",
        "timeZone": "UTC",
        "commitments": [
            {"name": "checkout-availability", "sloRef": {"name": "checkout"}, "target": 99.5}
        ],
        "exclusions": [{"name": "weekly", "schedule": "0 2 * * SUN", "duration": "2h"}],
    }
    wire.update(fields)
    return sla.ServiceLevelAgreementSpec.model_validate(wire)


MARCH = span("2026-03-01T00:00Z", "2026-04-01T00:00Z")


def test_plan_of_a_period_in_progress() -> None:
    plan = sla_attainment.plan_measurement(agreement(), MARCH, utc("2026-03-10T12:34:56Z"))
    assert plan.period == MARCH
    assert plan.until == utc("2026-03-10T12:34Z")  # whole minutes only
    assert not plan.complete
    # Sundays 1 and 8 March, 02:00-04:00.
    assert plan.excluded == (
        span("2026-03-01T02:00Z", "2026-03-01T04:00Z"),
        span("2026-03-08T02:00Z", "2026-03-08T04:00Z"),
    )
    # 7 days before 12:34 on the 10th, floored to the hour: 12:00 on the 3rd.
    assert plan.trailing_start == utc("2026-03-03T12:00Z")
    assert plan.pieces == (
        span("2026-03-01T00:00Z", "2026-03-01T02:00Z"),
        span("2026-03-01T04:00Z", "2026-03-03T12:00Z"),
        span("2026-03-03T12:00Z", "2026-03-08T02:00Z"),
        span("2026-03-08T04:00Z", "2026-03-10T12:34Z"),
    )
    assert plan.trailing_pieces == plan.pieces[2:]
    # 4d14h + 2d8h34m = 396 000 s + 203 640 s.
    assert plan.trailing_seconds == 599_640
    # 12:34 on the 10th to 1 April is 21d 11h 26m = 1 855 560 s, minus three Sunday windows
    # still to come (15, 22, 29 March: 6 h = 21 600 s).
    assert plan.remaining_seconds == 1_833_960


def test_attainment_and_projection_of_that_period() -> None:
    plan = sla_attainment.plan_measurement(agreement(), MARCH, utc("2026-03-10T12:34:56Z"))
    # One event per second; bad events at 0.001/s only in the trailing window.
    counts = [Counts(0, 7_200), Counts(0, 201_600), Counts(396, 396_000), Counts(203.64, 203_640)]
    measured = sla_attainment.measure(plan, counts)
    assert measured.so_far == Counts(599.64, 808_440)
    assert measured.trailing == Counts(599.64, 599_640)
    assert measured.attainment == pytest.approx(100 * (1 - 599.64 / 808_440), abs=1e-12)
    # The rest of the month (1 833 960 s) brings 1 833 960 events, 1 833.96 of them bad.
    assert measured.projected == pytest.approx(
        100 * (1 - (599.64 + 1_833.96) / (808_440 + 1_833_960)), abs=1e-12
    )
    assert measured.projected is not None
    assert measured.attainment is not None
    assert measured.projected < measured.attainment


def test_whole_range_minus_maintenance_gives_the_same_numbers() -> None:
    plan = sla_attainment.plan_measurement(agreement(), MARCH, utc("2026-03-10T12:34:56Z"))
    assert plan.trailing_excluded == (span("2026-03-08T02:00Z", "2026-03-08T04:00Z"),)
    # The same traffic as above, measured over [1 March, until) and [3 March 12:00, until)
    # whole, with the two Sunday windows (7 200 events each, 2 000 and 3 000 of them bad: an
    # outage during maintenance) measured alone and taken out.
    first_sunday, second_sunday = Counts(2_000, 7_200), Counts(3_000, 7_200)
    whole = Counts(599.64 + 5_000, 808_440 + 14_400)
    trailing_whole = Counts(599.64 + 3_000, 599_640 + 7_200)
    measured = sla_attainment.measure_sums(
        plan, whole - first_sunday - second_sunday, trailing_whole - second_sunday
    )
    assert measured.attainment == pytest.approx(100 * (1 - 599.64 / 808_440), abs=1e-9)
    assert measured.projected == pytest.approx(
        100 * (1 - (599.64 + 1_833.96) / (808_440 + 1_833_960)), abs=1e-9
    )


def test_counts_must_match_the_pieces() -> None:
    plan = sla_attainment.plan_measurement(agreement(), MARCH, utc("2026-03-10T12:34:56Z"))
    with pytest.raises(ValueError, match="4 pieces but 3 counts"):
        sla_attainment.measure(plan, [Counts(), Counts(), Counts()])


def test_plan_of_a_closed_period() -> None:
    plan = sla_attainment.plan_measurement(agreement(), MARCH, utc("2026-04-05T00:00Z"))
    assert plan.until == MARCH.end
    assert plan.complete
    assert plan.remaining_seconds == 0
    assert len(plan.excluded) == 5  # Sundays 1, 8, 15, 22, 29
    # 31 days minus 10 h of maintenance.
    assert sum(piece.seconds for piece in plan.pieces) == (31 * 24 - 10) * 3600
    assert plan.trailing_start == utc("2026-03-25T00:00Z")
    assert span("2026-03-22T04:00Z", "2026-03-25T00:00Z") in plan.pieces
    assert span("2026-03-25T00:00Z", "2026-03-29T02:00Z") in plan.pieces
    measured = sla_attainment.measure(plan, [Counts(1, 100)] * len(plan.pieces))
    assert measured.attainment == pytest.approx(99.0, abs=1e-12)
    assert measured.projected == measured.attainment


def test_plan_in_a_dst_month_covers_its_real_hours() -> None:
    spec = agreement(timeZone="Europe/Berlin")
    october = span("2026-09-30T22:00Z", "2026-10-31T23:00Z")
    plan = sla_attainment.plan_measurement(spec, october, utc("2026-11-02T00:00Z"))
    # 745 h, minus Sundays 4, 11, 18, 25 October 02:00 local for 2 h.
    assert sum(piece.seconds for piece in plan.pieces) == (745 - 8) * 3600
    # 02:00 CEST on the 4th is 00:00 UTC; on the 25th (02:00 happens twice) the first one.
    assert plan.excluded[0] == span("2026-10-04T00:00Z", "2026-10-04T02:00Z")
    assert plan.excluded[-1] == span("2026-10-25T00:00Z", "2026-10-25T02:00Z")


def test_plan_at_the_period_start_measures_nothing() -> None:
    plan = sla_attainment.plan_measurement(agreement(), MARCH, MARCH.start)
    assert plan.pieces == ()
    assert plan.remaining_seconds == (31 * 24 - 10) * 3600
    measured = sla_attainment.measure(plan, [])
    assert measured.attainment is None
    assert measured.projected is None


def test_window_open_at_until_is_cut_there() -> None:
    spec = agreement(
        exclusions=[
            {"name": "deploy", "start": "2026-03-10T12:00:00Z", "end": "2026-03-10T13:00:00Z"}
        ]
    )
    plan = sla_attainment.plan_measurement(spec, MARCH, utc("2026-03-10T12:34:00Z"))
    assert plan.excluded == (span("2026-03-10T12:00Z", "2026-03-10T12:34Z"),)
    assert plan.pieces[-1].end == utc("2026-03-10T12:00Z")
    # The 26 minutes of the window still to come are not time to come.
    assert (
        plan.remaining_seconds
        == (utc("2026-04-01T00:00Z") - utc("2026-03-10T13:00Z")).total_seconds()
    )


def test_weekly_period_looks_back_one_day() -> None:
    spec = agreement(period="Week", exclusions=[])
    week = span("2026-03-09T00:00Z", "2026-03-16T00:00Z")
    plan = sla_attainment.plan_measurement(spec, week, utc("2026-03-12T06:30Z"))
    assert plan.trailing_start == utc("2026-03-11T06:00Z")
    assert plan.pieces == (
        span("2026-03-09T00:00Z", "2026-03-11T06:00Z"),
        span("2026-03-11T06:00Z", "2026-03-12T06:30Z"),
    )


@pytest.mark.parametrize(
    ("so_far", "trailing", "trailing_seconds", "remaining_seconds", "expected"),
    [
        # 10 bad of 1000 so far; the last 100 s brought 500 events, 10 bad; 300 s to go
        # bring 1500 events, 30 bad: 1 - 40/2500.
        (Counts(10, 1000), Counts(10, 500), 100, 300, 98.4),
        # A clean recent window pulls the projection up: 1 - 10/2500.
        (Counts(10, 1000), Counts(0, 500), 100, 300, 99.6),
        # Nothing left: the projection is the attainment.
        (Counts(10, 1000), Counts(10, 500), 100, 0, 99.0),
        # No recent traffic: nothing is expected, the attainment stands.
        (Counts(10, 1000), Counts(0, 0), 100, 300, 99.0),
        (Counts(10, 1000), Counts(0, 0), 0, 300, 99.0),
        (Counts(0, 1000), Counts(0, 500), 100, 300, 100.0),
        # No events at all: no projection.
        (Counts(0, 0), Counts(0, 0), 100, 300, None),
    ],
)
def test_project_attainment(
    so_far: Counts,
    trailing: Counts,
    trailing_seconds: float,
    remaining_seconds: float,
    expected: float | None,
) -> None:
    projected = sla_attainment.project_attainment(
        so_far, trailing, trailing_seconds, remaining_seconds
    )
    if expected is None:
        assert projected is None
    else:
        assert projected == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (Counts(0, 0), None),
        (Counts(0, 10), 100.0),
        (Counts(5, 1000), 99.5),
        (Counts(10, 10), 0.0),
    ],
)
def test_attainment_percent(counts: Counts, expected: float | None) -> None:
    result = sla_attainment.attainment_percent(counts)
    assert result == (None if expected is None else pytest.approx(expected, abs=1e-12))


def test_counts_add_and_subtract() -> None:
    # Measuring the whole period once and taking the excluded windows out is equivalent.
    period = Counts(30, 10_000)
    excluded = Counts(25, 400)
    assert period - excluded == Counts(5, 9_600)
    assert sla_attainment.total([Counts(1, 2), Counts(3, 4)]) == Counts(4, 6)
