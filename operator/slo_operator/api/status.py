"""Status written by the operator. Every field is declared here, so the CRD schema declares it."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

import pydantic

from . import common


def _to_second(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC).replace(microsecond=0)


Timestamp = Annotated[datetime.datetime, pydantic.AfterValidator(_to_second)]
"""A time in status, held as Kubernetes writes `metav1.Time`: UTC, whole seconds (JSON: `Z`)."""


class StatusModel(pydantic.BaseModel):
    """Status models: camelCase on the wire; unknown fields rejected so nothing leaks in.

    The evaluation builds its status values from these models and writes them with `to_wire`, so
    the status shape is stated here only (and the CRD schema is generated from it).
    """

    model_config = common.WIRE_CONFIG

    def to_wire(self) -> dict[str, Any]:
        """The fields set on this model, as the status holds them: camelCase, times at second
        precision, None left out. A field left unset keeps the object's current value."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)


class Condition(StatusModel):
    """A metav1.Condition."""

    type: str = pydantic.Field(max_length=316)
    """Condition type, e.g. Ready, Stalled, ErrorBudgetExhausted, Compliant, AtRisk."""
    status: Literal["True", "False", "Unknown"]
    """Whether the condition holds."""
    reason: str = pydantic.Field(max_length=1024)
    """CamelCase reason, e.g. RulesApplied, NoData, BackendUnavailable."""
    message: str = pydantic.Field(default="", max_length=32768)
    """Human-readable detail."""
    last_transition_time: Timestamp
    """When status last changed."""
    observed_generation: int | None = None
    """The spec generation this condition was computed for."""


class RulesSummary(StatusModel):
    """Which rule object the operator manages for this SLO."""

    kind: Literal["PrometheusRule", "ConfigMap"]
    """Kind of the rule object."""
    name: str
    """Name of the rule object in the SLO's namespace."""
    recording_rules: int
    """Number of recording rules."""
    alerting_rules: int
    """Number of alerting rules."""


class ObjectiveStatus(StatusModel):
    """Measured numbers for one objective."""

    name: str
    """Objective name."""
    target: float
    """Target percent."""
    sli: float | None = None
    """Measured SLI percent over the window."""
    met: bool | None = None
    """Whether the SLI is at or above the target."""
    error_budget_remaining_percent: float | None = None
    """Percent of the error budget left; negative when overspent."""
    error_budget_remaining: str | None = None
    """Budget left in events or minutes, e.g. `1234 events` or `43 minutes`."""


class PolicyAnnouncement(StatusModel):
    """A step crossing whose actions are not yet known to be carried out."""

    step: str
    """The step crossed."""
    at: Timestamp
    """When it was crossed (part of the webhook's idempotencyKey)."""


class PolicyStatus(StatusModel):
    """State of the error budget policy."""

    active_steps: list[str] = pydantic.Field(default_factory=list)
    """Steps reached now."""
    since: Timestamp | None = None
    """When the highest active step was first reached."""
    unannounced: list[PolicyAnnouncement] | None = None
    """Steps crossed whose Event and Webhook actions are not yet known to be carried out: an
    operator restarted carries them out (a webhook with the same idempotencyKey)."""


class GroupStatus(StatusModel):
    """Numbers for one group of a grouped SLO (the worst ones only)."""

    labels: dict[str, str]
    """The groupBy label values of this group."""
    sli: float | None = None
    """Measured SLI percent of the primary objective."""
    error_budget_remaining_percent: float | None = None
    """Percent of the primary objective's budget left."""
    no_data: bool | None = None
    """True when the group had no events in the window (its traffic stopped while other groups
    continued): `sli` and `errorBudgetRemainingPercent` are then its last measured values."""
    no_data_since: Timestamp | None = None
    """When the group was first found without events; it is dropped from the list once a whole
    window has passed since."""


Source = Literal["RecordedSeries", "RawSeries"]
"""Where an SLO's numbers come from (`ServiceLevelObjectiveStatus.source`)."""


def _conditions_field() -> Any:
    """`status.conditions` as Kubernetes lists them: a list-map keyed by type."""
    return pydantic.Field(
        default_factory=list,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
    )


class ServiceLevelObjectiveStatus(StatusModel):
    """What the operator observed and measured."""

    observed_generation: int | None = None
    """metadata.generation this status was computed for."""
    conditions: list[Condition] = _conditions_field()
    """Ready, Stalled, ErrorBudgetExhausted, ReleaseFreeze."""
    rules: RulesSummary | None = None
    """The rule object applied for this SLO."""
    last_evaluation_time: Timestamp | None = None
    """When the numbers below were last measured."""
    window_start: Timestamp | None = None
    """Start of the window the numbers cover."""
    target: float | None = None
    """Target percent of the primary objective, known from the spec before any measurement.

    Here because a printer column's JSONPath cannot look up `spec.primaryObjective` by name.
    """
    sli: float | None = None
    """Measured SLI percent of the primary objective."""
    error_budget_remaining_percent: float | None = None
    """Percent of the primary objective's error budget left."""
    burn_rates: dict[str, float] | None = None
    """Burn rate of the primary objective at each alert window, e.g. {5m: 0.1, 1h: 1.3}."""
    objectives: list[ObjectiveStatus] | None = None
    """Numbers per objective."""
    policy: PolicyStatus | None = None
    """Error budget policy state."""
    groups: list[GroupStatus] | None = None
    """The worst groups of a grouped SLO, bounded."""
    source: Source | None = None
    """Where the numbers come from: the SLO's recorded series (the operator, always), or its
    raw series (`slo-operator evaluate` against a Prometheus that does not run its rules)."""


class CommitmentStatus(StatusModel):
    """Attainment of one commitment in one period."""

    name: str
    """Commitment name."""
    target: float
    """Contractual percent."""
    attainment: float | None = None
    """Measured percent over the period so far (maintenance excluded)."""
    met: bool | None = None
    """Whether the attainment reaches the target."""
    projected: float | None = None
    """Projected attainment at the end of the period."""
    coverage: float | None = None
    """Percent of the period's measured time so far (maintenance excluded) in which the SLO's
    series had data."""


class PeriodStatus(StatusModel):
    """One calendar period of an SLA."""

    start: Timestamp
    """Period start."""
    end: Timestamp
    """Period end (exclusive)."""
    commitments: list[CommitmentStatus] = pydantic.Field(default_factory=list)
    """Per commitment."""
    attainment: float | None = None
    """Lowest attainment among the commitments: the one the credit schedule is applied to."""
    credit_percent: float | None = None
    """Service credit owed by the credit schedule for the worst commitment."""
    coverage: float | None = None
    """Lowest coverage among the commitments: percent of the period's measured time so far
    with data."""
    low_coverage: bool | None = None
    """True when `coverage` is below `spec.minimumCoverage`: attainment, met, credit and the
    projection rest on part of the period only."""


class ServiceLevelAgreementStatus(StatusModel):
    """What the operator measured for the agreement."""

    observed_generation: int | None = None
    """metadata.generation this status was computed for."""
    conditions: list[Condition] = _conditions_field()
    """Ready, Stalled, Compliant, AtRisk, Unbacked."""
    current_period: PeriodStatus | None = None
    """The period in progress."""
    history: list[PeriodStatus] | None = None
    """Closed periods, newest first, at most spec.historyLimit."""


def as_text(value: Any) -> str:
    """A status value as `evaluate` and the report print it: exactly as the status holds it,
    `-` for none, yes/no for booleans."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
