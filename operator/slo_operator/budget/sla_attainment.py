"""SLA numbers: what to measure in a period, attainment, projection, credits.

The evaluator measures bad and total events (or slices) of each commitment's SLO objective over
the pieces of a `MeasurementPlan` — the period so far minus maintenance windows, at whole-minute
resolution — and hands the counts back here. Nothing in this module reads a clock or a backend:
"now" is always an argument. docs/sla.md explains every rule with examples.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Sequence

from ..api import sla, slo, status
from . import exclusions, intervals, periods

ATTAINMENT_TOLERANCE = 1e-9
"""Percentage points of float noise forgiven when comparing with a target or a credit tier, so
that an attainment of exactly 99.5 computed as 99.49999999999999 meets 99.5."""

PROJECTION_LOOKBACK = {
    slo.CalendarPeriod.WEEK: datetime.timedelta(days=1),
    slo.CalendarPeriod.MONTH: datetime.timedelta(days=7),
    slo.CalendarPeriod.QUARTER: datetime.timedelta(days=7),
    slo.CalendarPeriod.YEAR: datetime.timedelta(days=7),
}
"""How far back the recent event rates that extrapolate the rest of a period are measured."""


@dataclasses.dataclass(frozen=True)
class Counts:
    """Bad and total events (or slices) measured over some time; `bad <= total`."""

    bad: float = 0.0
    total: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.bad + other.bad, self.total + other.total)

    def __sub__(self, other: Counts) -> Counts:
        """For measuring a whole range and taking the excluded windows out of it."""
        return Counts(self.bad - other.bad, self.total - other.total)


def total(counts: Iterable[Counts]) -> Counts:
    """The sum of several counts."""
    result = Counts()
    for item in counts:
        result = result + item
    return result


def attainment_percent(counts: Counts) -> float | None:
    """`100 * (1 - bad/total)`; None without events (nothing was promised or broken)."""
    if counts.total <= 0:
        return None
    return 100.0 * (1.0 - max(0.0, counts.bad) / counts.total)


# --- what to measure ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MeasurementPlan:
    """The time of one period to measure, with maintenance taken out.

    Measure bad and total over each of `pieces` (the same pieces for every commitment of the
    SLA) and pass the counts, in order, to `measure`.
    """

    period: intervals.Interval
    """The calendar period, UTC."""
    until: datetime.datetime
    """Data is measured up to here: the evaluation time floored to the minute, at most the
    period end (then the period is complete and can be closed)."""
    excluded: tuple[intervals.Interval, ...]
    """Maintenance inside `[period.start, until)`, merged, whole minutes."""
    pieces: tuple[intervals.Interval, ...]
    """`[period.start, until)` minus `excluded`, cut at `trailing_start`: the intervals to
    measure. Their bounds are whole UTC minutes."""
    trailing_start: datetime.datetime
    """Start of the recent window whose rates extrapolate the rest of the period: the lookback
    before `until`, floored to the UTC hour, never before the period start."""
    remaining_seconds: float
    """Seconds of the period after `until` that are not maintenance: the time still to come."""

    @property
    def complete(self) -> bool:
        """Whether the plan covers the whole period (the period has ended)."""
        return self.until >= self.period.end

    @property
    def trailing_pieces(self) -> tuple[intervals.Interval, ...]:
        """The pieces inside the trailing window (a suffix of `pieces`)."""
        return tuple(piece for piece in self.pieces if piece.start >= self.trailing_start)

    @property
    def trailing_excluded(self) -> tuple[intervals.Interval, ...]:
        """The maintenance inside the trailing window `[trailing_start, until)`."""
        return intervals.clip(self.excluded, intervals.Interval(self.trailing_start, self.until))

    @property
    def trailing_seconds(self) -> float:
        """Measured (non-maintenance) seconds in the trailing window."""
        return sum(piece.seconds for piece in self.trailing_pieces)


def current_period(
    spec: sla.ServiceLevelAgreementSpec, at: datetime.datetime
) -> intervals.Interval:
    """The SLA's period containing `at`."""
    return periods.period_bounds(
        spec.period, spec.time_zone, at, slo.week_start_index(spec.week_start)
    )


def plan_measurement(
    spec: sla.ServiceLevelAgreementSpec, period: intervals.Interval, at: datetime.datetime
) -> MeasurementPlan:
    """What to measure of `period` at time `at` (for a closed period: any `at` after its end)."""
    start, end = intervals.utc(period.start), intervals.utc(period.end)
    until = min(max(intervals.floor_minute(at), start), end)
    maintenance = exclusions.excluded_intervals(
        spec.exclusions, spec.time_zone, intervals.Interval(start, end)
    )
    measured = intervals.Interval(start, until)
    lookback = PROJECTION_LOOKBACK[spec.period]
    trailing_start = max(start, intervals.floor_hour(until - lookback))
    pieces = intervals.split_at(intervals.subtract(measured, maintenance), trailing_start)
    remaining = intervals.subtract(intervals.Interval(until, end), maintenance)
    return MeasurementPlan(
        period=intervals.Interval(start, end),
        until=until,
        excluded=intervals.clip(maintenance, measured),
        pieces=pieces,
        trailing_start=trailing_start,
        remaining_seconds=sum(piece.seconds for piece in remaining),
    )


# --- attainment and projection -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One commitment's numbers in one period."""

    so_far: Counts
    """Events over the period so far, maintenance excluded."""
    trailing: Counts
    """Events over the trailing window, maintenance excluded."""
    attainment: float | None
    """Percent good of `so_far`; None without events."""
    projected: float | None
    """Projected percent at the period end; equals `attainment` once the period is complete."""
    coverage: float | None = None
    """Percent of the measured time (`plan.pieces`) in which the SLO's series had data."""


def coverage_percent(plan: MeasurementPlan, minutes_with_data: float) -> float | None:
    """The share of the measured time with data, in percent; None when nothing was measured
    yet (the period just started, or it is all maintenance)."""
    measured = sum(piece.seconds for piece in plan.pieces)
    if measured <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * minutes_with_data * 60 / measured))


def project_attainment(
    so_far: Counts, trailing: Counts, trailing_seconds: float, remaining_seconds: float
) -> float | None:
    """The attainment expected at the period end.

    The rest of the period is assumed to bring the trailing window's bad and total event rates
    (events per non-maintenance second) for its `remaining_seconds`:

        projected = 1 - (bad_so_far + bad_rate * remaining)
                      / (total_so_far + total_rate * remaining)

    so the extrapolation weighs the future by the traffic it is expected to carry, and a
    quiet trailing window changes little. None while neither part has events.
    """
    if trailing_seconds > 0 and trailing.total > 0 and remaining_seconds > 0:
        scale = remaining_seconds / trailing_seconds
        expected = Counts(trailing.bad * scale, trailing.total * scale)
    else:
        expected = Counts()
    return attainment_percent(so_far + expected)


def measure(plan: MeasurementPlan, piece_counts: Sequence[Counts]) -> Measurement:
    """Attainment and projection from the counts measured over `plan.pieces`, in order."""
    if len(piece_counts) != len(plan.pieces):
        raise ValueError(
            f"the plan has {len(plan.pieces)} pieces but {len(piece_counts)} counts were given"
        )
    trailing = total(
        counts
        for piece, counts in zip(plan.pieces, piece_counts, strict=True)
        if piece.start >= plan.trailing_start
    )
    return measure_sums(plan, total(piece_counts), trailing)


def measure_sums(plan: MeasurementPlan, so_far: Counts, trailing: Counts) -> Measurement:
    """Attainment and projection from sums measured another way: `so_far` over
    `[period.start, until)` and `trailing` over `[trailing_start, until)`, each with its
    maintenance (`excluded`, `trailing_excluded`) already taken out, e.g. by subtracting the
    counts of the excluded windows from those of the whole range."""
    return Measurement(
        so_far=so_far,
        trailing=trailing,
        attainment=attainment_percent(so_far),
        projected=project_attainment(
            so_far, trailing, plan.trailing_seconds, plan.remaining_seconds
        ),
    )


def meets(attainment: float, target: float) -> bool:
    """Whether an attainment reaches a target (percent), forgiving float noise."""
    return attainment >= target - ATTAINMENT_TOLERANCE


# --- credits -----------------------------------------------------------------------------------


def credit_for(attainment: float, credits: Sequence[sla.Credit]) -> float:
    """The credit percent owed at this attainment: the tier with the lowest `below` that the
    attainment is under (strictly), 0 when it is under none."""
    owed = [credit for credit in credits if attainment < credit.below - ATTAINMENT_TOLERANCE]
    if not owed:
        return 0.0
    return min(owed, key=lambda credit: credit.below).credit_percent


def worst_commitment(
    commitments: Sequence[status.CommitmentStatus],
) -> status.CommitmentStatus | None:
    """The commitment with the lowest attainment (first in spec order on a tie); None when no
    commitment has one.

    Credit tiers are absolute attainment thresholds, so the lowest attainment is the one that
    owes the largest credit; a shortfall against each commitment's own target would rank a
    commitment at 98.9% with a 98% target above one at 99.4% with 99.5%, yet the first is
    under the 99.0 tier and the second is not.
    """
    measured = [c for c in commitments if c.attainment is not None]
    if not measured:
        return None
    return min(measured, key=lambda c: c.attainment if c.attainment is not None else 0.0)


def commitment_status(
    commitment: sla.Commitment, measurement: Measurement
) -> status.CommitmentStatus:
    """The status entry of one commitment."""
    attainment = measurement.attainment
    return status.CommitmentStatus(
        name=commitment.name,
        target=commitment.target,
        attainment=attainment,
        met=None if attainment is None else meets(attainment, commitment.target),
        projected=measurement.projected,
        coverage=measurement.coverage,
    )


def period_status(
    period: intervals.Interval,
    commitments: Sequence[status.CommitmentStatus],
    credits: Sequence[sla.Credit],
    minimum_coverage: float | None = None,
) -> status.PeriodStatus:
    """A period's status: per-commitment numbers, the worst attainment and the credit owed by
    it. Both stay None while no commitment has an attainment. With `minimum_coverage`, the
    lowest commitment coverage below it flags the period `lowCoverage`."""
    worst = worst_commitment(commitments)
    attainment = None if worst is None else worst.attainment
    coverages = [c.coverage for c in commitments if c.coverage is not None]
    coverage = min(coverages) if coverages else None
    low = None
    if minimum_coverage is not None and coverage is not None:
        low = coverage < minimum_coverage
    return status.PeriodStatus(
        start=intervals.utc(period.start),
        end=intervals.utc(period.end),
        commitments=list(commitments),
        attainment=attainment,
        credit_percent=None if attainment is None else credit_for(attainment, credits),
        coverage=coverage,
        low_coverage=low,
    )
