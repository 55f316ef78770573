"""The SLA kind: attainment over calendar periods from the SLOs' recorded series, and history.

Every commitment rests on one objective of one SLO; its bad and total events over an interval
`[a, b)` of whole minutes are the sum of the SLO's level-1 points (`slo:sli_bad:increase1m`,
`slo:sli_total:increase1m`, or `count1m` for 0/1 gauges: exact counts per minute,
docs/rules.md) read with `sum_over_time(SERIES[L - 1ms] @ b)`, `L = b - a`, which holds exactly
`L / 1m` points whatever the rule group's phase, and adjacent intervals share none.

Queries are per interval, not per SLA: one query returns bad and total (told apart by a
`slo_sum` label) of every SLO that any SLA refers to, so SLAs with the same period, time zone
and maintenance windows share every query. The current period's pieces (the period so far
minus maintenance, `budget.sla_attainment.plan_measurement`) are cut at UTC midnights; every
interval that ended at least `CACHE_AFTER` ago never changes and is answered from memory, so a
steady cycle sends about one query per distinct (period, zone, exclusions) — the day so far —
plus one per period still to be closed the first time it is measured. docs/sla.md explains the
numbers.

Periods that ended are closed into `status.history` exactly once (`budget.sla_history`), from
the data up to their end, `CLOSE_DELAY` after it so its last minute is recorded.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from ..api import common, conditions, kind_names, slo, times
from ..api import sla as sla_api
from ..api import status as status_api
from ..backends import client
from ..budget import intervals, rounding, sla_attainment, sla_conditions, sla_history
from ..rules import series
from . import kinds, registry, results, sla_metrics

KIND = kind_names.SLA_KIND
SLO_KIND = kind_names.SLO_KIND
Reason = conditions.Reason
Type = conditions.ConditionType

CLOSE_DELAY = datetime.timedelta(minutes=2)
"""A period is closed this long after its end: its last level-1 point has been recorded."""
CACHE_AFTER = datetime.timedelta(minutes=10)
"""Counts of an interval that ended this long ago are kept and not asked for again."""

_SUM_LABEL = "slo_sum"
_BAD_NAMES = "|".join(re.escape(name) for name in series.LEVEL1_BAD_NAMES)
_TOTAL_NAMES = "|".join(re.escape(name) for name in series.LEVEL1_TOTAL_NAMES)


def _parse_time(text: Any) -> datetime.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return times.parse_timestamp(text)


@dataclasses.dataclass(frozen=True)
class SlaFacts:
    """What a cycle reads of one SLA."""

    namespace: str
    name: str
    backend: str | None
    spec: sla_api.ServiceLevelAgreementSpec
    created: datetime.datetime | None
    """`metadata.creationTimestamp`: periods that ended before it are not looked for."""


@dataclasses.dataclass(frozen=True)
class Read:
    """One interval of whole minutes and the query that measures it for every SLA's SLOs."""

    interval: intervals.Interval
    query: client.Query


@dataclasses.dataclass(frozen=True)
class SlaPlan:
    """One SLA's measurements in one cycle: the current period and the periods to close."""

    at: datetime.datetime
    backings: tuple[sla_conditions.Backing, ...]
    current: sla_attainment.MeasurementPlan
    closing: tuple[sla_attainment.MeasurementPlan, ...]
    reads: Mapping[intervals.Interval, Read]
    queries: tuple[client.Query, ...]
    """The reads not answered from memory."""


@dataclasses.dataclass(frozen=True)
class SlaOutcome:
    """What one evaluation of one SLA found (`kinds.Outcome`)."""

    state: conditions.Reason
    message: str
    values: status_api.ServiceLevelAgreementStatus
    """`currentPeriod`, and `history` when a period closed."""
    conditions: list[conditions.ConditionState]
    events: list[tuple[Reason, str]]
    """(reason, message) of the Warning Events to post: a breach, a closed period owing credit."""
    context: status_api.ServiceLevelAgreementStatus = dataclasses.field(
        default_factory=status_api.ServiceLevelAgreementStatus
    )
    """Nothing: an SLA status has no `lastEvaluationTime` (its schema would prune it)."""


def _split_at_days(piece: intervals.Interval) -> list[intervals.Interval]:
    """`piece` cut at UTC midnights, so all but the newest part end in the past and are kept."""
    parts = []
    start = piece.start
    while True:
        midnight = datetime.datetime.combine(
            start.date() + datetime.timedelta(days=1), datetime.time(), datetime.UTC
        )
        if midnight >= piece.end:
            parts.append(intervals.Interval(start, piece.end))
            return parts
        parts.append(intervals.Interval(start, midnight))
        start = midnight


def _level1_sum(names: str, slo_regex: str, interval: intervals.Interval, keep: str) -> str:
    length_ms = round(interval.seconds * 1000) - 1
    end = round(interval.end.timestamp())
    matchers = (
        f"__name__=~{common.quote_promql_string(names)},"
        f"{series.LABEL_SLO}=~{common.quote_promql_string(slo_regex)}"
    )
    return f"sum by ({keep}) (sum_over_time({{{matchers}}}[{length_ms}ms] @ {end}))"


def interval_query(
    interval: intervals.Interval, slo_names: Sequence[str], keep: Sequence[str]
) -> str:
    """Bad and total events in `interval` of every SLO named, tagged `slo_sum="bad"|"total"`."""
    slo_regex = "|".join(re.escape(name) for name in sorted(set(slo_names)))
    by = ", ".join(keep)
    parts = [
        f'label_replace({_level1_sum(names, slo_regex, interval, by)}, "{_SUM_LABEL}", '
        f'"{tag}", "", "")'
        for names, tag in ((_BAD_NAMES, "bad"), (_TOTAL_NAMES, "total"))
    ]
    # Minutes with data: level-1 totals exist for every minute whose raw series answered (with
    # zero events too). The most covered of an SLO's groups stands for the SLO.
    length_ms = round(interval.seconds * 1000) - 1
    end = round(interval.end.timestamp())
    matchers = (
        f"__name__=~{common.quote_promql_string(_TOTAL_NAMES)},"
        f"{series.LABEL_SLO}=~{common.quote_promql_string(slo_regex)}"
    )
    minutes = f"max by ({by}) (count_over_time({{{matchers}}}[{length_ms}ms] @ {end}))"
    parts.append(f'label_replace({minutes}, "{_SUM_LABEL}", "minutes", "", "")')
    return " or ".join(parts)


@dataclasses.dataclass
class _Tally:
    counts: sla_attainment.Counts = dataclasses.field(default_factory=sla_attainment.Counts)
    total_series: bool = False
    """Some total series of the SLO matched the group."""
    any_series: bool = False
    """The SLO had any series at all."""
    bad_series: bool = False
    minutes: float = 0.0
    """Minutes with data (level-1 total points) of the SLO's best covered matching series."""


def _tally(
    tally: _Tally,
    samples: Sequence[client.Sample],
    threshold: str,
    group: Mapping[str, str],
) -> None:
    bad = total = minutes = 0.0
    for sample in samples:
        labels = sample.labels
        if labels.get(_SUM_LABEL) == "minutes":
            if all(labels.get(k, "") == v for k, v in group.items()):
                minutes = max(minutes, sample.value)
            continue
        tally.any_series = True
        if any(labels.get(k, "") != v for k, v in group.items()):
            continue
        if labels.get(_SUM_LABEL) == "total":
            tally.total_series = True
            total += sample.value
        elif labels.get(series.LABEL_THRESHOLD, "") == threshold:
            tally.bad_series = True
            bad += sample.value
    tally.counts = tally.counts + sla_attainment.Counts(bad, total)
    tally.minutes += minutes


def _threshold(objective: slo.Objective) -> str:
    seconds = objective.threshold_seconds
    return "" if seconds is None else series.threshold_label(seconds)


def _rounded(period: status_api.PeriodStatus) -> status_api.PeriodStatus:
    """The status form: percentages rounded down for display (`met` and credit are not)."""

    def down(value: float | None) -> float | None:
        return None if value is None else rounding.sli(value)

    return period.model_copy(
        update={
            "attainment": down(period.attainment),
            "coverage": down(period.coverage),
            "commitments": [
                c.model_copy(
                    update={
                        "attainment": down(c.attainment),
                        "projected": down(c.projected),
                        "coverage": down(c.coverage),
                    }
                )
                for c in period.commitments
            ],
        }
    )


class SlaEvaluator:
    """Evaluates SLAs (`kinds.KindEvaluator`); reads SLOs and each SLA's status from `objects`."""

    kind = KIND
    requires_rules = False

    def __init__(self, objects: registry.Registry) -> None:
        self.objects = objects
        self._at = datetime.datetime.now(datetime.UTC)
        self._slo_specs: dict[tuple[str, str], slo.ServiceLevelObjectiveSpec] = {}
        self._parsed_slos: dict[tuple[str, int | None], slo.ServiceLevelObjectiveSpec | None] = {}
        self._slo_names: list[str] = []
        self._keep: list[str] = []
        self._cache: dict[tuple[str, str, str], list[client.Sample]] = {}
        """(promql, namespace, SLO) -> samples of intervals that ended `CACHE_AFTER` ago."""
        self._used: set[tuple[str, str, str]] = set()

    # -- kinds.KindEvaluator ------------------------------------------------------------------

    def parse(self, body: Mapping[str, Any]) -> SlaFacts | None:
        try:
            model = sla_api.ServiceLevelAgreement.model_validate(
                {k: v for k, v in body.items() if k != "status"}
            )
        except (pydantic.ValidationError, ValueError):
            return None
        return SlaFacts(
            model.namespace,
            model.name,
            model.spec.backend,
            model.spec,
            _parse_time(body.get("metadata", {}).get("creationTimestamp")),
        )

    def begin(self, at: datetime.datetime, facts: Sequence[SlaFacts]) -> None:
        self._at = at
        # What the last cycle did not read is no longer asked for (a period moved on).
        self._cache = {key: found for key, found in self._cache.items() if key in self._used}
        self._used = set()
        # Only the SLOs some SLA commits to are parsed: a fleet of 10,000 SLOs without SLAs
        # costs nothing here (`evaluate` over them spent a third of its time on it).
        backing = {
            (item.namespace, commitment.slo_ref.name)
            for item in facts
            for commitment in item.spec.commitments
        }
        specs: dict[tuple[str, str], slo.ServiceLevelObjectiveSpec] = {}
        for namespace, name in sorted(backing):
            entry = self.objects.get(registry.ObjectRef(SLO_KIND, namespace, name))
            if entry is None:
                continue
            key = (entry.uid, entry.generation)
            if key not in self._parsed_slos:
                body = {k: v for k, v in entry.body.items() if k != "status"}
                try:
                    self._parsed_slos[key] = slo.ServiceLevelObjective.model_validate(body).spec
                except (pydantic.ValidationError, ValueError):
                    self._parsed_slos[key] = None
            found = self._parsed_slos[key]
            if found is not None:
                specs[(entry.ref.namespace, entry.ref.name)] = found
        self._slo_specs = specs
        names: set[str] = set()
        group_labels: set[str] = set()
        for item in facts:
            for commitment in item.spec.commitments:
                names.add(commitment.slo_ref.name)
                group_labels.update(commitment.group_labels)
        self._slo_names = sorted(names)
        self._keep = [
            series.LABEL_NAMESPACE,
            series.LABEL_SLO,
            series.LABEL_THRESHOLD,
            *sorted(group_labels),
        ]

    def follow_up(
        self, work: Sequence[tuple[SlaFacts, SlaPlan]], answers: results.Results
    ) -> list[client.Query]:
        """None: every interval is planned up front."""
        return []

    def plan(self, facts: SlaFacts) -> SlaPlan:
        at = self._at
        spec = facts.spec
        entry = self.objects.get(registry.ObjectRef(KIND, facts.namespace, facts.name))
        current_status = entry.status if entry is not None else {}
        backings = tuple(
            sla_conditions.resolve(c, self._slo_specs.get((facts.namespace, c.slo_ref.name)))
            for c in spec.commitments
        )
        current = sla_attainment.plan_measurement(spec, sla_attainment.current_period(spec, at), at)
        starts = [
            moment
            for moment in (
                facts.created,
                _parse_time((current_status.get("currentPeriod") or {}).get("start")),
            )
            if moment is not None
        ]
        since = min(starts) if starts else None
        closing = tuple(
            sla_attainment.plan_measurement(spec, period, period.end)
            for period in sla_history.periods_to_close(
                spec, _history(current_status), since, at - CLOSE_DELAY
            )
        )
        wanted = [part for piece in current.pieces for part in _split_at_days(piece)]
        wanted += [piece for closed in closing for piece in closed.pieces]
        reads = {
            interval: Read(
                interval,
                client.Query(interval_query(interval, self._slo_names, self._keep), at),
            )
            for interval in wanted
        }
        needed = {(facts.namespace, c.slo_ref.name) for c in spec.commitments}
        queries = tuple(
            read.query
            for read in reads.values()
            if any((read.query.promql, ns, name) not in self._cache for ns, name in needed)
        )
        return SlaPlan(at, backings, current, closing, reads, queries)

    def evaluate(
        self,
        entry: registry.Entry,
        facts: SlaFacts,
        planned: SlaPlan,
        answers: results.Results,
    ) -> SlaOutcome:
        spec = facts.spec
        samples = self._samples(facts, planned, answers)
        current, problems, groups_found = self._current_period(facts, planned, samples)
        slo_specs = {
            name: found
            for (namespace, name), found in self._slo_specs.items()
            if namespace == facts.namespace
        }
        decided = sla_conditions.sla_conditions(spec, slo_specs, current, groups_found)
        stalled = next(c for c in decided if c.type == Type.STALLED)
        domain = [c for c in decided if c.type != Type.STALLED]
        measurable = stalled.status != "True" and not problems
        closed = self._closed_periods(facts, planned, samples) if measurable else []
        history = _history(entry.status)
        merged = sla_history.close_periods(history, closed, spec.history_limit)
        covered = sla_conditions.low_coverage(
            current, merged[0] if merged else None, spec.minimum_coverage
        )
        domain.append(covered)
        values = status_api.ServiceLevelAgreementStatus(current_period=_rounded(current))
        if new_history := _history_values(history, merged):
            values.history = new_history
        state, message = _state(stalled, problems, current)
        sla_metrics.SLA_NUMBERS.set(
            facts.namespace,
            facts.name,
            [(c.name, c.attainment, c.projected) for c in current.commitments],
            current.credit_percent,
        )
        events = _events(spec, decided, entry.status, closed, merged)
        return SlaOutcome(state, message, values, domain, events)

    def _current_period(
        self,
        facts: SlaFacts,
        planned: SlaPlan,
        samples: Mapping[tuple[intervals.Interval, str], list[client.Sample]],
    ) -> tuple[status_api.PeriodStatus, list[str], dict[str, bool]]:
        """The current period's status, what keeps it from being measured, and whether each
        grouped commitment found its group's series."""
        problems: list[str] = []
        groups_found: dict[str, bool] = {}
        current_commitments: list[status_api.CommitmentStatus] = []
        for backing in planned.backings:
            commitment = backing.commitment
            if backing.objective is None:
                current_commitments.append(
                    status_api.CommitmentStatus(name=commitment.name, target=commitment.target)
                )
                continue
            slo_spec = self._slo_specs[(facts.namespace, commitment.slo_ref.name)]
            if series.uses_slices(slo_spec):
                problems.append(
                    f"commitment {commitment.name!r}: SLO {commitment.slo_ref.name!r} counts "
                    f"{slo_spec.budgeting_method.value}; SLA attainment is measured from "
                    "Occurrences SLOs only so far"
                )
            measurement, tally = self._measure(
                facts, backing, planned.current, planned, samples, split=True
            )
            if tally.any_series and commitment.group_labels:
                groups_found[commitment.name] = tally.total_series
            if tally.counts.total > 0 and not tally.bad_series:
                problems.append(
                    f"commitment {commitment.name!r}: SLO {commitment.slo_ref.name!r} has no "
                    f"bad-event series for objective {backing.objective.name!r}"
                )
            current_commitments.append(sla_attainment.commitment_status(commitment, measurement))
        current = sla_attainment.period_status(
            planned.current.period,
            current_commitments,
            facts.spec.credits,
            facts.spec.minimum_coverage,
        )
        return current, problems, groups_found

    def _closed_periods(
        self,
        facts: SlaFacts,
        planned: SlaPlan,
        samples: Mapping[tuple[intervals.Interval, str], list[client.Sample]],
    ) -> list[status_api.PeriodStatus]:
        """The periods to close this cycle, measured from the data up to their end."""
        closed: list[status_api.PeriodStatus] = []
        for closing in planned.closing:
            commitments = [
                sla_attainment.commitment_status(
                    b.commitment,
                    self._measure(facts, b, closing, planned, samples, split=False)[0],
                )
                for b in planned.backings
            ]
            period = sla_attainment.period_status(
                closing.period, commitments, facts.spec.credits, facts.spec.minimum_coverage
            )
            if period.attainment is not None:  # nothing measured: nothing to tell
                closed.append(period)
        return closed

    async def act(
        self,
        entry: registry.Entry,
        facts: SlaFacts,
        outcome: SlaOutcome,
        writer: kinds.StatusWriter,
        webhook_hosts: Sequence[str],
        at: datetime.datetime,
    ) -> None:
        for reason, message in outcome.events:
            await writer.emit_event(entry.ref, entry.uid, reason, message, warning=True)

    def forget(self, ref: registry.ObjectRef, uid: str) -> None:
        sla_metrics.SLA_NUMBERS.forget(ref.namespace, ref.name)

    # -- measuring ----------------------------------------------------------------------------

    def _samples(
        self, facts: SlaFacts, planned: SlaPlan, answers: results.Results
    ) -> dict[tuple[intervals.Interval, str], list[client.Sample]]:
        """(interval, SLO name) -> the samples of that SLO; remembers what no longer changes."""
        found: dict[tuple[intervals.Interval, str], list[client.Sample]] = {}
        cache_before = planned.at - CACHE_AFTER
        for interval, read in planned.reads.items():
            for commitment in facts.spec.commitments:
                name = commitment.slo_ref.name
                key = (read.query.promql, facts.namespace, name)
                if key in self._cache:
                    samples = self._cache[key]
                elif answers.has(read.query):
                    samples = answers.samples(read.query, facts.namespace, name)
                    if interval.end <= cache_before:
                        self._cache[key] = samples
                else:
                    raise KeyError(f"no answer for {read.query.promql}")
                found[(interval, name)] = samples
                self._used.add(key)
        return found

    def _measure(
        self,
        facts: SlaFacts,
        backing: sla_conditions.Backing,
        the_plan: sla_attainment.MeasurementPlan,
        planned: SlaPlan,
        samples: Mapping[tuple[intervals.Interval, str], list[client.Sample]],
        *,
        split: bool,
    ) -> tuple[sla_attainment.Measurement, _Tally]:
        commitment = backing.commitment
        threshold = "" if backing.objective is None else _threshold(backing.objective)
        whole = _Tally()
        piece_counts = []
        for piece in the_plan.pieces:
            tally = _Tally()
            for part in _split_at_days(piece) if split else [piece]:
                _tally(
                    tally,
                    samples.get((part, commitment.slo_ref.name), []),
                    threshold,
                    commitment.group_labels,
                )
            piece_counts.append(tally.counts)
            whole.total_series |= tally.total_series
            whole.any_series |= tally.any_series
            whole.bad_series |= tally.bad_series
            whole.counts = whole.counts + tally.counts
            whole.minutes += tally.minutes
        measurement = dataclasses.replace(
            sla_attainment.measure(the_plan, piece_counts),
            coverage=sla_attainment.coverage_percent(the_plan, whole.minutes),
        )
        return measurement, whole


def _history_values(
    history: Sequence[status_api.PeriodStatus], merged: Sequence[status_api.PeriodStatus]
) -> list[status_api.PeriodStatus]:
    """`status.history` after closing: periods already written keep their written numbers (a
    rounded number is not rounded again), the periods closed now are rounded."""
    written = {id(item) for item in history}
    return [item if id(item) in written else _rounded(item) for item in merged]


def _state(
    stalled: conditions.ConditionState,
    problems: Sequence[str],
    current: status_api.PeriodStatus,
) -> tuple[conditions.Reason, str]:
    """Ready's reason and message: not measurable, no data yet, or evaluated."""
    if stalled.status == "True" or problems:
        message = "; ".join([stalled.message] * (stalled.status == "True") + list(problems))
        return conditions.Reason.NOT_MEASURABLE, message
    if current.attainment is None:
        return (
            conditions.Reason.NO_DATA,
            "the SLOs' recorded series hold no events this period yet",
        )
    return conditions.Reason.EVALUATED, ""


def _events(
    spec: sla_api.ServiceLevelAgreementSpec,
    decided: Sequence[conditions.ConditionState],
    current_status: Mapping[str, Any],
    closed: Sequence[status_api.PeriodStatus],
    merged: Sequence[status_api.PeriodStatus],
) -> list[tuple[conditions.Reason, str]]:
    """(reason, message) of the Warning Events: a new breach, a period closed on too little data
    or owing credit."""
    events: list[tuple[conditions.Reason, str]] = []
    compliant = next(c for c in decided if c.type == Type.COMPLIANT)
    before = conditions.get_condition(current_status.get("conditions") or [], compliant.type)
    if compliant.status == "False" and (before or {}).get("status") != "False":
        events.append((Reason.SLA_BREACHED, f"customer {spec.customer}: {compliant.message}"))
    for period in closed:
        if not any(item is period for item in merged):
            continue
        start, end = times.format_timestamp(period.start), times.format_timestamp(period.end)
        if period.low_coverage:
            events.append(
                (
                    Reason.LOW_COVERAGE,
                    f"customer {spec.customer}: period {start} to {end} closed from data covering "
                    f"{period.coverage:.4g}% of its measured time (minimum "
                    f"{spec.minimum_coverage:g}%): its attainment, met and credit rest on "
                    "part of the period",
                )
            )
        if period.credit_percent:
            events.append(
                (
                    Reason.SERVICE_CREDIT_OWED,
                    f"customer {spec.customer}: period {start} to {end} closed at "
                    f"{period.attainment:.4g}% for the worst commitment: "
                    f"{period.credit_percent:g}% credit owed",
                )
            )
    return events


def _history(current_status: Mapping[str, Any]) -> list[status_api.PeriodStatus]:
    return [
        status_api.PeriodStatus.model_validate(item) for item in current_status.get("history") or []
    ]
