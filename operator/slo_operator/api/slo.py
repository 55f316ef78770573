"""The ServiceLevelObjective API: what an SRE team writes, with every rule checked at the door."""

from __future__ import annotations

import enum
from typing import Any, Final, Literal, Self

import pydantic

from .. import errors
from . import common


def _cel(
    rule: str, message: str, field_path: str | None = None, reason: str | None = None
) -> dict[str, str]:
    """One CEL rule for the CRD; `field_path` makes the apiserver's error name that field."""
    validation = {"rule": rule, "message": message}
    if field_path:
        validation["fieldPath"] = field_path
    if reason:
        validation["reason"] = reason
    return validation


def _validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


class BudgetingMethod(enum.StrEnum):
    """How the SLI is counted (OpenSLO semantics)."""

    OCCURRENCES = "Occurrences"
    """Good events / total events over the window."""
    TIMESLICES = "Timeslices"
    """Fraction of time slices whose own ratio reaches `timeslice.target`."""
    RATIO_TIMESLICES = "RatioTimeslices"
    """Mean of the slices' ratios."""


class Weekday(enum.StrEnum):
    """The day a calendar week starts on."""

    MONDAY = "Monday"
    TUESDAY = "Tuesday"
    WEDNESDAY = "Wednesday"
    THURSDAY = "Thursday"
    FRIDAY = "Friday"
    SATURDAY = "Saturday"
    SUNDAY = "Sunday"


def week_start_index(week_start: Weekday | None) -> int:
    """The weekday a Week period starts on, 0 Monday ... 6 Sunday as `date.weekday()`
    (Monday, ISO 8601, when not given)."""
    return 0 if week_start is None else list(Weekday).index(week_start)


class CalendarPeriod(enum.StrEnum):
    """A calendar-aligned period in a time zone."""

    WEEK = "Week"
    MONTH = "Month"
    QUARTER = "Quarter"
    YEAR = "Year"


class RatioIndicator(common.Model):
    """Two counters: bad (`errors`) or `good` events, and `total` events."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_validations(
            _cel(
                "has(self.errors) != has(self.good)",
                "ratio needs exactly one of errors or good",
            )
        )
    )

    errors: common.SelectorText | None = None
    """Counter of bad events, e.g. `http_requests_total{job="api",code=~"5.."}`."""
    good: common.SelectorText | None = None
    """Counter of good events; give either this or `errors`."""
    total: common.SelectorText
    """Counter of all events, e.g. `http_requests_total{job="api"}`."""

    @pydantic.model_validator(mode="after")
    def _one_of_errors_or_good(self) -> Self:
        if (self.errors is None) == (self.good is None):
            raise errors.FieldProblem((), "ratio needs exactly one of errors or good")
        return self


class LatencyIndicator(common.Model):
    """A classic Prometheus histogram; `_bucket` and `_count` are derived from the metric name."""

    metric: common.SelectorText
    """The histogram's base name with matchers, e.g. `http_request_duration_seconds{job="api"}`."""


class BoolGaugeIndicator(common.Model):
    """A gauge that is 1 when good and 0 when bad, such as `probe_success`."""

    metric: common.SelectorText
    """The 0/1 gauge, e.g. `probe_success{job="blackbox"}`."""


class Indicator(common.Model):
    """What is measured: exactly one of `ratio`, `latency` or `boolGauge`."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_validations(
            _cel(
                "(has(self.ratio) ? 1 : 0) + (has(self.latency) ? 1 : 0)"
                " + (has(self.boolGauge) ? 1 : 0) == 1",
                "indicator needs exactly one of ratio, latency or boolGauge",
            )
        )
    )

    ratio: RatioIndicator | None = None
    """Good or bad events over total events, from counters."""
    latency: LatencyIndicator | None = None
    """Requests faster than each objective's `threshold`, from a histogram."""
    bool_gauge: BoolGaugeIndicator | None = None
    """Fraction of samples where a 0/1 gauge is 1."""

    @pydantic.model_validator(mode="after")
    def _exactly_one(self) -> Self:
        chosen = [self.ratio, self.latency, self.bool_gauge]
        if sum(kind is not None for kind in chosen) != 1:
            raise errors.FieldProblem(
                (), "indicator needs exactly one of ratio, latency or boolGauge"
            )
        return self

    @property
    def kind(self) -> Literal["ratio", "latency", "boolGauge"]:
        if self.ratio is not None:
            return "ratio"
        if self.latency is not None:
            return "latency"
        return "boolGauge"


class Calendar(common.Model):
    """A calendar-aligned window: it starts at the period's start in `timeZone`."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_validations(
            _cel(
                "!has(self.weekStart) || self.period == 'Week'",
                "weekStart is only used by period Week",
                ".weekStart",
            )
        )
    )

    period: CalendarPeriod
    """Week (starting on `weekStart`, default Monday), Month, Quarter or Year."""
    time_zone: common.TimeZone = "UTC"
    """IANA time zone in which the period starts, e.g. Europe/Berlin."""
    week_start: Weekday | None = None
    """Week only: the day weeks start on, e.g. Sunday; default Monday (ISO 8601)."""

    @pydantic.model_validator(mode="after")
    def _week_start_for_weeks(self) -> Self:
        if self.week_start is not None and self.period is not CalendarPeriod.WEEK:
            raise errors.FieldProblem(
                ("weekStart",), f"weekStart is only used by period Week, not {self.period.value}"
            )
        return self


TIMESLICE_DURATIONS_SECONDS = (60, 120, 180, 240, 300, 360, 600, 720, 900, 1200, 1800, 3600)
"""Slice lengths that tile an hour, so slices line up with the hourly recorded series."""


class Timeslice(common.Model):
    """How time is cut into slices for the two timeslice budgeting methods."""

    duration: common.Duration
    """Length of one slice: whole minutes that divide an hour (1m, 2m, 5m, 10m, 15m, 30m, 1h...)."""
    target: float | None = pydantic.Field(default=None, gt=0, le=100)
    """Percent of good events a slice needs to count as good: required for Timeslices, not
    allowed for RatioTimeslices (whose SLI is the mean of the slices' ratios)."""

    @pydantic.field_validator("duration")
    @classmethod
    def _tiles_an_hour(cls, duration: str) -> str:
        if common.parse_duration_seconds(duration) not in TIMESLICE_DURATIONS_SECONDS:
            raise ValueError(
                f"{duration!r} must be whole minutes that divide an hour "
                "(1m, 2m, 3m, 4m, 5m, 6m, 10m, 12m, 15m, 20m, 30m or 1h)"
            )
        return duration


class Objective(common.Model):
    """One target tier. Several tiers on one SLO share its recorded series."""

    name: common.ObjectName
    """Unique name of the tier, e.g. `standard`; appears as the `objective` label."""
    target: common.Percent
    """Percent of good events (or slices) required, strictly between 0 and 100."""
    threshold: common.Duration | None = None
    """Latency indicators only: a request is good when faster than this; must be a bucket `le`."""

    @property
    def threshold_seconds(self) -> float | None:
        return None if self.threshold is None else common.parse_duration_seconds(self.threshold)


class AlertRoute(common.Model):
    """One kind of burn-rate alert."""

    enabled: bool = True
    """Generate this alert."""
    labels: common.LabelMap = pydantic.Field(default_factory=dict)
    """Extra labels on this alert, e.g. severity."""


class NoDataAlert(common.Model):
    """Alert when the SLI's series vanish."""

    enabled: bool = True
    """Generate the no-data alert."""
    for_: common.Duration = pydantic.Field(default="10m", alias="for")
    """How long the series must be absent before the alert fires."""


class Alerting(common.Model):
    """Multiwindow multi-burn-rate alerts, scaled to the SLO's window."""

    enabled: bool = True
    """Generate alerting rules at all (recording rules are always generated)."""
    labels: common.LabelMap = pydantic.Field(default_factory=dict)
    """Labels on every alert of this SLO."""
    annotations: dict[str, str] = pydantic.Field(
        default_factory=dict, max_length=32, json_schema_extra=common.LABEL_NAME_KEYS_CEL
    )
    """Annotations on every alert, e.g. runbook_url."""
    page: AlertRoute = pydantic.Field(
        default_factory=lambda: AlertRoute(labels={"severity": "critical"})
    )
    """Fast-burn alert (2% of the budget in 1h, 5% in 6h for a 30d window)."""
    ticket: AlertRoute = pydantic.Field(
        default_factory=lambda: AlertRoute(labels={"severity": "warning"})
    )
    """Slow-burn alert (10% of the budget in 1d and in 3d for a 30d window)."""
    no_data: NoDataAlert = pydantic.Field(default_factory=NoDataAlert)
    """Alert when the indicator's series are absent."""

    @pydantic.field_validator("annotations")
    @classmethod
    def _annotation_names(cls, annotations: dict[str, str]) -> dict[str, str]:
        return common._check_label_map(annotations)


class SecretKeyRef(common.Model):
    """A key of a Secret in the object's namespace."""

    name: common.ObjectName
    """Secret name."""
    key: str = pydantic.Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")
    """Key inside the Secret."""


class WebhookTarget(common.Model):
    """Where a Webhook action posts; the URL is read from a Secret so it is never in Git."""

    secret_ref: SecretKeyRef
    """Secret key holding the URL."""


class PolicyActionType(enum.StrEnum):
    EVENT = "Event"
    RELEASE_FREEZE = "ReleaseFreeze"
    WEBHOOK = "Webhook"


class PolicyAction(common.Model):
    """What happens when a policy step is reached."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_validations(
            _cel(
                "(self.type == 'Webhook') == has(self.webhook)",
                "webhook is required for type Webhook and not allowed otherwise",
                ".webhook",
            )
        )
    )

    type: PolicyActionType
    """Event (a Kubernetes Event), ReleaseFreeze (a condition on the SLO) or Webhook (a POST)."""
    webhook: WebhookTarget | None = None
    """Target of a Webhook action."""

    @pydantic.model_validator(mode="after")
    def _webhook_for_webhook(self) -> Self:
        if (self.type is PolicyActionType.WEBHOOK) != (self.webhook is not None):
            raise errors.FieldProblem(
                ("webhook",), "webhook is required for type Webhook and not allowed otherwise"
            )
        return self


class PolicyStep(common.Model):
    """A step of the error budget policy, reached when enough of the budget is consumed."""

    name: common.ObjectName
    """Unique step name, e.g. `freeze`."""
    when_consumed_percent: float = pydantic.Field(gt=0, le=1000)
    """Percent of the primary objective's error budget consumed to reach this step."""
    actions: list[PolicyAction] = pydantic.Field(min_length=1, max_length=10)
    """What to do when the step is reached."""


class ServiceLevelObjectiveSpec(common.Model):
    """Desired state of a service level objective."""

    model_config = pydantic.ConfigDict(
        json_schema_extra=_validations(
            _cel(
                "has(self.window) != has(self.calendar)",
                "exactly one of window or calendar is required",
                ".window",
            ),
            _cel(
                "!has(self.budgetingMethod) || self.budgetingMethod == 'Occurrences'"
                " || has(self.timeslice)",
                "timeslice is required for the Timeslices and RatioTimeslices methods",
                ".timeslice",
                "FieldValueRequired",
            ),
            _cel(
                "!has(self.budgetingMethod) || self.budgetingMethod != 'Timeslices'"
                " || !has(self.timeslice) || has(self.timeslice.target)",
                "timeslice.target is required for the Timeslices method",
                ".timeslice.target",
                "FieldValueRequired",
            ),
            _cel(
                "!has(self.budgetingMethod) || self.budgetingMethod != 'RatioTimeslices'"
                " || !has(self.timeslice) || !has(self.timeslice.target)",
                "timeslice.target is not used by RatioTimeslices (the SLI is the mean of the"
                " slices' ratios); remove it",
                ".timeslice.target",
            ),
            _cel(
                "!has(self.primaryObjective)"
                " || self.objectives.exists(o, o.name == self.primaryObjective)",
                "primaryObjective must name one of the objectives",
                ".primaryObjective",
            ),
            _cel(
                "has(self.indicator.latency)"
                " ? self.objectives.all(o, has(o.threshold))"
                " : self.objectives.all(o, !has(o.threshold))",
                "latency objectives need a threshold; other indicators must not have one",
                ".objectives",
            ),
        )
    )

    service: str = pydantic.Field(min_length=1, max_length=128)
    """Name of the service this SLO is about; a label on every generated series."""
    description: str = pydantic.Field(default="", max_length=1024)
    """What this SLO promises, in words."""
    owner: str = pydantic.Field(default="", max_length=128)
    """Team accountable for the SLO."""
    labels: common.LabelMap = pydantic.Field(default_factory=dict)
    """Copied onto every generated rule and alert."""
    indicator: Indicator
    """What is measured."""
    window: common.Duration | None = None
    """Rolling window ending now, e.g. `30d`; give this or `calendar`."""
    calendar: Calendar | None = None
    """Calendar-aligned window; give this or `window`."""
    budgeting_method: BudgetingMethod = BudgetingMethod.OCCURRENCES
    """Occurrences, Timeslices or RatioTimeslices."""
    timeslice: Timeslice | None = None
    """Slice definition, required for the two timeslice methods."""
    objectives: list[Objective] = pydantic.Field(
        min_length=1, max_length=10, json_schema_extra=common.LIST_MAP_BY_NAME
    )
    """1 to 10 target tiers with unique names."""
    primary_objective: common.ObjectName | None = None
    """Objective that drives alerts, the policy and conditions; default: the first."""
    group_by: list[common.LabelName] = pydantic.Field(
        default_factory=list, max_length=10, json_schema_extra=common.LIST_SET
    )
    """Labels for one SLI per label value, e.g. [tenant]."""
    alerting: Alerting = pydantic.Field(default_factory=Alerting)
    """Burn-rate and no-data alerts."""
    error_budget_policy: list[PolicyStep] = pydantic.Field(
        default_factory=list, max_length=10, json_schema_extra=common.LIST_MAP_BY_NAME
    )
    """Steps taken as the primary objective's error budget is consumed."""
    backend: common.ObjectName | None = None
    """Named metrics backend from the operator's configuration; default: the default backend."""

    @pydantic.field_validator("window")
    @classmethod
    def _window_bounds(cls, window: str | None) -> str | None:
        if window is None:
            return None
        seconds = common.parse_duration_seconds(window)
        if not 3600 <= seconds <= 366 * 86400:
            raise ValueError(f"window {window!r} must be between 1h and 366d")
        if seconds % 60:
            raise ValueError(f"window {window!r} must be whole minutes")
        return window

    @pydantic.model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        if (self.window is None) == (self.calendar is None):
            raise errors.FieldProblem(("window",), "exactly one of window or calendar is required")
        if self.budgeting_method is not BudgetingMethod.OCCURRENCES and self.timeslice is None:
            raise errors.FieldProblem(
                ("timeslice",),
                f"timeslice is required for budgetingMethod {self.budgeting_method.value}",
            )
        if self.timeslice is not None:
            method = self.budgeting_method
            if method is BudgetingMethod.TIMESLICES and self.timeslice.target is None:
                raise errors.FieldProblem(
                    ("timeslice", "target"),
                    "timeslice.target is required for budgetingMethod Timeslices: the percent "
                    "of good events a slice needs to count as good",
                )
            if method is BudgetingMethod.RATIO_TIMESLICES and self.timeslice.target is not None:
                raise errors.FieldProblem(
                    ("timeslice", "target"),
                    "timeslice.target is not used by RatioTimeslices (the SLI is the mean of "
                    "the slices' ratios); remove it",
                )
        seen: set[str] = set()
        for index, objective in enumerate(self.objectives):
            if objective.name in seen:
                raise errors.FieldProblem(
                    ("objectives", index, "name"),
                    f"objective name {objective.name!r} is used twice",
                )
            seen.add(objective.name)
            latency = self.indicator.latency is not None
            if latency and objective.threshold is None:
                raise errors.FieldProblem(
                    ("objectives", index, "threshold"),
                    "latency objectives need a threshold (a histogram bucket boundary)",
                )
            if not latency and objective.threshold is not None:
                raise errors.FieldProblem(
                    ("objectives", index, "threshold"),
                    f"threshold is only allowed for latency indicators, not {self.indicator.kind}",
                )
        if self.primary_objective is not None and self.primary_objective not in seen:
            raise errors.FieldProblem(
                ("primaryObjective",),
                f"{self.primary_objective!r} is not one of the objectives {sorted(seen)}",
            )
        if len(set(self.group_by)) != len(self.group_by):
            raise errors.FieldProblem(("groupBy",), "groupBy entries must be unique")
        step_names = [step.name for step in self.error_budget_policy]
        if len(set(step_names)) != len(step_names):
            raise errors.FieldProblem(("errorBudgetPolicy",), "policy step names must be unique")
        if self.timeslice is not None and self.window is not None:
            slice_seconds = common.parse_duration_seconds(self.timeslice.duration)
            if common.parse_duration_seconds(self.window) % slice_seconds:
                raise errors.FieldProblem(
                    ("timeslice", "duration"),
                    f"{self.timeslice.duration!r} must divide the window {self.window!r}",
                )
        return self

    @property
    def primary(self) -> Objective:
        """The objective that drives alerts, the policy and the conditions."""
        for objective in self.objectives:
            if objective.name == self.primary_objective:
                return objective
        return self.objectives[0]


class ObjectMeta(pydantic.BaseModel):
    """The parts of Kubernetes metadata the operator reads; everything else is kept as is."""

    model_config = pydantic.ConfigDict(extra="allow", frozen=True)

    name: str = pydantic.Field(
        min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    )
    namespace: str | None = None
    labels: dict[str, str] = pydantic.Field(default_factory=dict)
    annotations: dict[str, str] = pydantic.Field(default_factory=dict)
    uid: str | None = None
    generation: int | None = None


class Manifest(pydantic.BaseModel):
    """What a whole manifest of either kind holds around its spec (status is ignored on input)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    api_version: Literal["slo.dev/v1alpha1"] = pydantic.Field(alias="apiVersion")
    kind: str
    metadata: ObjectMeta
    spec: Any
    status: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or "default"


RULE_OBJECT_PREFIX: Final = "slo-"
"""An SLO's PrometheusRule (or ConfigMap) is named `slo-<name>`."""
NAME_MAX_LENGTH: Final = 253 - len(RULE_OBJECT_PREFIX)
"""The longest SLO name whose rule object's name is still a valid object name (253)."""


class SloObjectMeta(ObjectMeta):
    """An SLO's metadata: its name leaves room for the rule object's prefix."""

    name: str = pydantic.Field(
        min_length=1, max_length=NAME_MAX_LENGTH, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
    )


class ServiceLevelObjective(Manifest):
    """A whole ServiceLevelObjective manifest (status is ignored on input)."""

    kind: Literal["ServiceLevelObjective"]
    metadata: SloObjectMeta
    spec: ServiceLevelObjectiveSpec
