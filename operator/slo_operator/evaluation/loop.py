"""One evaluation loop for every object: batched queries, budget arithmetic, status patches.

Each cycle takes a snapshot of the registry, plans the queries of every SLO, sends each distinct
query once per backend (so the count grows with distinct windows, not with SLOs), computes every
SLO's status and patches only the objects whose rounded values or conditions changed. Each kind
has its evaluator (`kinds.KindEvaluator`): SLOs by default, SLAs by passing theirs in
`evaluators`.

Failure handling: a backend that fails any query of a cycle fails the cycle for all of its
objects. They keep their last good values (and the `lastEvaluationTime` they were measured at),
turn `Ready=False` at once and `Stalled=True` after `stalled_after`; the next good cycle clears
both. Nothing that was not measured is ever written.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .. import errors
from ..api import conditions, times
from ..backends import backend_config, client
from . import garbage, kinds, metrics, registry, results, slo_evaluator

logger = logging.getLogger(__name__)

RECONCILE_REASONS = conditions.RECONCILE_REASONS
"""Re-exported: the Ready/Stalled reasons the reconcile handler owns."""


StatusWriter = kinds.StatusWriter
"""Re-exported: `kube` implements it, `evaluate` and the tests stand in for it."""


@dataclasses.dataclass(frozen=True)
class Settings:
    interval_seconds: float = 60.0
    """Seconds between the starts of two cycles."""
    stalled_after_seconds: float = 300.0
    """How long a backend may fail before its objects are Stalled."""
    webhook_hosts: tuple[str, ...] = ()
    """Hosts policy webhooks may call (shell patterns); empty: none."""
    query_concurrency: int = 4
    """Queries in flight per backend."""
    patch_concurrency: int = 16
    """Status patches in flight."""
    run_policy_actions: bool = True
    """Carry out Event and Webhook actions (off for `slo-operator evaluate`)."""
    now: datetime.datetime | None = None
    """Test-only frozen clock: every cycle of `run_forever` evaluates at this instant instead of
    the wall clock, so the operator can be run over backfilled data in the past (env
    `SLO_OPERATOR_TEST_NOW`, docs/evaluation.md). None, the default, is the wall clock."""


@dataclasses.dataclass
class CycleReport:
    """What one cycle did, for logs, benchmarks and tests."""

    objects: int = 0
    evaluated: int = 0
    queries: int = 0
    patches: int = 0
    failed_backends: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    statuses: dict[registry.ObjectRef, dict[str, Any]] = dataclasses.field(default_factory=dict)
    """The full status each object would have after the cycle; only with `collect_statuses`
    (`evaluate` needs it, the operator does not keep 10,000 copies)."""


BackendFactory = Callable[[backend_config.BackendConfig], client.PrometheusBackend]

_Work = tuple[kinds.KindEvaluator[Any, Any, Any], registry.Entry, Any, Any]
"""One object's evaluator, registry entry, parsed facts and plan for this cycle."""


READY = conditions.ConditionType.READY
STALLED = conditions.ConditionType.STALLED


class ActiveGate(Protocol):
    """Whether this process may write: one replica of several evaluates (`kube.peering`)."""

    @property
    def active(self) -> bool:
        """Whether this replica is the active one now."""

    async def wait_until_active(self) -> None:
        """Return at once while this replica is the active one; else when it becomes it."""


def _ready_reason(items: Sequence[dict[str, Any]]) -> str:
    found = conditions.get_condition(items, READY)
    return "" if found is None else str(found.get("reason"))


class EvaluationLoop:
    """Evaluates every registered object every `interval_seconds`."""

    def __init__(
        self,
        objects: registry.Registry,
        backends: backend_config.Backends,
        writer: StatusWriter,
        settings: Settings,
        *,
        backend_factory: BackendFactory = client.PrometheusBackend,
        require_rules: bool = True,
        evaluators: Sequence[kinds.KindEvaluator[Any, Any, Any]] | None = None,
        gate: ActiveGate | None = None,
    ) -> None:
        self.registry = objects
        self.gate = gate
        """Each cycle of `run_forever` waits for it: a standby replica evaluates nothing, so
        it writes no status, sends no policy webhook and closes no SLA period."""
        self.backends = backends
        self.writer = writer
        self.settings = settings
        self.require_rules = require_rules
        """Evaluate only objects whose rules the reconcile handler applied (the operator);
        `evaluate` on the command line has no such status and turns this off."""
        self.clients = {name: backend_factory(cfg) for name, cfg in backends.by_name.items()}
        self._notes = {
            name: (
                f"backend {name!r} does not verify TLS certificates (insecureSkipVerify)"
                if cfg.insecure_skip_verify
                else ""
            )
            for name, cfg in backends.by_name.items()
        }
        """What every Ready condition of a backend's objects must say about it."""
        self.slos = slo_evaluator.SloEvaluator()
        """The SLO evaluator (always present)."""
        self.evaluators: list[kinds.KindEvaluator[Any, Any, Any]] = [self.slos]
        for evaluator in evaluators or ():
            if evaluator.kind != slo_evaluator.KIND:
                self.evaluators.append(evaluator)
        self._failing_since: dict[str, datetime.datetime] = {}
        self.last_errors: dict[str, str] = {}
        """The cause of each backend's last failure."""
        self._parsed: dict[tuple[str, int | None, str], Any] = {}
        self._collect_statuses = False
        self._pending_actions: list[tuple[Any, registry.Entry, Any, Any, datetime.datetime]] = []
        """Actions (policy Events and webhooks, SLA Events) of this cycle, carried out after
        the status write that records them."""
        self._known: dict[registry.ObjectRef, str] = {}
        """uid of every object evaluated, to forget its memory and metrics when it goes."""

    # -- the loop ---------------------------------------------------------------------------

    async def run_forever(self) -> None:
        """Cycle until cancelled; a failing cycle is logged and the next one runs on time."""
        collector = garbage.CycleCollector()
        while True:
            if self.gate is not None:
                await self.gate.wait_until_active()
            started = time.monotonic()
            try:
                with collector.cycle():
                    report = await self.run_cycle(self.settings.now)
                logger.debug(
                    "evaluation cycle: %d objects, %d queries, %d patches in %.2fs",
                    report.objects,
                    report.queries,
                    report.patches,
                    report.seconds,
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.ERRORS.labels("", "CycleFailed").inc()
                logger.exception("evaluation cycle failed")
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self.settings.interval_seconds - elapsed))

    async def run_cycle(
        self, now: datetime.datetime | None = None, *, collect_statuses: bool = False
    ) -> CycleReport:
        """One cycle over the registry's current snapshot."""
        started = time.monotonic()
        now = now or datetime.datetime.now(datetime.UTC)
        report = CycleReport()
        self._collect_statuses = collect_statuses
        plans, by_backend, not_allowed = self._plan_cycle(now, report)
        names = list(by_backend)
        found = await asyncio.gather(
            *(self._ask(name, by_backend[name], plans, now, report) for name in names)
        )
        answers = dict(zip(names, found, strict=True))

        patches: list[tuple[registry.ObjectRef, dict[str, Any]]] = []
        reasons: dict[tuple[str, str], int] = defaultdict(int)
        for backend_name, refs in by_backend.items():
            answer = answers[backend_name]
            for ref in refs:
                evaluator, entry, facts, planned = plans[ref]
                if isinstance(answer, errors.BackendUnavailable):
                    desired = self._failed(entry, answer, now)
                else:
                    report.evaluated += 1
                    desired = await self._evaluated(
                        evaluator, entry, facts, planned, answer, now, self._notes[backend_name]
                    )
                reasons[(ref.kind, _ready_reason(desired["conditions"]))] += 1
                self._collect(report, entry, desired, patches)
        for entry, refusal in not_allowed.values():
            desired = self._not_allowed(entry, refusal)
            reasons[(entry.ref.kind, conditions.Reason.BACKEND_NOT_ALLOWED)] += 1
            self._collect(report, entry, desired, patches)

        if self._stepped_down(f"{len(patches)} status writes and the actions"):
            self._drop_actions()
        else:
            failed = await self._write(patches)
            report.patches = len(patches)
            if self._stepped_down("the actions"):
                self._drop_actions()
            else:
                await self._act(failed)
        report.seconds = time.monotonic() - started
        metrics.CYCLES.inc()
        metrics.CYCLE_DURATION.observe(report.seconds)
        for (kind, reason), count in reasons.items():
            metrics.OBJECTS.labels(kind, reason).set(count)
        return report

    def _plan_cycle(
        self, now: datetime.datetime, report: CycleReport
    ) -> tuple[
        dict[registry.ObjectRef, _Work],
        dict[str, list[registry.ObjectRef]],
        dict[registry.ObjectRef, tuple[registry.Entry, errors.BackendNotAllowed]],
    ]:
        """Every evaluable object's plan, grouped by the backend it is measured on; the objects
        whose backend their namespace may not use."""
        plans: dict[registry.ObjectRef, _Work] = {}
        by_backend: dict[str, list[registry.ObjectRef]] = defaultdict(list)
        not_allowed: dict[registry.ObjectRef, tuple[registry.Entry, errors.BackendNotAllowed]] = {}
        present: set[registry.ObjectRef] = set()
        for evaluator in self.evaluators:
            entries = self.registry.entries(evaluator.kind)
            report.objects += len(entries)
            present.update(entry.ref for entry in entries)
            parsed = [(entry, self._parse(evaluator, entry)) for entry in entries]
            evaluator.begin(now, [facts for _, facts in parsed if facts is not None])
            for entry, facts in parsed:
                if facts is None or not self._evaluable(evaluator, entry):
                    continue
                try:
                    backend = self.backends.resolve(facts.backend, facts.namespace)
                except errors.BackendNotAllowed as error:
                    not_allowed[entry.ref] = (entry, error)
                    continue
                plans[entry.ref] = (evaluator, entry, facts, evaluator.plan(facts))
                by_backend[backend.name].append(entry.ref)
        self._forget_missing(present)
        return plans, by_backend, not_allowed

    async def _ask(
        self,
        backend_name: str,
        refs: list[registry.ObjectRef],
        plans: dict[registry.ObjectRef, _Work],
        now: datetime.datetime,
        report: CycleReport,
    ) -> results.Results | errors.BackendUnavailable:
        """One backend's answers to the distinct queries of its objects, or why it failed."""
        backend = self.clients[backend_name]
        distinct_plans = {id(plans[ref][3]): plans[ref][3] for ref in refs}
        queries = [query for p in distinct_plans.values() for query in p.queries]
        distinct = list(dict.fromkeys(queries))
        report.queries += len(distinct)
        metrics.QUERIES.labels(backend_name).inc(len(distinct))
        try:
            found = await backend.query_all(distinct, self.settings.query_concurrency)
            # A second round only when the first answers call for it (`follow_up`).
            more = self._follow_up(refs, plans, results.Results(found))
            if more:
                report.queries += len(more)
                metrics.QUERIES.labels(backend_name).inc(len(more))
                found = {**found, **await backend.query_all(more, self.settings.query_concurrency)}
        except errors.BackendUnavailable as error:
            self.last_errors[backend_name] = error.cause
            report.failed_backends.append(backend_name)
            metrics.ERRORS.labels(backend_name, conditions.Reason.BACKEND_UNAVAILABLE).inc()
            self._failing_since.setdefault(backend_name, now)
            logger.warning("evaluation: %s", error)
            return error
        self._failing_since.pop(backend_name, None)
        metrics.LAST_SUCCESS.labels(backend_name).set(now.timestamp())
        return results.Results(found)

    @staticmethod
    def _follow_up(
        refs: list[registry.ObjectRef],
        plans: dict[registry.ObjectRef, _Work],
        first: results.Results,
    ) -> list[client.Query]:
        """Each kind's second-round queries for its objects on one backend, each once."""
        work: dict[int, tuple[Any, list[tuple[Any, Any]]]] = {}
        for ref in refs:
            evaluator, _, facts, planned = plans[ref]
            work.setdefault(id(evaluator), (evaluator, []))[1].append((facts, planned))
        more: list[client.Query] = []
        for evaluator, items in work.values():
            more.extend(evaluator.follow_up(items, first))
        return list(dict.fromkeys(more))

    # -- per object -------------------------------------------------------------------------

    def adopt_parsed(self, entry: registry.Entry, facts: Any) -> None:
        """Use `facts` for this generation of the object instead of parsing its body: for
        objects the caller has already read and checked with the same models (`evaluate`)."""
        self._parsed[(entry.uid, entry.generation, str(entry.ref))] = facts

    def _parse(self, evaluator: kinds.KindEvaluator[Any, Any, Any], entry: registry.Entry) -> Any:
        """The object's facts, parsed once per generation; None while its spec is invalid."""
        key = (entry.uid, entry.generation, str(entry.ref))
        if key not in self._parsed:
            body = {k: v for k, v in entry.body.items() if k != "status"}
            self._parsed[key] = evaluator.parse(body)
        return self._parsed[key]

    def _evaluable(
        self, evaluator: kinds.KindEvaluator[Any, Any, Any], entry: registry.Entry
    ) -> bool:
        """Reconciled for this generation (rules applied, for kinds with rules), and no
        reconcile failure pending."""
        if not self.require_rules:
            return True
        status = entry.status
        if status.get("observedGeneration") != entry.generation:
            return False
        if evaluator.requires_rules and not status.get("rules"):
            return False
        return not conditions.reconcile_failure_pending(status.get("conditions") or [])

    def _forget_missing(self, present: set[registry.ObjectRef]) -> None:
        for ref in list(self._known):
            if ref not in present:
                uid = self._known.pop(ref)
                for evaluator in self.evaluators:
                    if evaluator.kind == ref.kind:
                        evaluator.forget(ref, uid)
        if len(self._parsed) > 2 * max(len(present), 1000):
            self._parsed.clear()

    async def _evaluated(
        self,
        evaluator: kinds.KindEvaluator[Any, Any, Any],
        entry: registry.Entry,
        facts: Any,
        planned: Any,
        answer: results.Results,
        now: datetime.datetime,
        note: str = "",
    ) -> dict[str, Any]:
        outcome = evaluator.evaluate(entry, facts, planned, answer)
        message = "; ".join(part for part in (outcome.message, note) if part)
        self._known[entry.ref] = entry.uid
        generation = entry.generation
        stamp = times.format_timestamp(now)
        measurable = outcome.state != conditions.Reason.NOT_MEASURABLE
        items = conditions.set_ready_and_stalled(
            entry.status.get("conditions") or [],
            ready=measurable,
            stalled=not measurable,
            reason=outcome.state,
            message=message if measurable else outcome.message,
            generation=generation,
            now=stamp,
            stalled_reason=conditions.Reason.EVALUATED if measurable else None,
        )
        items = conditions.set_conditions(items, outcome.conditions, generation, stamp)
        if self.settings.run_policy_actions:
            self._pending_actions.append((evaluator, entry, facts, outcome, now))
        desired: dict[str, Any] = {"conditions": items, **outcome.values.to_wire()}
        if context := outcome.context.to_wire():
            desired["_context"] = context
        return desired

    def _failed(
        self, entry: registry.Entry, error: errors.BackendUnavailable, now: datetime.datetime
    ) -> dict[str, Any]:
        since = self._failing_since.get(error.backend, now)
        shown = entry.status.get("lastEvaluationTime")
        message = (
            f"backend {error.backend!r} failing since {times.format_timestamp(since)}: "
            f"{error.cause}; "
            + (
                f"status shows the values measured at {shown}"
                if shown
                else "no values measured yet"
            )
        )
        items = list(entry.status.get("conditions") or [])
        generation = entry.generation
        reason = conditions.Reason.BACKEND_UNAVAILABLE
        stamp = times.format_timestamp(now)
        items = conditions.set_condition(items, READY, False, reason, message, generation, stamp)
        if (now - since).total_seconds() >= self.settings.stalled_after_seconds:
            items = conditions.set_condition(
                items, STALLED, True, reason, message, generation, stamp
            )
        return {"conditions": items}

    def _not_allowed(
        self, entry: registry.Entry, error: errors.BackendNotAllowed
    ) -> dict[str, Any]:
        message = str(error)
        items = conditions.set_ready_and_stalled(
            entry.status.get("conditions") or [],
            ready=False,
            stalled=True,
            reason=conditions.Reason.BACKEND_NOT_ALLOWED,
            message=message,
            generation=entry.generation,
        )
        return {"conditions": items}

    def _collect(
        self,
        report: CycleReport,
        entry: registry.Entry,
        desired: dict[str, Any],
        patches: list[tuple[registry.ObjectRef, dict[str, Any]]],
    ) -> None:
        """Queue a patch of the fields that differ from the object's current status."""
        context = desired.pop("_context", {})
        current = entry.status
        patch = conditions.status_patch(current, desired)
        if patch:
            patch.update(context)
            patches.append((entry.ref, patch))
        if self._collect_statuses:
            report.statuses[entry.ref] = {**dict(current), **desired, **context}

    async def _write(
        self, patches: list[tuple[registry.ObjectRef, dict[str, Any]]]
    ) -> set[registry.ObjectRef]:
        """Patch every status; returns the objects whose patch failed."""
        semaphore = asyncio.Semaphore(self.settings.patch_concurrency)
        failed: set[registry.ObjectRef] = set()

        async def one(ref: registry.ObjectRef, patch: dict[str, Any]) -> None:
            async with semaphore:
                try:
                    await self.writer.patch_status(ref, patch)
                    metrics.STATUS_PATCHES.labels(ref.kind).inc()
                except Exception as error:
                    failed.add(ref)
                    metrics.ERRORS.labels("", "StatusPatchFailed").inc()
                    logger.warning("status patch of %s failed: %s", ref, error)

        await asyncio.gather(*(one(ref, patch) for ref, patch in patches))
        return failed

    def _stepped_down(self, what: str) -> bool:
        """Whether this replica stopped being the active one while the cycle ran (another may
        be active now, `kube.peering`): then `what` is dropped, logged."""
        if self.gate is None or self.gate.active:
            return False
        logger.warning("standby since this cycle began: its %s are dropped", what)
        return True

    def _drop_actions(self) -> None:
        """Forget the cycle's actions as if their writes had failed: the active replica
        carries them out from the status it reads (an unannounced crossing included)."""
        pending, self._pending_actions = self._pending_actions, []
        for evaluator, entry, *_ in pending:
            evaluator.forget(entry.ref, entry.uid)

    async def _act(self, failed: set[registry.ObjectRef]) -> None:
        """Carry out the cycle's actions once their crossing is recorded in status.

        Written first, acted second: the write records a crossing as unannounced, and the
        evaluator clears that mark once the actions are carried out, so an operator killed in
        between announces the step after its restart (with the crossing's idempotencyKey).
        Where the write failed, the object's memory is dropped so the next cycle crosses the
        step again from its stored status and announces it then.
        """
        pending, self._pending_actions = self._pending_actions, []
        for evaluator, entry, facts, outcome, now in pending:
            if entry.ref in failed:
                evaluator.forget(entry.ref, entry.uid)
                continue
            await evaluator.act(
                entry, facts, outcome, self.writer, self.settings.webhook_hosts, now
            )
