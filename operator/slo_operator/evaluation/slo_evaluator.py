"""The SLO kind: which batched queries an SLO needs, and its status from their answers.

Every query is shared by all SLOs with the same window (or calendar), so a cycle sends one query
per distinct window, not one per SLO (`rules.series` is the contract of the series read):

- burn rates, one query per alert window: `slo:sli_error:ratio{slo_window="1h"}`;
- bad and total over a rolling window, one per window: `slo:sli_bad:sum{slo_window="30d"}` and
  `slo:sli_total:sum{slo_window="30d"}`, joined with `or` and told apart by a `slo_sum` label;
- whether the series reach back a whole window, one per window (`presence_query`), and, for young
  SLOs whose start is not known yet, where they start (`coverage_query`);
- bad and total since a calendar period start, two per calendar
  (`series.calendar_window_query`).

Each is wrapped in `max by (slo_namespace, slo, slo_threshold, <every groupBy label>)`, which
drops the labels the evaluation does not read (service, user labels, the window).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pydantic

from ..api import common, slo
from ..backends import client
from ..budget import groups, objectives, periods, policy, rounding
from ..rules import recording, series
from . import kinds, metrics, policy_actions, registry
from . import results as results_module

KIND = "ServiceLevelObjective"

State = Literal["Evaluated", "NoData", "PartialWindow", "NotMeasurable"]

_SUM_LABEL = "slo_sum"
"""Set by the sums query on each series: `bad` or `total`."""


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
    """Rolling windows: answers for the SLOs whose recorded sums reach back a whole window."""
    window_start: datetime.datetime | None
    window_seconds: int
    coverage: client.Query | None = None
    """Rolling windows with young SLOs of unknown start: per SLO, the first `coverage_step` at
    which its full-window sum was recorded (`coverage_query`)."""
    coverage_step: int = 0
    coverage_key: str = ""
    """The window (`30d`) or calendar (`Month/Europe/Berlin`) young SLOs are tracked under."""
    window_name: str = ""
    """For messages: `30d window`, `Month period in Europe/Berlin`."""
    coverage_precision: int = 0
    """How much earlier than reported the covered data may start: one coverage step, plus one
    tile for tiled windows (their sum first appears at the first hour boundary after the rules
    started)."""

    @property
    def queries(self) -> tuple[client.Query, ...]:
        optional = (self.sums, self.calendar_bad, self.calendar_total, self.presence, self.coverage)
        return (*self.ratio_queries.values(), *(q for q in optional if q is not None))


@dataclasses.dataclass(frozen=True, slots=True)
class ObjectiveFacts:
    name: str
    target: float
    threshold: str
    """The `slo_threshold` label of its bad-event series; empty for other indicators."""
    threshold_text: str | None
    """The threshold as written, for messages."""


@dataclasses.dataclass(frozen=True, slots=True)
class StepFacts:
    name: str
    when_consumed_percent: float
    actions: tuple[tuple[slo.PolicyActionType, slo.WebhookTarget | None], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class SloFacts:
    """What the evaluation reads of one SLO, about a tenth of the memory of the full model
    (10,000 models would hold 80 MB between cycles)."""

    namespace: str
    name: str
    service: str
    backend: str | None
    window: str | None
    calendar: slo.Calendar | None
    group_by: tuple[str, ...]
    slice_minutes: float | None
    """The slice length for the timeslice methods; None for Occurrences."""
    objectives: tuple[ObjectiveFacts, ...]
    primary: ObjectiveFacts
    policy: tuple[StepFacts, ...]

    @property
    def shape(self) -> tuple[str | None, slo.Calendar | None]:
        """What a plan depends on."""
        return (self.window, self.calendar)

    @property
    def coverage_key(self) -> str:
        """The window or calendar label young SLOs are tracked under."""
        if self.calendar is not None:
            return series.calendar_label(self.calendar)
        return self.window or ""

    @classmethod
    def of(cls, resource: slo.ServiceLevelObjective) -> SloFacts:
        spec = resource.spec
        slice_minutes = None
        if series.uses_slices(spec):
            assert spec.timeslice is not None
            slice_minutes = common.parse_duration_seconds(spec.timeslice.duration) / 60
        objective_facts = tuple(
            ObjectiveFacts(o.name, o.target, _threshold(o), o.threshold) for o in spec.objectives
        )
        return cls(
            namespace=resource.namespace,
            name=resource.name,
            service=spec.service,
            backend=spec.backend,
            window=spec.window,
            calendar=spec.calendar,
            group_by=tuple(spec.group_by),
            slice_minutes=slice_minutes,
            objectives=objective_facts,
            primary=next(o for o in objective_facts if o.name == spec.primary.name),
            policy=tuple(
                StepFacts(
                    step.name,
                    step.when_consumed_percent,
                    tuple((action.type, action.webhook) for action in step.actions),
                )
                for step in spec.error_budget_policy
            ),
        )


COVERAGE_STEPS = 720
"""Resolution of the coverage probe: a window is probed at 720 steps (1h for 30 days, 2m for a
day). Each step costs a lookup per series, so the probe is only sent for young SLOs whose start
is not known yet, at most `COVERAGE_BATCH` of them per window and cycle, and the answer is
kept: where a series starts does not change."""
COVERAGE_BATCH = 500


def coverage_step(window_seconds: int) -> int:
    """Step of the coverage subquery: the window / 720, in whole minutes."""
    return max(60, window_seconds // COVERAGE_STEPS // 60 * 60)


def presence_query(window_label: str) -> str:
    """The SLOs of this window whose full-window total was recorded one window ago: their series
    cover the whole window. One lookup per series."""
    recorded = series.selector(series.TOTAL_SUM, {series.LABEL_WINDOW: window_label})
    return (
        f"group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
        f"({recorded} offset {window_label})"
    )


def coverage_query(window_label: str, window_seconds: int, names: Sequence[str]) -> str:
    """For the SLOs named (any namespace; the answer is matched by namespace too): the first
    step inside the window at which each one's full-window total was recorded."""
    step = common.format_duration(coverage_step(window_seconds))
    recorded = _named(series.TOTAL_SUM, {series.LABEL_WINDOW: window_label}, names)
    return (
        f"min_over_time(timestamp(group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
        f"({recorded}))[{window_label}:{step}])"
    )


def _named(metric: str, labels: Mapping[str, str], names: Sequence[str]) -> str:
    pattern = "|".join(re.escape(name) for name in sorted(set(names)))
    matchers = [f"{key}={common.quote_promql_string(value)}" for key, value in labels.items()]
    matchers.append(f"{series.LABEL_SLO}=~{common.quote_promql_string(pattern)}")
    return f"{metric}{{{','.join(matchers)}}}"


def calendar_presence_query(calendar_label: str, period_start: datetime.datetime) -> str:
    """The SLOs of this calendar whose hourly tiles were recorded an hour into the period (the
    first tile's end): their tiles cover the period. One lookup per series."""
    tiles = series.selector(series.TOTAL_TILE, {series.LABEL_CALENDAR: calendar_label})
    first_tile = round(period_start.timestamp()) + series.TILE_SECONDS
    return f"group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) ({tiles} @ {first_tile})"


def calendar_coverage_query(
    calendar_label: str,
    period_start: datetime.datetime,
    at: datetime.datetime,
    names: Sequence[str],
) -> tuple[str, int]:
    """For the SLOs named: the first step since the period start at which each one's tiles were
    recorded; and the step."""
    elapsed = int((at - period_start).total_seconds())
    step = coverage_step(elapsed)
    tiles = _named(series.TOTAL_TILE, {series.LABEL_CALENDAR: calendar_label}, names)
    query = (
        f"min_over_time(timestamp(group by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
        f"({tiles}))[{common.format_duration(elapsed)}:{common.format_duration(step)}] "
        f"@ {round(at.timestamp())})"
    )
    return query, step


class Planner:
    """Plans for one evaluation time. A plan depends only on the window (or calendar), so SLOs
    sharing a window share one plan object, computed once per cycle.

    `group_labels` is the union of every SLO's `groupBy`: queries keep only those labels and the
    identity labels (`max by (...)`), so a batch of 100,000 series does not carry each series'
    service and user labels back to the operator.
    """

    def __init__(
        self,
        at: datetime.datetime,
        shapes: Mapping[tuple[str | None, slo.Calendar | None], slo.ServiceLevelObjectiveSpec],
        group_labels: Sequence[str] = (),
        young: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.at = at
        self.shapes = shapes
        """One spec per window shape (`SloEvaluator.shapes`): plans are built from it."""
        self.keep = _keep_labels(group_labels)
        self.young = young or {}
        """Window -> names of young SLOs whose start is still to be found."""
        self._plans: dict[tuple[str | None, slo.Calendar | None], Plan] = {}

    def plan(self, facts: SloFacts) -> Plan:
        found = self._plans.get(facts.shape)
        if found is None:
            spec = self.shapes[facts.shape]
            young = self.young.get(facts.coverage_key, ())
            found = self._plans[facts.shape] = plan(spec, self.at, self.keep, young)
        return found


_IDENTITY = (series.LABEL_NAMESPACE, series.LABEL_SLO, series.LABEL_THRESHOLD)


def _keep_labels(group_labels: Sequence[str]) -> str:
    return ", ".join(dict.fromkeys([*_IDENTITY, *sorted(group_labels)]))


def _slim(promql: str, keep: str) -> str:
    """The same series with only the labels the evaluation reads (they identify each series)."""
    return f"max by ({keep}) ({promql})"


def _tagged(promql: str, keep: str, value: str) -> str:
    return f'label_replace({_slim(promql, keep)}, "{_SUM_LABEL}", "{value}", "", "")'


def plan(
    spec: slo.ServiceLevelObjectiveSpec,
    at: datetime.datetime,
    keep: str | None = None,
    young: Sequence[str] = (),
) -> Plan:
    """The queries for an SLO at `at`; equal for every SLO with the same window or calendar."""
    keep = keep or _keep_labels(spec.group_by)
    ratio_queries = {
        series.window_label(seconds): client.Query(
            _slim(series.error_ratio_query(series.window_label(seconds)), keep), at
        )
        for seconds in recording.alert_windows(spec)
    }
    window = series.full_window(spec)
    if window is not None:
        window_labels = {series.LABEL_WINDOW: window.label}
        # Bad and total in one query, told apart by a label (`max by` drops the metric name).
        sums = client.Query(
            _tagged(series.selector(series.BAD_SUM, window_labels), keep, "bad")
            + " or "
            + _tagged(series.selector(series.TOTAL_SUM, window_labels), keep, "total"),
            at,
        )
        presence = client.Query(presence_query(window.label), at)
        coverage = None
        if young:
            coverage = client.Query(coverage_query(window.label, window.seconds, young), at)
        step = coverage_step(window.seconds)
        start = series.window_end(window, at) - datetime.timedelta(seconds=window.seconds)
        precision = step + (series.TILE_SECONDS if window.tiled else 0)
        return Plan(
            at,
            ratio_queries,
            sums,
            None,
            None,
            presence,
            start,
            window.seconds,
            coverage,
            step,
            window.label,
            f"{window.label} window",
            precision,
        )
    assert spec.calendar is not None  # the model guarantees window xor calendar
    period_start, _ = periods.period_bounds(
        spec.calendar.period,
        spec.calendar.time_zone,
        at,
        slo.week_start_index(spec.calendar.week_start),
    )
    bad = series.calendar_window_query(series.BAD_TILE, spec.calendar, period_start, at)
    total = series.calendar_window_query(series.TOTAL_TILE, spec.calendar, period_start, at)
    label = series.calendar_label(spec.calendar)
    tiles_presence: client.Query | None = None
    tiles_coverage: client.Query | None = None
    tiles_step = 0
    if total is not None:
        tiles_presence = client.Query(calendar_presence_query(label, period_start), at)
        if young:
            text, tiles_step = calendar_coverage_query(label, period_start, at, young)
            tiles_coverage = client.Query(text, at)
    return Plan(
        at,
        ratio_queries,
        None,
        client.Query(_slim(bad.query, keep), at) if bad else None,
        client.Query(_slim(total.query, keep), at) if total else None,
        tiles_presence,
        period_start,
        series.window_seconds(spec),
        tiles_coverage,
        tiles_step,
        label,
        f"{spec.calendar.period.value} period in {spec.calendar.time_zone}",
        tiles_step,
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

    @property
    def measured(self) -> bool:
        return self.primary is not None


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
        if sample.labels.get(_SUM_LABEL) == "total":
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
    requires_rules = True

    def __init__(self) -> None:
        self._policy: dict[str, policy.PolicyState] = {}
        self.shapes: dict[tuple[str | None, slo.Calendar | None], slo.ServiceLevelObjectiveSpec]
        self.shapes = {}
        """One spec per window shape seen, from which `Planner` builds plans."""
        self._planner: Planner | None = None
        self._first_recorded_at: dict[tuple[str, str, str], datetime.datetime] = {}
        """(namespace, name, window) of young SLOs -> where their recorded sums start."""
        self._young_unknown: dict[str, set[tuple[str, str]]] = {}
        """Window -> young SLOs whose start the next cycle's coverage probe should find."""

    def parse(self, body: Mapping[str, Any]) -> SloFacts | None:
        """Python-mode validation: the body came from the apiserver (or from `evaluate`'s own
        checks); this only builds the typed model. The reconcile handler reports invalid ones."""
        try:
            resource = slo.ServiceLevelObjective.model_validate(body)
        except (pydantic.ValidationError, ValueError):
            return None
        return self.facts(resource)

    def facts(self, resource: slo.ServiceLevelObjective) -> SloFacts:
        """The compact view of a parsed SLO; remembers its window shape for planning."""
        found = SloFacts.of(resource)
        self.shapes.setdefault(found.shape, resource.spec)
        return found

    @property
    def locating(self) -> bool:
        """Whether young SLOs wait for the next cycle's coverage probe."""
        return any(self._young_unknown.values())

    def begin(self, at: datetime.datetime, facts: Sequence[SloFacts]) -> None:
        group_labels = sorted({label for item in facts for label in item.group_by})
        young = {
            window: sorted(name for _, name in keys)[:COVERAGE_BATCH]
            for window, keys in self._young_unknown.items()
            if keys
        }
        self._planner = Planner(at, self.shapes, group_labels, young)

    def plan(self, facts: SloFacts) -> Plan:
        assert self._planner is not None, "begin() first"
        return self._planner.plan(facts)

    def forget(self, ref: registry.ObjectRef, uid: str) -> None:
        self._policy.pop(uid, None)
        for key in [k for k in self._first_recorded_at if k[:2] == (ref.namespace, ref.name)]:
            del self._first_recorded_at[key]
        for keys in self._young_unknown.values():
            keys.discard((ref.namespace, ref.name))
        metrics.SLO_NUMBERS.forget(ref.namespace, ref.name)

    async def act(
        self,
        entry: registry.Entry,
        facts: SloFacts,
        outcome: Outcome,
        writer: kinds.StatusWriter,
        webhook_hosts: Sequence[str],
        at: datetime.datetime,
    ) -> None:
        """The Event and Webhook actions of the policy steps this evaluation crossed."""
        if outcome.primary is None:
            return
        for action in outcome.actions:
            await policy_actions.carry_out(
                writer,
                webhook_hosts,
                entry,
                facts.service,
                outcome.primary,
                action.step,
                action.type,
                action.webhook,
                at,
            )

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
        entry: registry.Entry,
        facts: SloFacts,
        planned: Plan,
        answers: results_module.Results,
    ) -> Outcome:
        """The SLO's numbers and conditions from the cycle's answers; updates its metrics."""
        outcome = self._evaluate(entry.uid, entry.status, facts, planned, answers)
        if outcome.primary is not None:
            metrics.SLO_NUMBERS.set(
                facts.namespace,
                facts.name,
                [
                    (n.name, n.sli, n.error_budget_remaining_percent, n.met, n.target)
                    for n in outcome.numbers
                ],
                outcome.burn_rates,
            )
        return outcome

    def _evaluate(
        self,
        uid: str,
        status: Mapping[str, Any],
        facts: SloFacts,
        the_plan: Plan,
        answers: results_module.Results,
    ) -> Outcome:
        namespace, name = facts.namespace, facts.name
        group_by = facts.group_by
        if the_plan.sums is not None:
            totals, bads = _split_sums(answers.samples(the_plan.sums, namespace, name), group_by)
        else:
            totals, bads = self._calendar_sums(facts, the_plan, answers)
        if not any(total > 0 for total in totals.values()):
            return self._no_data({"target": facts.primary.target}, the_plan)
        return self.outcome(
            uid,
            status,
            facts,
            the_plan,
            totals,
            bads,
            self._burn_rates(facts, the_plan, answers),
            self._young(facts, the_plan, answers),
        )

    def outcome(
        self,
        uid: str,
        status: Mapping[str, Any],
        facts: SloFacts,
        the_plan: Plan,
        totals: Mapping[_Key, float],
        bads: Mapping[tuple[_Key, str], float],
        burn_rates: dict[str, float],
        young: bool,
    ) -> Outcome:
        """Numbers, conditions and policy from bad and total per group (and threshold), however
        they were measured: from the recorded sums, or from raw series (`raw`)."""
        namespace, name = facts.namespace, facts.name
        group_by = facts.group_by
        slice_minutes = facts.slice_minutes
        base_values: dict[str, Any] = {"target": facts.primary.target}
        if not any(total > 0 for total in totals.values()):
            return self._no_data(base_values, the_plan)

        numbers: list[objectives.ObjectiveNumbers] = []
        unmeasurable: list[str] = []
        primary_groups: list[groups.GroupNumbers] = []
        for objective in facts.objectives:
            threshold = objective.threshold
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
                        f" for threshold {objective.threshold_text}: is it a bucket boundary (le)?"
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
            if objective.name == facts.primary.name and group_by:
                for key, measurement in per_group.items():
                    group_result = objectives.objective_numbers(
                        objective.name, objective.target, measurement, slice_minutes=slice_minutes
                    )
                    if group_result is not None:
                        primary_groups.append(
                            groups.GroupNumbers(dict(zip(group_by, key, strict=True)), group_result)
                        )
        primary = next((n for n in numbers if n.name == facts.primary.name), None)
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

        values = dict(base_values)
        values["source"] = "RecordedSeries"
        values["sli"] = rounding.sli(primary.sli)
        values["errorBudgetRemainingPercent"] = rounding.budget_percent(
            primary.error_budget_remaining_percent
        )
        values["burnRates"] = {w: rounding.burn_rate(r) for w, r in burn_rates.items()}
        values["objectives"] = [n.status() for n in numbers]
        if group_by:
            values["groups"] = [g.status() for g in groups.worst(primary_groups)]
            # Groups whose traffic stopped while others continue: listed after the worst ones,
            # with their last numbers, marked noData (never dropped silently).
            values["groups"] += groups.quiet(
                group_by,
                status.get("groups") or [],
                [key for key, total in totals.items() if total <= 0],
                [tuple(g.labels[name] for name in group_by) for g in primary_groups],
                the_plan.at,
                the_plan.window_start,
            )

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
        if facts.policy:
            previous = self.policy_state(uid, status)
            transition = policy.advance(
                [policy.Step(s.name, s.when_consumed_percent) for s in facts.policy],
                primary.consumed_percent,
                previous,
                the_plan.at,
            )
            self._policy[uid] = transition.state
            values["policy"] = transition.state.status()
            by_name = {step.name: step for step in facts.policy}
            for step_name in transition.crossed:
                for action_type, webhook in by_name[step_name].actions:
                    actions.append(
                        PolicyAction(step_name, action_type, webhook, primary.consumed_percent)
                    )
            freeze = slo.PolicyActionType.RELEASE_FREEZE
            freezing = [
                s.name
                for s in facts.policy
                if s.name in transition.state.active_steps
                and any(action_type is freeze for action_type, _ in s.actions)
            ]
            if any(action_type is freeze for s in facts.policy for action_type, _ in s.actions):
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
        window_start = the_plan.window_start
        if young:
            # The sums cover only the time since the rules started. Say so, and show where the
            # covered window starts instead of the nominal start (once the probe found it).
            state = "PartialWindow"
            first = self._first_recorded_at.get((namespace, name, facts.coverage_key))
            if first is None:
                window_start = None  # not the nominal start: that would claim too much
                message = (
                    f"the recorded series are younger than the {the_plan.window_name}: "
                    "the numbers cover the time since they started (being located)"
                )
            else:
                window_start = first
                message = (
                    f"the recorded series are younger than the {the_plan.window_name}: they "
                    f"start at {_timestamp(first)} (or up to "
                    f"{common.format_duration(the_plan.coverage_precision)} earlier), "
                    "and the numbers cover the time since"
                )
        if unmeasurable:
            message = "; ".join([message, *unmeasurable]) if message else "; ".join(unmeasurable)
        context = {}
        if window_start is not None:
            context["windowStart"] = _timestamp(window_start)
        return Outcome(
            state, message, values, context, domain, actions, primary, numbers, burn_rates
        )

    def _young(self, facts: SloFacts, the_plan: Plan, answers: results_module.Results) -> bool:
        """Whether the SLO's recorded sums are younger than its window; learns where they start
        from the coverage probe, or queues the SLO for the next cycle's probe."""
        if the_plan.presence is None:
            return False
        key = (facts.namespace, facts.name, facts.coverage_key)
        pending = self._young_unknown.setdefault(facts.coverage_key, set())
        if answers.samples(the_plan.presence, facts.namespace, facts.name):
            self._first_recorded_at.pop(key, None)
            pending.discard(key[:2])
            return False
        if the_plan.coverage is not None:
            found = answers.samples(the_plan.coverage, facts.namespace, facts.name)
            if found and found[0].value == found[0].value:
                self._first_recorded_at[key] = datetime.datetime.fromtimestamp(
                    found[0].value, datetime.UTC
                )
        if key not in self._first_recorded_at:
            pending.add(key[:2])
        else:
            pending.discard(key[:2])
        return True

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
        self, facts: SloFacts, the_plan: Plan, answers: results_module.Results
    ) -> tuple[dict[_Key, float], dict[tuple[_Key, str], float]]:
        group_by = facts.group_by
        totals: dict[_Key, float] = {}
        bads: dict[tuple[_Key, str], float] = {}
        if the_plan.calendar_bad is None or the_plan.calendar_total is None:
            return totals, bads
        for sample in answers.samples(the_plan.calendar_total, facts.namespace, facts.name):
            totals[_group_key(sample.labels, group_by)] = sample.value
        for sample in answers.samples(the_plan.calendar_bad, facts.namespace, facts.name):
            key = _group_key(sample.labels, group_by)
            bads[(key, sample.labels.get(series.LABEL_THRESHOLD, ""))] = sample.value
        return totals, bads

    def _burn_rates(
        self, facts: SloFacts, the_plan: Plan, answers: results_module.Results
    ) -> dict[str, float]:
        """Burn rate of the primary objective per alert window; the worst group's if grouped."""
        primary = facts.primary
        threshold = primary.threshold
        rates: dict[str, float] = {}
        for label, query in the_plan.ratio_queries.items():
            worst: float | None = None
            for sample in answers.samples(query, facts.namespace, facts.name):
                if sample.labels.get(series.LABEL_THRESHOLD, "") != threshold:
                    continue
                if sample.value != sample.value:  # NaN: no events in the window
                    continue
                rate = objectives.burn_rate(sample.value, primary.target)
                worst = rate if worst is None else max(worst, rate)
            if worst is not None:
                rates[label] = worst
        return rates  # in the ascending order of the alert windows
