"""The SLO kind: which batched queries an SLO needs, and its status from their answers.

Every query is shared by all SLOs with the same window (or calendar), so a cycle sends one query
per distinct window, not one per SLO (`rules.series` is the contract of the series read):

- burn rates, one query per alert window: `slo:sli_error:ratio{slo_window="1h"}`;
- bad and total over a rolling window, one per window: `slo:sli_bad:sum{slo_window="30d"}` and
  `slo:sli_total:sum{slo_window="30d"}`, joined with `or` and told apart by a `slo_sum` label;
- whether the series reach back a whole window, one per window (`presence_query`), and, for young
  SLOs whose start is not known yet, where they start (`coverage_query`);
- bad and total since a calendar period start, two per calendar
  (`series.calendar_window_query`);
- for windows summed from hourly tiles, how many tiles each SLO's sums read, one per window or
  calendar (`tile_check_query`); only where one is missing (Prometheus was down over an hour
  boundary), a second round sums the hours without a tile from their 1m points, one query per
  window and slice length (`tile_repair_query`), added to the recorded sums.

Each is wrapped in `max by (slo_namespace, slo, slo_threshold, <every groupBy label>)`, which
drops the labels the evaluation does not read (service, user labels, the window).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from ..api import common, conditions, kind_names, slo, times
from ..api import status as status_api
from ..backends import client
from ..budget import groups, objectives, policy, rounding
from ..rules import series
from . import kinds, metrics, policy_actions, registry, slo_queries
from . import results as results_module

logger = logging.getLogger(__name__)

KIND = kind_names.SLO_KIND
Reason = conditions.Reason
Type = conditions.ConditionType
Status = status_api.ServiceLevelObjectiveStatus


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


COVERAGE_BATCH = 500


class Planner:
    """Plans for one evaluation time. A plan depends only on the window (or calendar), so SLOs
    sharing a window share one plan object, computed once per cycle.

    `group_labels` is the union of every SLO's `groupBy`: queries keep only those labels and the
    identity labels (`max by (...)`), so a batch of 100,000 series does not carry each series'
    service and user labels back to the operator.

    The tile check of a tiled window is sent only while one of its SLOs has no answer for the
    window's current tiles (`tiles_read`): once an hour for all of them, and when an SLO
    appears for the new ones (up to `COVERAGE_BATCH` named; more: all).
    """

    def __init__(
        self,
        at: datetime.datetime,
        shapes: Mapping[tuple[str | None, slo.Calendar | None], slo.ServiceLevelObjectiveSpec],
        group_labels: Sequence[str] = (),
        young: Mapping[str, Sequence[str]] | None = None,
        facts: Sequence[SloFacts] = (),
        tiles_read: Mapping[tuple[str, str], tuple[str, int]] | None = None,
    ) -> None:
        self.at = at
        self.shapes = shapes
        """One spec per window shape (`SloEvaluator.shapes`): plans are built from it."""
        self.keep = slo_queries.keep_labels(group_labels)
        self.young = young or {}
        """Window -> names of young SLOs whose start is still to be found."""
        self._plans: dict[tuple[str | None, slo.Calendar | None], slo_queries.Plan] = {}
        full: dict[tuple[str | None, slo.Calendar | None], slo_queries.Plan] = {}
        members: dict[tuple[str | None, slo.Calendar | None], int] = {}
        unread: dict[tuple[str | None, slo.Calendar | None], set[str]] = {}
        read = tiles_read or {}
        for item in facts:
            plan = full.get(item.shape)
            if plan is None:
                plan = full[item.shape] = self._full(item)
            if plan.tiles is None:
                continue
            members[item.shape] = members.get(item.shape, 0) + 1
            if read.get((item.namespace, item.name)) != (item.coverage_key, plan.tiles.anchor):
                unread.setdefault(item.shape, set()).add(item.name)
        for shape, whole in full.items():
            names = unread.get(shape)
            if not names:
                self._plans[shape] = dataclasses.replace(whole, tile_check=None)
            elif len(names) < members[shape] and len(names) <= COVERAGE_BATCH:
                self._plans[shape] = whole.checking(sorted(names))
            else:
                self._plans[shape] = whole

    def _full(self, facts: SloFacts) -> slo_queries.Plan:
        spec = self.shapes[facts.shape]
        young = self.young.get(facts.coverage_key, ())
        return slo_queries.plan(spec, self.at, self.keep, young)

    def plan(self, facts: SloFacts) -> slo_queries.Plan:
        found = self._plans.get(facts.shape)
        if found is None:
            found = dataclasses.replace(self._full(facts), tile_check=None)
            self._plans[facts.shape] = found
        return found


@dataclasses.dataclass(frozen=True)
class PolicyAction:
    """One action of a policy step crossed and not yet announced; the loop carries it out."""

    step: str
    type: slo.PolicyActionType
    webhook: slo.WebhookTarget | None
    consumed_percent: float
    at: datetime.datetime
    """When the step was crossed (an earlier cycle's, or process's, for a step recorded and
    not yet announced)."""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one evaluation of one SLO found (`kinds.Outcome`)."""

    state: conditions.Reason
    message: str
    values: status_api.ServiceLevelObjectiveStatus
    """Status fields compared with the current status; a difference means a patch."""
    context: status_api.ServiceLevelObjectiveStatus
    """Fields written only together with a change (`lastEvaluationTime`, `windowStart`)."""
    conditions: list[conditions.ConditionState]
    """Domain conditions besides Ready and Stalled."""
    actions: list[PolicyAction] = dataclasses.field(default_factory=list)
    primary: objectives.ObjectiveNumbers | None = None
    numbers: list[objectives.ObjectiveNumbers] = dataclasses.field(default_factory=list)
    burn_rates: dict[str, float] = dataclasses.field(default_factory=dict)


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
        if sample.labels.get(slo_queries.SUM_LABEL) == "total":
            totals[key] = sample.value
        else:
            bads[(key, sample.labels.get(series.LABEL_THRESHOLD, ""))] = sample.value
    return totals, bads


def _add_missing_hours(
    samples: Sequence[client.Sample],
    group_by: Sequence[str],
    totals: dict[_Key, float],
    bads: dict[tuple[_Key, str], float],
) -> None:
    """Add the hours summed from 1m points (`tile_repair_query`) to the tiles' sums."""
    more_totals, more_bads = _split_sums(samples, group_by)
    for key, value in more_totals.items():
        totals[key] = totals.get(key, 0.0) + value
    for bad_key, value in more_bads.items():
        bads[bad_key] = bads.get(bad_key, 0.0) + value


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
        self._repairs: dict[tuple[str, str], client.Query] = {}
        """This cycle: (namespace, name) -> the query summing the hours its tiles miss."""
        self._tiles_read: dict[tuple[str, str], tuple[str, int, tuple[client.Sample, ...]]] = {}
        """(namespace, name) -> the window (or calendar) and tile anchor of its last answered
        tile check, and the sums of the hours its tiles missed then (none when none did)."""

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
        tiles_read = {key: value[:2] for key, value in self._tiles_read.items()}
        self._planner = Planner(at, self.shapes, group_labels, young, facts, tiles_read)
        self._repairs = {}

    def plan(self, facts: SloFacts) -> slo_queries.Plan:
        assert self._planner is not None, "begin() first"
        return self._planner.plan(facts)

    def follow_up(
        self, work: Sequence[tuple[SloFacts, slo_queries.Plan]], answers: results_module.Results
    ) -> list[client.Query]:
        """The hours whose tile is missing, for the SLOs the tile check found short: one query
        per window (or calendar) and slice length, none when no tile is missing."""
        assert self._planner is not None, "begin() first"
        short: dict[tuple[int, float | None, int], list[SloFacts]] = {}
        plans: dict[int, slo_queries.Plan] = {}
        for facts, the_plan in work:
            check, tiles = the_plan.tile_check, the_plan.tiles
            if check is None or tiles is None or not answers.has(check):
                continue
            if not the_plan.checks_tiles_of(facts.name):
                continue
            whole = the_plan.presence is not None and bool(
                answers.samples(the_plan.presence, facts.namespace, facts.name)
            )
            found = answers.samples(check, facts.namespace, facts.name)
            read, expected = slo_queries.tiles_expected(found, tiles, whole)
            if read < expected:
                short.setdefault((id(the_plan), facts.slice_minutes, expected), []).append(facts)
                plans[id(the_plan)] = the_plan
        queries: list[client.Query] = []
        for (plan_id, slice_minutes, expected), members in short.items():
            the_plan = plans[plan_id]
            assert the_plan.tiles is not None
            duration = None if slice_minutes is None else common.format_duration(60 * slice_minutes)
            query = client.Query(
                slo_queries.tile_repair_query(
                    the_plan.tile_labels,
                    the_plan.tiles.last(expected),
                    [facts.name for facts in members],
                    duration,
                    self._planner.keep,
                ),
                the_plan.at,
            )
            queries.append(query)
            for facts in members:
                self._repairs[(facts.namespace, facts.name)] = query
        return queries

    def forget(self, ref: registry.ObjectRef, uid: str) -> None:
        self._policy.pop(uid, None)
        self._tiles_read.pop((ref.namespace, ref.name), None)
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
        """The Event and Webhook actions of the policy steps crossed and not yet announced,
        each step then taken out of `status.policy.unannounced`: a process killed before that
        write announces the step again after its restart, with the same idempotencyKey (at
        least once; twice only when killed between the delivery and its record)."""
        if outcome.primary is None or not outcome.actions:
            return
        crossings: dict[tuple[str, datetime.datetime], list[PolicyAction]] = {}
        for action in outcome.actions:
            crossings.setdefault((action.step, action.at), []).append(action)
        for (step, _), actions in crossings.items():
            for action in actions:
                await policy_actions.carry_out(
                    writer,
                    webhook_hosts,
                    entry,
                    facts.service,
                    outcome.primary,
                    action.step,
                    action.type,
                    action.webhook,
                    action.at,
                )
            await self._announced(entry, writer, step)

    async def _announced(
        self, entry: registry.Entry, writer: kinds.StatusWriter, step: str
    ) -> None:
        """`step`'s crossing taken out of the memory's and the status' unannounced ones."""
        state = self._policy.get(entry.uid)
        if state is None:
            return
        state = dataclasses.replace(
            state, unannounced=tuple(item for item in state.unannounced if item[0] != step)
        )
        self._policy[entry.uid] = state
        left = state.status().to_wire().get("unannounced")
        try:
            await writer.patch_status(entry.ref, {"policy": {"unannounced": left}})
        except Exception as error:
            # The next cycle's patch records it (from the memory); until then a restart would
            # announce the step again.
            logger.warning("recording the announcement of %s failed: %s", entry.ref, error)

    def policy_state(self, uid: str, status: Mapping[str, Any]) -> policy.PolicyState:
        state = self._policy.get(uid)
        if state is None:
            stored = status.get("policy")
            state = policy.PolicyState.of(
                None if stored is None else status_api.PolicyStatus.model_validate(stored)
            )
            self._policy[uid] = state
        return state

    def evaluate(
        self,
        entry: registry.Entry,
        facts: SloFacts,
        planned: slo_queries.Plan,
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
        else:
            # No events in the window: the dashboards show no value, never the last numbers.
            metrics.SLO_NUMBERS.forget(facts.namespace, facts.name)
        return outcome

    def _evaluate(
        self,
        uid: str,
        status: Mapping[str, Any],
        facts: SloFacts,
        the_plan: slo_queries.Plan,
        answers: results_module.Results,
    ) -> Outcome:
        namespace, name = facts.namespace, facts.name
        group_by = facts.group_by
        if the_plan.sums is not None:
            totals, bads = _split_sums(answers.samples(the_plan.sums, namespace, name), group_by)
        else:
            totals, bads = self._calendar_sums(facts, the_plan, answers)
        missing_hours = self._missing_hours(facts, the_plan, answers)
        if not any(total > 0 for total in totals.values()):
            return _no_data(facts)
        if missing_hours:
            _add_missing_hours(missing_hours, group_by, totals, bads)
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
        the_plan: slo_queries.Plan,
        totals: Mapping[_Key, float],
        bads: Mapping[tuple[_Key, str], float],
        burn_rates: dict[str, float],
        young: bool,
        source: status_api.Source = "RecordedSeries",
    ) -> Outcome:
        """Numbers, conditions and policy from bad and total per group (and threshold), however
        they were measured: from the recorded sums, or from raw series (`raw`)."""
        if not any(total > 0 for total in totals.values()):
            return _no_data(facts)
        numbers, unmeasurable, primary_groups = measure_objectives(facts, totals, bads)
        primary = next((n for n in numbers if n.name == facts.primary.name), None)
        if primary is None:
            return _not_measured(facts, numbers, unmeasurable)
        values = status_values(facts, primary, numbers, primary_groups, burn_rates)
        values.source = source
        if facts.group_by:
            quiet = _quiet_groups(facts, status, totals, primary_groups, the_plan)
            values.groups = [*(values.groups or []), *quiet]
        domain = [budget_condition(primary)]
        actions: list[PolicyAction] = []
        if facts.policy:
            values.policy, actions, freeze = self._advance_policy(
                uid, status, facts, primary, the_plan.at
            )
            if freeze is not None:
                domain.append(freeze)
        state, message, window_start = self._coverage(facts, the_plan, young)
        message = "; ".join(part for part in (message, *unmeasurable) if part)
        context = Status(last_evaluation_time=the_plan.at, window_start=window_start)
        return Outcome(
            state, message, values, context, domain, actions, primary, numbers, burn_rates
        )

    def _advance_policy(
        self,
        uid: str,
        status: Mapping[str, Any],
        facts: SloFacts,
        primary: objectives.ObjectiveNumbers,
        at: datetime.datetime,
    ) -> tuple[status_api.PolicyStatus, list[PolicyAction], conditions.ConditionState | None]:
        """Move the error budget policy to the consumed budget: `status.policy`, the actions
        of the steps crossed now, and the ReleaseFreeze condition."""
        previous = self.policy_state(uid, status)
        transition = policy.advance(
            [policy.Step(s.name, s.when_consumed_percent) for s in facts.policy],
            primary.consumed_percent,
            previous,
            at,
        )
        by_name = {step.name: step for step in facts.policy}
        # Recorded before they are announced: crossings not yet announced (by this process or
        # one killed before it could) stay in status until their actions are carried out.
        unannounced = (
            *(
                (name, when)
                for name, when in previous.unannounced
                if name in transition.state.active_steps and name in by_name
            ),
            *((name, at) for name in transition.crossed),
        )
        state = dataclasses.replace(transition.state, unannounced=unannounced)
        self._policy[uid] = state
        actions = [
            PolicyAction(name, action_type, webhook, primary.consumed_percent, when)
            for name, when in unannounced
            for action_type, webhook in by_name[name].actions
        ]
        freeze = release_freeze_condition(facts, state.active_steps)
        return state.status(), actions, freeze

    def _coverage(
        self, facts: SloFacts, the_plan: slo_queries.Plan, young: bool
    ) -> tuple[conditions.Reason, str, datetime.datetime | None]:
        """Ready's reason and message, and the window start the numbers cover."""
        if not young:
            return Reason.EVALUATED, "", the_plan.window_start
        # The sums cover only the time since the rules started. Say so, and show where the
        # covered window starts instead of the nominal start (once the probe found it).
        first = self._first_recorded_at.get((facts.namespace, facts.name, facts.coverage_key))
        if first is None:
            # Not the nominal start either: that would claim too much.
            message = (
                f"the recorded series are younger than the {the_plan.window_name}: "
                "the numbers cover the time since they started (being located)"
            )
            return Reason.PARTIAL_WINDOW, message, None
        message = (
            f"the recorded series are younger than the {the_plan.window_name}: they "
            f"start at {times.format_timestamp(first)} (or up to "
            f"{common.format_duration(the_plan.coverage_precision)} earlier), "
            "and the numbers cover the time since"
        )
        return Reason.PARTIAL_WINDOW, message, first

    def _young(
        self, facts: SloFacts, the_plan: slo_queries.Plan, answers: results_module.Results
    ) -> bool:
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

    def _missing_hours(
        self, facts: SloFacts, the_plan: slo_queries.Plan, answers: results_module.Results
    ) -> tuple[client.Sample, ...]:
        """The sums of the hours without a tile in the window's current tiles: from this
        cycle's tile check and repair, or remembered from the check of this hour."""
        tiles = the_plan.tiles
        if tiles is None:
            return ()
        key = (facts.namespace, facts.name)
        check, repair = the_plan.tile_check, self._repairs.get(key)
        if check is not None and answers.has(check) and the_plan.checks_tiles_of(facts.name):
            if repair is None:
                self._tiles_read[key] = (facts.coverage_key, tiles.anchor, ())
            elif answers.has(repair):
                found = tuple(answers.samples(repair, facts.namespace, facts.name))
                self._tiles_read[key] = (facts.coverage_key, tiles.anchor, found)
        remembered = self._tiles_read.get(key)
        if remembered is None or remembered[:2] != (facts.coverage_key, tiles.anchor):
            return ()
        return remembered[2]

    def _calendar_sums(
        self, facts: SloFacts, the_plan: slo_queries.Plan, answers: results_module.Results
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
        self, facts: SloFacts, the_plan: slo_queries.Plan, answers: results_module.Results
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


def measure_objectives(
    facts: SloFacts,
    totals: Mapping[_Key, float],
    bads: Mapping[tuple[_Key, str], float],
) -> tuple[list[objectives.ObjectiveNumbers], list[str], list[groups.GroupNumbers]]:
    """Each objective's numbers from bad and total per group (and threshold); why an objective
    could not be measured; the primary objective's numbers per group (with `groupBy`)."""
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
            objective.name, objective.target, pooled, slice_minutes=facts.slice_minutes
        )
        if result is None:
            continue
        numbers.append(result)
        if objective.name == facts.primary.name and facts.group_by:
            primary_groups.extend(_group_numbers(facts, objective, per_group))
    return numbers, unmeasurable, primary_groups


def _group_numbers(
    facts: SloFacts, objective: ObjectiveFacts, per_group: Mapping[_Key, objectives.Measurement]
) -> list[groups.GroupNumbers]:
    found: list[groups.GroupNumbers] = []
    for key, measurement in per_group.items():
        group_result = objectives.objective_numbers(
            objective.name, objective.target, measurement, slice_minutes=facts.slice_minutes
        )
        if group_result is not None:
            labels = dict(zip(facts.group_by, key, strict=True))
            found.append(groups.GroupNumbers(labels, group_result))
    return found


def status_values(
    facts: SloFacts,
    primary: objectives.ObjectiveNumbers,
    numbers: Sequence[objectives.ObjectiveNumbers],
    primary_groups: Sequence[groups.GroupNumbers],
    burn_rates: Mapping[str, float],
) -> status_api.ServiceLevelObjectiveStatus:
    """The status fields of a measured SLO, rounded as they are shown."""
    values = Status(
        target=facts.primary.target,
        sli=rounding.sli(primary.sli),
        error_budget_remaining_percent=rounding.budget_percent(
            primary.error_budget_remaining_percent
        ),
        burn_rates={w: rounding.burn_rate(r) for w, r in burn_rates.items()},
        objectives=[n.status() for n in numbers],
    )
    if facts.group_by:
        values.groups = [g.status() for g in groups.worst(list(primary_groups))]
    return values


def _quiet_groups(
    facts: SloFacts,
    status: Mapping[str, Any],
    totals: Mapping[_Key, float],
    primary_groups: Sequence[groups.GroupNumbers],
    the_plan: slo_queries.Plan,
) -> list[status_api.GroupStatus]:
    """Groups whose traffic stopped while others continue: listed after the worst ones, with
    their last numbers, marked noData (never dropped silently)."""
    previous = [status_api.GroupStatus.model_validate(g) for g in status.get("groups") or []]
    return groups.quiet(
        facts.group_by,
        previous,
        [key for key, total in totals.items() if total <= 0],
        [tuple(g.labels[name] for name in facts.group_by) for g in primary_groups],
        the_plan.at,
        the_plan.window_start,
    )


def _no_data(facts: SloFacts) -> Outcome:
    """No events in the window: no numbers (never zeros), the budget Unknown."""
    message = "the recorded series hold no events for this window yet"
    return Outcome(
        Reason.NO_DATA,
        message,
        Status(target=facts.primary.target),
        Status(),
        [
            conditions.ConditionState(
                Type.ERROR_BUDGET_EXHAUSTED, "Unknown", Reason.NO_DATA, message
            )
        ],
    )


def _not_measured(
    facts: SloFacts, numbers: list[objectives.ObjectiveNumbers], unmeasurable: Sequence[str]
) -> Outcome:
    """Events, but not for the primary objective: why it cannot be measured, or no data yet."""
    message = "; ".join(unmeasurable) or "the primary objective has no events yet"
    state = Reason.NOT_MEASURABLE if unmeasurable else Reason.NO_DATA
    budget = conditions.ConditionState(
        Type.ERROR_BUDGET_EXHAUSTED, "Unknown", Reason.NO_DATA, message
    )
    return Outcome(
        state, message, Status(target=facts.primary.target), Status(), [budget], numbers=numbers
    )


def budget_condition(primary: objectives.ObjectiveNumbers) -> conditions.ConditionState:
    """ErrorBudgetExhausted of the primary objective."""
    exhausted = primary.error_budget_remaining_percent <= 0
    return conditions.ConditionState(
        Type.ERROR_BUDGET_EXHAUSTED,
        conditions.condition_status(exhausted),
        Reason.BUDGET_EXHAUSTED if exhausted else Reason.BUDGET_LEFT,
        f"objective {primary.name}: "
        f"{rounding.budget_percent(primary.error_budget_remaining_percent)}% "
        "of the error budget left",
    )


def release_freeze_condition(
    facts: SloFacts, active_steps: Sequence[str]
) -> conditions.ConditionState | None:
    """ReleaseFreeze, for an SLO whose policy has a ReleaseFreeze action; None otherwise."""
    freeze = slo.PolicyActionType.RELEASE_FREEZE
    if not any(action_type is freeze for s in facts.policy for action_type, _ in s.actions):
        return None
    freezing = [
        s.name
        for s in facts.policy
        if s.name in active_steps and any(action_type is freeze for action_type, _ in s.actions)
    ]
    return conditions.ConditionState(
        Type.RELEASE_FREEZE,
        conditions.condition_status(bool(freezing)),
        Reason.POLICY_STEP_REACHED if freezing else Reason.BUDGET_LEFT,
        f"policy step {', '.join(freezing)} freezes releases" if freezing else "",
    )
