"""The ServiceLevelAgreement API: contractual commitments per customer, credits and exclusions."""

from __future__ import annotations

import datetime
from typing import Literal, Self

import cronsim
import pydantic

from .. import errors
from . import common, slo

CRON_SHAPE_PATTERN = r"^\s*\S+(\s+\S+){4}\s*$"
"""Five whitespace-separated fields: the CRD checks the shape, cronsim judges the fields."""


class SLOReference(common.Model):
    """A ServiceLevelObjective in the SLA's namespace."""

    name: str = pydantic.Field(
        min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    )
    """Name of the ServiceLevelObjective."""


class Commitment(common.Model):
    """A contractual target resting on one objective of one SLO."""

    name: common.ObjectName
    """Unique name of the commitment, e.g. `checkout-availability`."""
    slo_ref: SLOReference
    """The SLO this commitment is measured by (same namespace)."""
    objective: common.ObjectName | None = None
    """Objective of that SLO; default: the SLO's primary objective."""
    target: common.Percent
    """Contractual percent, strictly between 0 and 100; should be looser than the objective's."""
    group_labels: common.LabelMap = pydantic.Field(default_factory=dict)
    """For an SLO with groupBy: the label values that identify this customer's group."""


class Credit(common.Model):
    """A service credit owed when the worst commitment's attainment falls below `below`."""

    below: float = pydantic.Field(gt=0, le=100)
    """Attainment percent under which this credit applies."""
    credit_percent: float = pydantic.Field(gt=0, le=100)
    """Percent of the period's fee credited to the customer."""


class Exclusion(common.Model):
    """Planned maintenance: not counted in good nor in total events.

    Either recurring (`schedule` + `duration`, cron in the SLA's time zone) or fixed
    (`start` + `end`).
    """

    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "(has(self.schedule) && has(self.duration) && !has(self.start)"
                    " && !has(self.end)) || (!has(self.schedule) && !has(self.duration)"
                    " && has(self.start) && has(self.end))",
                    "message": "an exclusion has either schedule and duration, or start and end",
                },
                {
                    "rule": "!has(self.start) || !has(self.end) || self.end > self.start",
                    "message": "end must be after start",
                    "fieldPath": ".end",
                },
            ]
        }
    )

    name: common.ObjectName
    """Name of the maintenance window."""
    schedule: str | None = pydantic.Field(
        default=None,
        min_length=9,
        max_length=128,
        json_schema_extra={"pattern": CRON_SHAPE_PATTERN},
    )
    """Cron schedule (5 fields) of each window's start, in the SLA's time zone."""
    duration: common.Duration | None = None
    """Length of each scheduled window."""
    start: datetime.datetime | None = None
    """Start of a one-off window (RFC 3339)."""
    end: datetime.datetime | None = None
    """End of a one-off window (RFC 3339)."""

    @pydantic.field_validator("schedule")
    @classmethod
    def _valid_cron(cls, schedule: str | None) -> str | None:
        if schedule is None:
            return None
        if len(schedule.split()) != 5:
            raise ValueError(
                f"{schedule!r} must have 5 cron fields: minute hour day-of-month month day-of-week"
            )
        try:
            cronsim.CronSim(schedule, datetime.datetime(2026, 1, 1))
        except cronsim.CronSimError as error:
            raise ValueError(f"{schedule!r} is not a valid cron schedule: {error}") from error
        return schedule

    @pydantic.field_validator("start", "end")
    @classmethod
    def _aware(cls, moment: datetime.datetime | None) -> datetime.datetime | None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("must include a time zone offset, e.g. 2026-12-24T00:00:00Z")
        return moment

    @pydantic.model_validator(mode="after")
    def _one_form(self) -> Self:
        recurring = self.schedule is not None or self.duration is not None
        fixed = self.start is not None or self.end is not None
        if recurring and fixed:
            raise errors.FieldProblem(
                (), "an exclusion has either schedule and duration, or start and end, not both"
            )
        if recurring and (self.schedule is None or self.duration is None):
            missing = "duration" if self.duration is None else "schedule"
            raise errors.FieldProblem((missing,), f"{missing} is required with a recurring window")
        if not recurring and (self.start is None or self.end is None):
            missing = "end" if self.start is not None else "start"
            raise errors.FieldProblem(
                (missing,), "an exclusion needs schedule and duration, or start and end"
            )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise errors.FieldProblem(("end",), "end must be after start")
        return self


class ServiceLevelAgreementSpec(common.Model):
    """Desired state of a service level agreement."""

    model_config = pydantic.ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.credits) || (self.credits.map(c, 0.0 - c.below).isSorted()"
                    " && self.credits.all(c, self.credits.exists_one(d, d.below == c.below)))",
                    "message": "credits must be ordered by strictly descending below",
                    "fieldPath": ".credits",
                },
                {
                    "rule": "!has(self.credits) || self.credits.map(c, c.creditPercent).isSorted()",
                    "message": "creditPercent must not decrease as below decreases",
                    "fieldPath": ".credits",
                },
                {
                    "rule": "!has(self.weekStart) || self.period == 'Week'",
                    "message": "weekStart is only used by period Week",
                    "fieldPath": ".weekStart",
                },
            ]
        }
    )

    customer: str = pydantic.Field(min_length=1, max_length=128)
    """Who the agreement is with."""
    period: slo.CalendarPeriod
    """Calendar period over which attainment is measured and credits are settled."""
    time_zone: common.TimeZone = "UTC"
    """IANA time zone of the period boundaries and of the exclusions' cron schedules."""
    week_start: slo.Weekday | None = None
    """Week only: the day weeks start on, e.g. Sunday; default Monday (ISO 8601)."""
    commitments: list[Commitment] = pydantic.Field(
        min_length=1, max_length=20, json_schema_extra=common.LIST_MAP_BY_NAME
    )
    """Contractual targets, each resting on an SLO objective."""
    credits: list[Credit] = pydantic.Field(default_factory=list, max_length=10)
    """Credit schedule, `below` strictly descending; the lowest matching tier applies."""
    exclusions: list[Exclusion] = pydantic.Field(
        default_factory=list, max_length=20, json_schema_extra=common.LIST_MAP_BY_NAME
    )
    """Maintenance windows excluded from good and total events."""
    history_limit: int = pydantic.Field(default=12, ge=1, le=120)
    """How many closed periods to keep in status.history."""
    minimum_coverage: float = pydantic.Field(default=90, ge=0, le=100)
    """Percent of a period's measured time (maintenance excluded) in which the SLOs' series
    must have data; below it, the period is flagged `lowCoverage` (and the LowCoverage
    condition and Event say so): its attainment, met and credit rest on part of the period."""
    backend: common.ObjectName | None = None
    """Named metrics backend; default: the default backend."""

    @pydantic.model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        if self.week_start is not None and self.period is not slo.CalendarPeriod.WEEK:
            raise errors.FieldProblem(
                ("weekStart",), f"weekStart is only used by period Week, not {self.period.value}"
            )
        names: set[str] = set()
        for index, commitment in enumerate(self.commitments):
            if commitment.name in names:
                raise errors.FieldProblem(
                    ("commitments", index, "name"),
                    f"commitment name {commitment.name!r} is used twice",
                )
            names.add(commitment.name)
        for index in range(1, len(self.credits)):
            previous, current = self.credits[index - 1], self.credits[index]
            if current.below >= previous.below:
                raise errors.FieldProblem(
                    ("credits", index, "below"),
                    f"credits must be ordered by strictly descending below: {current.below} "
                    f"follows {previous.below}",
                )
            if current.credit_percent < previous.credit_percent:
                raise errors.FieldProblem(
                    ("credits", index, "creditPercent"),
                    "a lower attainment cannot owe a smaller credit: "
                    f"{current.credit_percent} follows {previous.credit_percent}",
                )
        exclusion_names = [exclusion.name for exclusion in self.exclusions]
        if len(set(exclusion_names)) != len(exclusion_names):
            raise errors.FieldProblem(("exclusions",), "exclusion names must be unique")
        return self


class ServiceLevelAgreement(slo.Manifest):
    """A whole ServiceLevelAgreement manifest (status is ignored on input)."""

    kind: Literal["ServiceLevelAgreement"]
    spec: ServiceLevelAgreementSpec
