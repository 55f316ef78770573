"""The SLO kind: which batched queries an SLO needs, and its status from their answers.

Every query is shared by all SLOs with the same window (or calendar), so a cycle sends one query
per distinct window, not one per SLO (`rules.series` is the contract of the series read):

- burn rates, one query per alert window: `slo:sli_error:ratio{slo_window="1h"}`;
- bad and total over a rolling window, one per window:
  `{__name__=~"slo:sli_bad:sum|slo:sli_total:sum",slo_window="30d"}`;
- whether the series reach back a whole window, one per window:
  `group by (slo_namespace, slo) (slo:sli_total:sum{slo_window="30d"} offset 30d)`;
- bad and total since a calendar period start, two per calendar
  (`series.calendar_window_query`).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..api import common, slo
from ..backends import client
from ..budget import groups, objectives, periods, policy, rounding
from ..rules import recording, series
from . import results as results_module

KIND = "ServiceLevelObjective"

State = Literal["Evaluated", "NoData", "PartialWindow", "NotMeasurable"]

_SUMS_NAME_REGEX = f"{series.BAD_SUM}|{series.TOTAL_SUM}"


def _timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class Plan:
    """The queries one SLO needs at one evaluation time, and the window they cover."""

    at: datetime.datetime
    ratio_queries: Mapping[str, client.Query]
    """Alert window label -> the error-ratio query of that window."""
    sums: client.Query | None
    """Rolling windows: bad and total over the full window, in one query."""
    calendar_bad: client.Query | None
    calendar_total: client.Query | None
    presence: client.Query | None
    """Rolling windows: answers for the SLOs whose series reach back a whole window."""
    window_start: datetime.datetime | None
    window_seconds: int

    @property
    def queries(self) -> tuple[client.Query, ...]:
        optional = (self.sums, self.calendar_bad, self.calendar_total, self.presence)
        return (*self.ratio_queries.values(), *(q for q in optional if q is not None))


class Planner:
    """Plans for one evaluation time. A plan depends only on the window (or calendar), so SLOs
    sharing a window share one plan object, computed once per cycle."""

    def __init__(self, at: datetime.datetime) -> None:
        self.at = at
        self._plans: dict[tuple[str | None, slo.Calendar | None], Plan] = {}

    def plan(self, resource: slo.ServiceLevelObjective) -> Plan:
        key = (resource.spec.window, resource.spec.calendar)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = plan(resource, self.at)
        return found


def plan(resource: slo.ServiceLevelObjective, at: datetime.datetime) -> Plan:
    """The queries for `resource` at `at`; equal for every SLO with the same windows."""
    spec = resource.spec
    ratio_queries = {
        series.window_label(seconds): client.Query(
            series.error_ratio_query(series.window_label(seconds)), at
        )
        for seconds in recording.alert_windows(spec)
    }
    window = series.full_window(spec)
    if window is not None:
        sums = client.Query(
            f'{{__name__=~"{_SUMS_NAME_REGEX}",{series.LABEL_WINDOW}="{window.label}"}}', at
        )
        presence = client.Query(
            f"group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
            f'({series.TOTAL_SUM}{{{series.LABEL_WINDOW}="{window.label}"}} '
            f"offset {window.label})",
            at,
        )
        start = series.window_end(window, at) - datetime.timedelta(seconds=window.seconds)
        return Plan(at, ratio_queries, sums, None, None, presence, start, window.seconds)
    assert spec.calendar is not None  # the model guarantees window xor calendar
    period_start, _ = periods.period_bounds(spec.calendar.period, spec.calendar.time_zone, at)
    bad = series.calendar_window_query(series.BAD_TILE, spec.calendar, period_start, at)
    total = series.calendar_window_query(series.TOTAL_TILE, spec.calendar, period_start, at)
    return Plan(
        at,
        ratio_queries,
        None,
        client.Query(bad.query, at) if bad else None,
        client.Query(total.query, at) if total else None,
        None,
        period_start,
        series.window_seconds(spec),
    )


@dataclasses.dataclass(frozen=True)
class PolicyAction:
    """One action of a policy step that was just crossed; the loop carries it out."""

    step: str
    type: slo.PolicyActionType
    webhook: slo.WebhookTarget | None
    consumed_percent: float


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one evaluation of one SLO found."""

    state: State
    message: str
    values: dict[str, Any]
    """Status fields compared with the current status; a difference means a patch."""
    context: dict[str, Any]
    """Fields written only together with a change (`windowStart`)."""
    conditions: list[tuple[str, bool | str, str, str]]
    """Domain conditions (type, status, reason, message) besides Ready and Stalled."""
    actions: list[PolicyAction]
    primary: objectives.ObjectiveNumbers | None
    numbers: list[objectives.ObjectiveNumbers]
    burn_rates: dict[str, float]


_Key = tuple[str, ...]


def _group_key(labels: Mapping[str, str], group_by: Sequence[str]) -> _Key:
    return tuple(labels.get(name, "") for name in group_by)


def _split_sums(
    samples: Sequence[client.Sample], group_by: Sequence[str]
) -> tuple[dict[_Key, float], dict[tuple[_Key, str], float]]:
    """(total per group, bad per (group, threshold label)) from the combined sums query."""
    totals: dict[_Key, float] = {}
    bads: dict[tuple[_Key, str], float] = {}
    for sample in samples:
        key = _group_key(sample.labels, group_by)
        if sample.labels.get("__name__") == series.TOTAL_SUM:
            totals[key] = sample.value
        else:
            bads[(key, sample.labels.get(series.LABEL_THRESHOLD, ""))] = sample.value
    return totals, bads


def _threshold(objective: slo.Objective) -> str:
    seconds = objective.threshold_seconds
    return "" if seconds is None else series.threshold_label(seconds)


class SloEvaluator:
    """Evaluates SLOs; remembers each SLO's policy state so a crossing fires once.

    The memory starts from `status.policy` of the object as the watch delivered it, so a
    restarted operator does not fire a step the previous process already fired.
    """

    kind = KIND

    def __init__(self) -> None:
        self._policy: dict[str, policy.PolicyState] = {}

    def forget(self, uid: str) -> None:
        self._policy.pop(uid, None)

    def policy_state(self, uid: str, status: Mapping[str, Any]) -> policy.PolicyState:
        state = self._policy.get(uid)
        if state is None:
            stored = status.get("policy") or {}
            since = stored.get("since")
            state = policy.PolicyState(
                tuple(stored.get("activeSteps") or ()),
                datetime.datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None,
            )
            self._policy[uid] = state
        return state

    def evaluate(
        self,
        resource: slo.ServiceLevelObjective,
        uid: str,
        status: Mapping[str, Any],
        the_plan: Plan,
        answers: results_module.Results,
    ) -> Outcome:
        """The SLO's numbers and conditions from the cycle's answers."""
        spec = resource.spec
        namespace, name = resource.namespace, resource.name
        group_by = list(spec.group_by)
        if the_plan.sums is not None:
            totals, bads = _split_sums(answers.samples(the_plan.sums, namespace, name), group_by)
        else:
            totals, bads = self._calendar_sums(resource, the_plan, answers, group_by)
        slice_minutes = None
        if series.uses_slices(spec):
            assert spec.timeslice is not None
            slice_minutes = common.parse_duration_seconds(spec.timeslice.duration) / 60
        base_values: dict[str, Any] = {"target": spec.primary.target}
        if not any(total > 0 for total in totals.values()):
            return self._no_data(base_values, the_plan)

        numbers: list[objectives.ObjectiveNumbers] = []
        unmeasurable: list[str] = []
        primary_groups: list[groups.GroupNumbers] = []
        for objective in spec.objectives:
            threshold = _threshold(objective)
            pooled = objectives.Measurement(0.0, 0.0)
            per_group: dict[_Key, objectives.Measurement] = {}
            missing = False
            for key, total in totals.items():
                bad = bads.get((key, threshold))
                if bad is None:
                    missing = total > 0
                    continue
                measurement = objectives.Measurement(bad, total)
                per_group[key] = measurement
                pooled = pooled + measurement
            if missing and not per_group:
                unmeasurable.append(
                    f"objective {objective.name}: no bad-event series"
                    + (
                        f" for threshold {objective.threshold}: is it a bucket boundary (le)?"
                        if threshold
                        else ""
                    )
                )
                continue
            result = objectives.objective_numbers(
                objective.name, objective.target, pooled, slice_minutes=slice_minutes
            )
            if result is None:
                continue
            numbers.append(result)
            if objective.name == spec.primary.name and group_by:
                for key, measurement in per_group.items():
                    group_result = objectives.objective_numbers(
                        objective.name, objective.target, measurement, slice_minutes=slice_minutes
                    )
                    if group_result is not None:
                        primary_groups.append(
                            groups.GroupNumbers(dict(zip(group_by, key, strict=True)), group_result)
                        )
        primary = next((n for n in numbers if n.name == spec.primary.name), None)
        if primary is None:
            message = "; ".join(unmeasurable) or "the primary objective has no events yet"
            return Outcome(
                "NotMeasurable" if unmeasurable else "NoData",
                message,
                base_values,
                {},
                [("ErrorBudgetExhausted", "Unknown", "NoData", message)],
                [],
                None,
                numbers,
                {},
            )

        burn_rates = self._burn_rates(resource, the_plan, answers, group_by)
        values = dict(base_values)
        values["sli"] = rounding.sli(primary.sli)
        values["errorBudgetRemainingPercent"] = rounding.budget_percent(
            primary.error_budget_remaining_percent
        )
        values["burnRates"] = {w: rounding.burn_rate(r) for w, r in burn_rates.items()}
        values["objectives"] = [n.status() for n in numbers]
        if group_by:
            values["groups"] = [g.status() for g in groups.worst(primary_groups)]

        domain: list[tuple[str, bool | str, str, str]] = []
        exhausted = primary.error_budget_remaining_percent <= 0
        domain.append(
            (
                "ErrorBudgetExhausted",
                exhausted,
                "BudgetExhausted" if exhausted else "BudgetLeft",
                f"objective {primary.name}: "
                f"{rounding.budget_percent(primary.error_budget_remaining_percent)}% "
                "of the error budget left",
            )
        )
        actions: list[PolicyAction] = []
        if spec.error_budget_policy:
            previous = self.policy_state(uid, status)
            transition = policy.advance(
                [policy.Step(s.name, s.when_consumed_percent) for s in spec.error_budget_policy],
                primary.consumed_percent,
                previous,
                the_plan.at,
            )
            self._policy[uid] = transition.state
            values["policy"] = transition.state.status()
            by_name = {step.name: step for step in spec.error_budget_policy}
            for step_name in transition.crossed:
                for action in by_name[step_name].actions:
                    actions.append(
                        PolicyAction(
                            step_name, action.type, action.webhook, primary.consumed_percent
                        )
                    )
            freezing = [
                s.name
                for s in spec.error_budget_policy
                if s.name in transition.state.active_steps
                and any(a.type is slo.PolicyActionType.RELEASE_FREEZE for a in s.actions)
            ]
            if any(
                a.type is slo.PolicyActionType.RELEASE_FREEZE
                for s in spec.error_budget_policy
                for a in s.actions
            ):
                domain.append(
                    (
                        "ReleaseFreeze",
                        bool(freezing),
                        "PolicyStepReached" if freezing else "BudgetLeft",
                        f"policy step {', '.join(freezing)} freezes releases" if freezing else "",
                    )
                )

        state: State = "Evaluated"
        message = ""
        if the_plan.presence is not None and not answers.samples(
            the_plan.presence, resource.namespace, resource.name
        ):
            state = "PartialWindow"
            message = (
                "the recorded series are younger than the "
                f"{common.format_duration(the_plan.window_seconds)} window: "
                "the numbers cover only the time since they started"
            )
        if unmeasurable:
            message = "; ".join([message, *unmeasurable]) if message else "; ".join(unmeasurable)
        context = {}
        if the_plan.window_start is not None:
            context["windowStart"] = _timestamp(the_plan.window_start)
        return Outcome(
            state, message, values, context, domain, actions, primary, numbers, burn_rates
        )

    def _no_data(self, values: dict[str, Any], the_plan: Plan) -> Outcome:
        message = "the recorded series hold no events for this window yet"
        return Outcome(
            "NoData",
            message,
            values,
            {},
            [("ErrorBudgetExhausted", "Unknown", "NoData", message)],
            [],
            None,
            [],
            {},
        )

    def _calendar_sums(
        self,
        resource: slo.ServiceLevelObjective,
        the_plan: Plan,
        answers: results_module.Results,
        group_by: Sequence[str],
    ) -> tuple[dict[_Key, float], dict[tuple[_Key, str], float]]:
        totals: dict[_Key, float] = {}
        bads: dict[tuple[_Key, str], float] = {}
        if the_plan.calendar_bad is None or the_plan.calendar_total is None:
            return totals, bads
        for sample in answers.samples(the_plan.calendar_total, resource.namespace, resource.name):
            totals[_group_key(sample.labels, group_by)] = sample.value
        for sample in answers.samples(the_plan.calendar_bad, resource.namespace, resource.name):
            key = _group_key(sample.labels, group_by)
            bads[(key, sample.labels.get(series.LABEL_THRESHOLD, ""))] = sample.value
        return totals, bads

    def _burn_rates(
        self,
        resource: slo.ServiceLevelObjective,
        the_plan: Plan,
        answers: results_module.Results,
        group_by: Sequence[str],
    ) -> dict[str, float]:
        """Burn rate of the primary objective per alert window; the worst group's if grouped."""
        primary = resource.spec.primary
        threshold = _threshold(primary)
        rates: dict[str, float] = {}
        for label, query in the_plan.ratio_queries.items():
            worst: float | None = None
            for sample in answers.samples(query, resource.namespace, resource.name):
                if sample.labels.get(series.LABEL_THRESHOLD, "") != threshold:
                    continue
                if sample.value != sample.value:  # NaN: no events in the window
                    continue
                rate = objectives.burn_rate(sample.value, primary.target)
                worst = rate if worst is None else max(worst, rate)
            if worst is not None:
                rates[label] = worst
        return rates  # in the ascending order of the alert windows
