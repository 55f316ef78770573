"""What the evaluation loop needs from each kind it evaluates.

The loop owns what every kind shares: the registry snapshot, backend resolution and allow-lists,
one batch of queries per backend, Ready/Stalled on success and failure, the comparison with the
current status and the patch. A kind evaluator owns the rest: turning a body into compact facts,
planning its queries, computing its status fields and domain conditions from the answers, and
carrying out its side effects. `slo_evaluator.SloEvaluator` is the first; an SLA evaluator
plugs in the same way: `EvaluationLoop(..., evaluators=[SloEvaluator(), SlaEvaluator()])`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from ..api import conditions
from ..api import status as status_api
from ..backends import client
from . import registry, results

Reason = conditions.Reason


class StatusWriter(Protocol):
    """The Kubernetes writes the loop needs; `kube` implements them, tests may record them."""

    async def patch_status(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None: ...

    async def emit_event(
        self, ref: registry.ObjectRef, uid: str, reason: Reason, message: str, *, warning: bool
    ) -> None: ...

    async def read_secret(self, namespace: str, name: str, key: str) -> str: ...


class Facts(Protocol):
    """The compact, parsed form of one object that a cycle works with."""

    @property
    def namespace(self) -> str: ...

    @property
    def backend(self) -> str | None: ...


class Planned(Protocol):
    """An object's queries for one cycle (shared objects are fine: queries are deduplicated)."""

    @property
    def queries(self) -> tuple[client.Query, ...]: ...


class Outcome(Protocol):
    """One object's evaluation."""

    @property
    def state(self) -> conditions.Reason:
        """Ready's reason; `NotMeasurable` makes Ready False and Stalled True."""

    @property
    def message(self) -> str: ...

    @property
    def values(self) -> status_api.StatusModel:
        """The kind's status model with the fields this evaluation decides set (`to_wire`);
        compared with the current status: a difference means a patch."""

    @property
    def context(self) -> status_api.StatusModel:
        """Status fields written only together with a change (`lastEvaluationTime`,
        `windowStart`)."""

    @property
    def conditions(self) -> list[conditions.ConditionState]:
        """Domain conditions besides Ready and Stalled."""


FactsT = TypeVar("FactsT", bound=Facts)
PlannedT = TypeVar("PlannedT", bound=Planned)
OutcomeT = TypeVar("OutcomeT", bound=Outcome)


class KindEvaluator(Protocol[FactsT, PlannedT, OutcomeT]):
    """One kind's part of the loop."""

    kind: str
    requires_rules: bool
    """Evaluate only once the reconcile recorded applied rules in `status.rules`."""

    def parse(self, body: Mapping[str, Any]) -> FactsT | None:
        """Facts of a body without its status; None if invalid (the reconcile reports that)."""

    def begin(self, at: datetime.datetime, facts: Sequence[FactsT]) -> None:
        """Prepare planning for a cycle at `at` over these objects."""

    def plan(self, facts: FactsT) -> PlannedT: ...

    def follow_up(
        self, work: Sequence[tuple[FactsT, PlannedT]], answers: results.Results
    ) -> list[client.Query]:
        """Queries the first answers of a backend show are needed, sent to the same backend
        before any object is evaluated; usually none."""

    def evaluate(
        self, entry: registry.Entry, facts: FactsT, planned: PlannedT, answers: results.Results
    ) -> OutcomeT: ...

    async def act(
        self,
        entry: registry.Entry,
        facts: FactsT,
        outcome: OutcomeT,
        writer: StatusWriter,
        webhook_hosts: Sequence[str],
        at: datetime.datetime,
    ) -> None:
        """Side effects of the evaluation (policy actions); not called by `evaluate`."""

    def forget(self, ref: registry.ObjectRef, uid: str) -> None:
        """The object is gone: drop its memory and metrics."""
