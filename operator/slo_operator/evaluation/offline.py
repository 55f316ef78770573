"""`slo-operator evaluate`: one cycle of the same loop, without a cluster.

The manifests go into a registry as if the watch had delivered them; the cycle runs against one
backend at the requested time with policy actions off, and every object's status comes back
shaped exactly like the resource's status (`CycleReport.statuses`).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from .. import errors
from ..api import conditions, sla, slo, times
from ..api import status as status_api
from ..backends import backend_config, client
from . import loop, raw, registry, sla_evaluator, slo_evaluator, slo_queries

Reason = conditions.Reason
_Shape = tuple[str | None, slo.Calendar | None]
"""A rolling window or a calendar (`SloFacts.shape`)."""
READY = conditions.ConditionType.READY


@dataclasses.dataclass(frozen=True)
class Evaluated:
    kind: str
    namespace: str
    name: str
    status: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it deep-copies every status (a third of `evaluate -o json`
        # over 10,000 SLOs); the caller serializes at once.
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status,
        }


class _NoWrites:
    """Offline there is nothing to patch, no Event to post and no Secret to read."""

    async def patch_status(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        return None

    async def emit_event(
        self, ref: registry.ObjectRef, uid: str, reason: Reason, message: str, *, warning: bool
    ) -> None:
        return None

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        raise LookupError("offline evaluation reads no Secrets")


async def evaluate(
    resources: Sequence[slo.ServiceLevelObjective | sla.ServiceLevelAgreement],
    prometheus_url: str | backend_config.BackendConfig,
    at: datetime.datetime,
) -> list[Evaluated]:
    """Each SLO's status at `at`, measured from the recorded series at `prometheus_url` (a URL,
    or a whole backend configuration with its query parameters and credentials).

    Raises BackendUnavailable when the backend did not answer: offline there are no last good
    values to keep.
    """
    objects = _registry(resources)
    backend = (
        prometheus_url
        if isinstance(prometheus_url, backend_config.BackendConfig)
        else backend_config.BackendConfig(name=backend_config.DEFAULT_BACKEND, url=prometheus_url)
    )
    backends = backend_config.Backends([backend])
    cycle = loop.EvaluationLoop(
        objects,
        backends,
        _NoWrites(),
        loop.Settings(run_policy_actions=False),
        require_rules=False,
        evaluators=[sla_evaluator.SlaEvaluator(objects)],
    )
    _adopt_parsed(cycle, objects, resources)
    report = await cycle.run_cycle(at, collect_statuses=True)
    if cycle.slos.locating and not report.failed_backends:
        # Young SLOs: a second cycle at the same instant probes where their series start.
        report = await cycle.run_cycle(at, collect_statuses=True)
    if report.failed_backends:
        raise errors.BackendUnavailable(
            backend_config.DEFAULT_BACKEND,
            cycle.last_errors.get(backend_config.DEFAULT_BACKEND, "no answer"),
        )
    found: list[Evaluated] = []
    # (position in `found`, (the SLO, its uid in the registry, its status so far))
    without_series: list[tuple[int, tuple[slo.ServiceLevelObjective, str, dict[str, Any]]]] = []
    for index, resource in enumerate(resources):
        ref = registry.ObjectRef(type(resource).__name__, resource.namespace, resource.name)
        status = report.statuses.get(ref)
        if status is None:
            continue
        no_data = _ready_reason(status) == conditions.Reason.NO_DATA
        if isinstance(resource, slo.ServiceLevelObjective) and no_data:
            without_series.append((len(found), (resource, f"offline-{index}", status)))
        found.append(Evaluated(ref.kind, ref.namespace, ref.name, status))
    if without_series:
        measured = await _from_raw_series(cycle, [item for _, item in without_series], at)
        for (position, _), status in zip(without_series, measured, strict=True):
            found[position] = dataclasses.replace(found[position], status=status)
    return found


def _registry(
    resources: Sequence[slo.ServiceLevelObjective | sla.ServiceLevelAgreement],
) -> registry.Registry:
    """The manifests as if the watch had delivered them (uid `offline-<index>`)."""
    objects = registry.Registry()
    for index, resource in enumerate(resources):
        body = resource.model_dump(mode="json", by_alias=True, exclude_none=True)
        body["metadata"].setdefault("namespace", resource.namespace)
        body["metadata"].setdefault("uid", f"offline-{index}")
        objects.upsert(type(resource).__name__, body, handed_over=True)
    return objects


def _adopt_parsed(
    cycle: loop.EvaluationLoop,
    objects: registry.Registry,
    resources: Sequence[slo.ServiceLevelObjective | sla.ServiceLevelAgreement],
) -> None:
    """The SLOs were read and checked by the caller with the same models: not validated again."""
    for resource in resources:
        if isinstance(resource, slo.ServiceLevelObjective):
            entry = objects.get(
                registry.ObjectRef(type(resource).__name__, resource.namespace, resource.name)
            )
            assert entry is not None
            cycle.adopt_parsed(entry, cycle.slos.facts(resource))


def _ready_reason(status: Mapping[str, Any]) -> str | None:
    found = conditions.get_condition(status.get("conditions") or [], conditions.ConditionType.READY)
    return None if found is None else str(found.get("reason"))


async def _from_raw_series(
    cycle: loop.EvaluationLoop,
    items: Sequence[tuple[slo.ServiceLevelObjective, str, dict[str, Any]]],
    at: datetime.datetime,
) -> list[dict[str, Any]]:
    """No recorded series: each (SLO, uid, status)'s status measured from the raw series.

    All SLOs' raw queries go out as one batch, each distinct query once: SLOs with the same
    selectors and window (a fleet of services on one metric) share their queries."""
    plans = [raw.plan(resource, at) for resource, _, _ in items]
    backend = cycle.clients[backend_config.DEFAULT_BACKEND]
    answers = await backend.query_all(
        query for raw_plan in plans for query in (raw_plan.total, *raw_plan.good.values())
    )
    # The outcome reads only the window of a plan (start, name, precision), which every SLO of
    # one window shape shares: planned once per shape, not per SLO.
    windows: dict[tuple[_Shape, datetime.datetime], slo_queries.Plan] = {}
    found: list[dict[str, Any]] = []
    for (resource, uid, status), raw_plan in zip(items, plans, strict=True):
        facts = cycle.slos.facts(resource)
        key = (facts.shape, raw_plan.window_start)
        window = windows.get(key)
        if window is None:
            window = windows[key] = dataclasses.replace(
                slo_queries.plan(resource.spec, at), window_start=raw_plan.window_start
            )
        found.append(_raw_status(cycle, facts, uid, status, window, answers, raw_plan, at))
    return found


def _raw_status(
    cycle: loop.EvaluationLoop,
    facts: slo_evaluator.SloFacts,
    uid: str,
    status: dict[str, Any],
    window: slo_queries.Plan,
    answers: Mapping[client.Query, list[client.Sample]],
    raw_plan: raw.RawPlan,
    at: datetime.datetime,
) -> dict[str, Any]:
    stamp = times.format_timestamp(at)
    totals, bads = raw.sums(raw_plan, answers, facts.group_by)
    outcome = cycle.slos.outcome(
        uid, {}, facts, window, totals, bads, {}, young=False, source="RawSeries"
    )
    if outcome.primary is None:
        return status
    measurable = outcome.state != conditions.Reason.NOT_MEASURABLE
    items = conditions.set_condition(
        status.get("conditions") or [],
        conditions.ConditionType.READY,
        measurable,
        conditions.Reason.RAW_SERIES if measurable else outcome.state,
        "no recorded series: measured from the raw series over the whole window"
        + (f"; {outcome.message}" if outcome.message else ""),
        now=stamp,
    )
    items = conditions.set_conditions(items, outcome.conditions, now=stamp)
    return {
        **status,
        **outcome.values.to_wire(),
        **outcome.context.to_wire(),
        "conditions": items,
    }


def table(found: Sequence[Evaluated]) -> str:
    """One line per objective: what `kubectl get` would show, plus every tier."""
    header = ("NAMESPACE", "NAME", "OBJECTIVE", "TARGET", "SLI", "MET", "BUDGET", "REMAINING")
    rows: list[tuple[str, ...]] = [header]
    for item in found:
        conditions: list[dict[str, Any]] = item.status.get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == READY), {})
        if item.kind == sla.ServiceLevelAgreement.__name__:
            period = item.status.get("currentPeriod") or {}
            for c in period.get("commitments") or []:
                rows.append(
                    (
                        item.namespace,
                        item.name,
                        status_api.as_text(c.get("name")),
                        status_api.as_text(c.get("target")),
                        status_api.as_text(c.get("attainment")),
                        status_api.as_text(c.get("met")),
                        f"credit {status_api.as_text(period.get('creditPercent'))}%",
                        f"projected {status_api.as_text(c.get('projected'))}",
                    )
                )
            continue
        objectives = item.status.get("objectives") or []
        if not objectives:
            reason = ready.get("reason", "")
            rows.append((item.namespace, item.name, "-", "-", "-", "-", "-", reason))
            continue
        for objective in objectives:
            rows.append(
                (
                    item.namespace,
                    item.name,
                    status_api.as_text(objective.get("name")),
                    status_api.as_text(objective.get("target")),
                    status_api.as_text(objective.get("sli")),
                    status_api.as_text(objective.get("met")),
                    status_api.as_text(objective.get("errorBudgetRemainingPercent")) + "%",
                    status_api.as_text(objective.get("errorBudgetRemaining")),
                )
            )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
