"""The evaluation loop's decisions, with the backend answering from a table instead of Prometheus.

What is decided here — which queries, when to patch, how failures turn into conditions, when a
policy step fires — does not depend on Prometheus; the cluster and integration tiers run the
same loop against a real one.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from slo_operator import errors
from slo_operator.api import conditions, status
from slo_operator.backends import backend_config, client
from slo_operator.evaluation import loop, metrics, policy_actions, registry
from support import merge_patch

T0 = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.UTC)
KIND = "ServiceLevelObjective"


def body(name: str, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "generation": 1},
        "spec": {
            "service": "checkout",
            "indicator": {"ratio": {"errors": 'req{code="500"}', "total": "req"}},
            "window": "1d",
            "objectives": [{"name": "standard", "target": 99.0}],
            **spec,
        },
    }


class TableBackend:
    """Answers every query from `bad`/`total` per SLO name; `down` makes it fail."""

    def __init__(self, cfg: backend_config.BackendConfig) -> None:
        self.config = cfg
        self.name = cfg.name
        self.bad: dict[str, float] = {}
        self.total: dict[str, float] = {}
        self.down = False
        self.sent: list[str] = []
        self.first_recorded: dict[str, float] = {}
        """When each SLO's full-window sum was first recorded; absent: long ago."""

    async def query_all(
        self, queries: Iterable[client.Query], concurrency: int = 4
    ) -> dict[client.Query, list[client.Sample]]:
        answers = {}
        for query in dict.fromkeys(queries):
            self.sent.append(query.promql)
            if self.down:
                raise errors.BackendUnavailable(self.name, "connection refused")
            answers[query] = self._answer(query.promql)
        return answers

    def _answer(self, promql: str) -> list[client.Sample]:
        samples = []
        for name, total in self.total.items():
            labels = {"slo": name, "slo_namespace": "shop"}
            bad = self.bad.get(name, 0.0)
            if "slo_sum" in promql:
                samples.append(client.Sample({**labels, "slo_sum": "total"}, total))
                samples.append(client.Sample({**labels, "slo_sum": "bad"}, bad))
            elif promql.startswith("group by"):  # presence: recorded one window ago
                if name not in self.first_recorded:
                    samples.append(client.Sample(labels, 1.0))
            elif promql.startswith("min_over_time(timestamp"):  # coverage probe
                if name in self.first_recorded and f'"{name}"' in promql.replace("|", '"'):
                    samples.append(client.Sample(labels, self.first_recorded[name]))
            elif total:
                samples.append(client.Sample(labels, bad / total))
        return samples


class RecordingWriter:
    def __init__(self) -> None:
        self.patches: list[tuple[registry.ObjectRef, dict[str, Any]]] = []
        self.events: list[tuple[str, str]] = []

    async def patch_status(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        self.patches.append((ref, dict(patch)))

    async def emit_event(
        self, ref: registry.ObjectRef, uid: str, reason: str, message: str, *, warning: bool
    ) -> None:
        self.events.append((reason, message))

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        raise LookupError(name)


class Harness:
    def __init__(
        self, *bodies: dict[str, Any], backends: list[backend_config.BackendConfig] | None = None
    ):
        self.objects = registry.Registry()
        for item in bodies:
            self.objects.upsert(KIND, item)
        self.writer = RecordingWriter()
        self.backends: dict[str, TableBackend] = {}

        def factory(cfg: backend_config.BackendConfig) -> Any:
            self.backends[cfg.name] = TableBackend(cfg)
            return self.backends[cfg.name]

        configured = backends or [
            backend_config.BackendConfig(name="default", url="http://prom:9090")
        ]
        self.loop = loop.EvaluationLoop(
            self.objects,
            backend_config.Backends(configured),
            self.writer,
            loop.Settings(stalled_after_seconds=300),
            backend_factory=factory,
            require_rules=False,
        )

    @property
    def backend(self) -> TableBackend:
        return self.backends["default"]

    def cycle(self, at: datetime.datetime = T0) -> loop.CycleReport:
        report = asyncio.run(self.loop.run_cycle(at))
        # What the watch delivers after the patches: each object with its new status.
        for ref, patch in self.writer.patches:
            entry = self.objects.get(ref)
            assert entry is not None
            self.objects.upsert(
                KIND, {**entry.body, "status": merge_patch.apply(entry.status, patch)}
            )
        self.writer.patches.clear()
        return report

    def status(self, name: str) -> dict[str, Any]:
        entry = self.objects.get(registry.ObjectRef(KIND, "shop", name))
        assert entry is not None
        return dict(entry.status)


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_query_count_grows_with_windows_not_with_slos() -> None:
    one = Harness(body("a"))
    many = Harness(*(body(f"s{index}") for index in range(200)))
    assert one.cycle().queries == many.cycle().queries
    mixed = Harness(body("a"), body("b", window="30d"))
    assert mixed.cycle().queries > one.cycle().queries


def test_numbers_and_no_patch_when_nothing_changed() -> None:
    harness = Harness(body("a"))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 4
    first = harness.cycle()
    assert first.patches == 1
    status = harness.status("a")
    assert status["sli"] == 99.6
    assert status["errorBudgetRemainingPercent"] == 60.0
    assert status["objectives"][0]["errorBudgetRemaining"] == "6 events"
    assert status["burnRates"]["5m"] == 0.4
    assert status["lastEvaluationTime"] == "2026-11-27T10:00:00Z"
    assert condition(status, "Ready")["reason"] == "Evaluated"
    assert harness.cycle(T0 + datetime.timedelta(minutes=1)).patches == 0
    harness.backend.bad["a"] = 5
    assert harness.cycle(T0 + datetime.timedelta(minutes=2)).patches == 1
    assert harness.status("a")["lastEvaluationTime"] == "2026-11-27T10:02:00Z"


def as_delivered(item: dict[str, Any]) -> dict[str, Any]:
    """`item` as the apiserver delivers it after `kubectl apply` and kopf's first reconcile."""
    applied = json.dumps(item)
    metadata = {
        **item["metadata"],
        "labels": {"team": "payments"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": applied,
            "slo.dev/last-handled-configuration": json.dumps({"spec": item["spec"]}),
        },
        "finalizers": ["slo.dev/finalizer"],
        "resourceVersion": "4711",
        "creationTimestamp": "2026-11-26T09:00:00Z",
        "managedFields": [
            {"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsV1": {}},
            {"manager": "slo-operator", "operation": "Update", "subresource": "status"},
        ],
    }
    return {**item, "metadata": metadata}


def test_the_registry_keeps_only_what_its_readers_use() -> None:
    delivered = as_delivered(body("a"))
    objects = registry.Registry()
    objects.upsert(KIND, delivered)
    entry = objects.get(registry.ObjectRef(KIND, "shop", "a"))
    assert entry is not None
    assert entry.body["metadata"] == {
        "name": "a",
        "namespace": "shop",
        "uid": "uid-a",
        "generation": 1,
        "creationTimestamp": "2026-11-26T09:00:00Z",
        "labels": {"team": "payments"},
    }
    assert entry.body["spec"] == delivered["spec"]
    assert "managedFields" in delivered["metadata"], "the caller's body is left as it was"


def test_a_trimmed_body_evaluates_to_the_same_status_as_the_full_one() -> None:
    plain, full = Harness(body("a")), Harness(as_delivered(body("a")))
    for harness in (plain, full):
        harness.backend.total["a"] = 1000
        harness.backend.bad["a"] = 4
        assert harness.cycle().patches == 1
    assert full.status("a") == plain.status("a")
    assert full.status("a")["sli"] == 99.6
    # The status the watch delivers back (with managedFields again) is what the next cycle
    # compares against: nothing changed, nothing written.
    entry = full.objects.get(registry.ObjectRef(KIND, "shop", "a"))
    assert entry is not None
    full.objects.upsert(KIND, {**as_delivered(body("a")), "status": dict(entry.status)})
    assert full.cycle(T0 + datetime.timedelta(minutes=1)).patches == 0


def test_young_series_report_what_they_cover() -> None:
    harness = Harness(body("a"), body("b"))
    for name in ("a", "b"):
        harness.backend.total[name] = 1000
    harness.backend.first_recorded["a"] = (T0 - datetime.timedelta(hours=5)).timestamp()
    first = harness.cycle()
    young = harness.status("a")
    assert condition(young, "Ready")["reason"] == "PartialWindow"
    assert "being located" in condition(young, "Ready")["message"]
    assert "windowStart" not in young, "never the nominal start of a window it does not cover"
    # The next cycle probes where the young SLO's series start, and only for it.
    second = harness.cycle(T0)
    assert second.queries == first.queries + 1
    probes = [q for q in harness.backend.sent if q.startswith("min_over_time")]
    assert len(probes) == 1 and 'slo=~"a"' in probes[0]
    young, old = harness.status("a"), harness.status("b")
    assert condition(young, "Ready")["reason"] == "PartialWindow"
    assert condition(young, "Ready")["message"] == (
        "the recorded series are younger than the 1d window: they start at "
        "2026-11-27T05:00:00Z (or up to 2m earlier), and the numbers cover the time since"
    )
    assert young["windowStart"] == "2026-11-27T05:00:00Z"
    assert young["sli"] == 100.0
    assert condition(old, "Ready")["reason"] == "Evaluated"
    assert old["windowStart"] == "2026-11-26T10:00:00Z"
    # Known now: no more probes.
    assert harness.cycle(T0).queries == first.queries


def test_no_data_is_ready_without_numbers() -> None:
    harness = Harness(body("a"))
    harness.cycle()
    status = harness.status("a")
    assert condition(status, "Ready") | {"lastTransitionTime": ""} == {
        "type": "Ready",
        "status": "True",
        "reason": "NoData",
        "message": "the recorded series hold no events for this window yet",
        "lastTransitionTime": "",
        "observedGeneration": 1,
    }
    assert condition(status, "ErrorBudgetExhausted")["status"] == "Unknown"
    for field in ("sli", "objectives", "errorBudgetRemainingPercent", "burnRates"):
        assert field not in status


def _exported(name: str) -> dict[str, float]:
    """The operator's per-objective samples of SLO `name`, by metric name."""
    return {
        sample.name: sample.value
        for family in metrics.SLO_NUMBERS.collect()
        for sample in family.samples
        if sample.labels.get("name") == name
    }


def test_an_slo_whose_traffic_stopped_leaves_the_metrics() -> None:
    """The dashboards read these gauges: no events in the window shows no value there, not the
    numbers of before."""
    harness = Harness(body("stops"))
    harness.backend.total["stops"] = 1000
    harness.backend.bad["stops"] = 4
    harness.cycle()
    assert _exported("stops")["slo_operator_slo_sli_percent"] == pytest.approx(99.6)
    harness.backend.total["stops"] = harness.backend.bad["stops"] = 0
    harness.cycle(T0 + datetime.timedelta(minutes=1))
    assert condition(harness.status("stops"), "Ready")["reason"] == "NoData"
    assert _exported("stops") == {}


def test_backend_failure_keeps_values_then_stalls_then_recovers() -> None:
    harness = Harness(body("a"))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 4
    harness.cycle()
    measured = harness.status("a")
    harness.backend.down = True
    harness.cycle(T0 + datetime.timedelta(minutes=1))
    failing = harness.status("a")
    assert condition(failing, "Ready")["reason"] == "BackendUnavailable"
    assert "connection refused" in condition(failing, "Ready")["message"]
    assert condition(failing, "Stalled")["status"] == "False"
    for field in ("sli", "objectives", "lastEvaluationTime", "burnRates"):
        assert failing[field] == measured[field]
    harness.cycle(T0 + datetime.timedelta(minutes=4))
    assert condition(harness.status("a"), "Stalled")["status"] == "False"
    harness.cycle(T0 + datetime.timedelta(minutes=6, seconds=1))
    stalled = harness.status("a")
    assert condition(stalled, "Stalled")["reason"] == "BackendUnavailable"
    assert condition(stalled, "Stalled")["status"] == "True"
    assert stalled["sli"] == measured["sli"]
    harness.backend.down = False
    harness.cycle(T0 + datetime.timedelta(minutes=7))
    recovered = harness.status("a")
    assert condition(recovered, "Ready")["reason"] == "Evaluated"
    assert condition(recovered, "Stalled")["status"] == "False"
    assert recovered["lastEvaluationTime"] == "2026-11-27T10:07:00Z"


def test_namespace_outside_the_allow_list_is_stalled_without_a_query() -> None:
    harness = Harness(
        body("a", backend="team"),
        backends=[
            backend_config.BackendConfig(name="default", url="http://prom:9090"),
            backend_config.BackendConfig(name="team", url="http://mimir", namespaces=["team-*"]),
        ],
    )
    harness.cycle()
    status = harness.status("a")
    assert condition(status, "Stalled")["reason"] == "BackendNotAllowed"
    assert "allow-list" in condition(status, "Stalled")["message"]
    assert condition(status, "Ready")["status"] == "False"
    assert harness.backends["team"].sent == []


POLICY = [
    {"name": "slow-down", "whenConsumedPercent": 50, "actions": [{"type": "Event"}]},
    {
        "name": "freeze",
        "whenConsumedPercent": 100,
        "actions": [{"type": "Event"}, {"type": "ReleaseFreeze"}],
    },
]


def test_policy_step_fires_once_and_a_restart_does_not_fire_it_again() -> None:
    harness = Harness(body("a", errorBudgetPolicy=POLICY))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 6  # 60% of the budget consumed
    harness.cycle()
    assert [reason for reason, _ in harness.writer.events] == ["ErrorBudgetPolicy"]
    assert "slow-down" in harness.writer.events[0][1]
    status = harness.status("a")
    assert status["policy"] == {"activeSteps": ["slow-down"], "since": "2026-11-27T10:00:00Z"}
    assert condition(status, "ReleaseFreeze")["status"] == "False"
    harness.backend.bad["a"] = 7
    harness.cycle(T0 + datetime.timedelta(minutes=1))
    assert len(harness.writer.events) == 1
    harness.backend.bad["a"] = 12
    harness.cycle(T0 + datetime.timedelta(minutes=2))
    assert len(harness.writer.events) == 2
    status = harness.status("a")
    assert condition(status, "ReleaseFreeze")["status"] == "True"
    assert condition(status, "ErrorBudgetExhausted")["status"] == "True"

    restarted = Harness({**harness.objects.entries()[0].body})
    restarted.backend.total["a"] = 1000
    restarted.backend.bad["a"] = 12
    restarted.cycle(T0 + datetime.timedelta(minutes=3))
    assert restarted.writer.events == []


def test_a_cleared_policy_loses_its_since_and_then_rests() -> None:
    """`since` leaves `status.policy` once no step is active (a merge patch would keep it unless
    the patch removes it), and the object is not patched again after that."""
    harness = Harness(body("a", errorBudgetPolicy=POLICY))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 6  # 60% of the budget consumed
    harness.cycle()
    assert harness.status("a")["policy"]["since"] == "2026-11-27T10:00:00Z"
    harness.backend.bad["a"] = 1  # 10%: below slow-down's mark less the hysteresis
    assert harness.cycle(T0 + datetime.timedelta(minutes=1)).patches == 1
    assert harness.status("a")["policy"] == {"activeSteps": []}
    assert harness.cycle(T0 + datetime.timedelta(minutes=2)).patches == 0


def test_a_policy_step_is_announced_only_after_its_crossing_is_recorded() -> None:
    harness = Harness(body("a", errorBudgetPolicy=POLICY))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 6  # 60% of the budget consumed: slow-down crossed
    order: list[str] = []
    write = harness.writer.patch_status
    emit = harness.writer.emit_event

    async def failing_patch(ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        order.append("patch failed")
        raise RuntimeError("apiserver unreachable")

    async def recorded_patch(ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        order.append("patch")
        await write(ref, patch)

    async def recorded_event(*args: Any, **kwargs: Any) -> None:
        order.append("event")
        await emit(*args, **kwargs)

    harness.writer.emit_event = recorded_event  # type: ignore[method-assign]
    harness.writer.patch_status = failing_patch  # type: ignore[method-assign]
    harness.cycle()
    # Not recorded, so not announced: a crash now would announce it once, later.
    assert harness.writer.events == []
    harness.writer.patch_status = recorded_patch  # type: ignore[method-assign]
    harness.cycle(T0 + datetime.timedelta(minutes=1))
    # Recorded (as unannounced), announced, then the announcement recorded.
    assert order == ["patch failed", "patch", "event", "patch"]
    assert [reason for reason, _ in harness.writer.events] == ["ErrorBudgetPolicy"]
    assert harness.status("a")["policy"] == {
        "activeSteps": ["slow-down"],
        "since": "2026-11-27T10:01:00Z",
    }


def test_a_step_recorded_but_not_announced_is_announced_once_after_a_restart() -> None:
    """An operator killed between the status write that records a crossing and its actions:
    the next process announces the step (with the crossing's time, so a webhook carries the
    same idempotencyKey), records that, and announces nothing more."""
    harness = Harness(body("a", errorBudgetPolicy=POLICY))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 6  # 60% of the budget consumed: slow-down crossed
    write = harness.writer.patch_status
    writes: list[Mapping[str, Any]] = []

    async def killed_after_the_write(ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        writes.append(patch)
        await write(ref, patch)
        raise SystemExit  # the process dies before it acts: nothing after the first write

    harness.writer.patch_status = killed_after_the_write  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        harness.cycle()
    assert harness.writer.events == []
    recorded = merge_patch.apply(harness.objects.entries()[0].status, writes[0])
    assert recorded["policy"] == {
        "activeSteps": ["slow-down"],
        "since": "2026-11-27T10:00:00Z",
        "unannounced": [{"step": "slow-down", "at": "2026-11-27T10:00:00Z"}],
    }

    restarted = Harness({**harness.objects.entries()[0].body, "status": recorded})
    restarted.backend.total["a"] = 1000
    restarted.backend.bad["a"] = 6
    acted: list[datetime.datetime] = []
    carry_out = policy_actions.carry_out

    async def recorded_carry_out(*args: Any) -> None:
        acted.append(args[-1])
        await carry_out(*args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(policy_actions, "carry_out", recorded_carry_out)
        restarted.cycle(T0 + datetime.timedelta(minutes=5))
        assert [reason for reason, _ in restarted.writer.events] == ["ErrorBudgetPolicy"]
        assert acted == [T0]  # the crossing's time, not the restart's
        assert restarted.status("a")["policy"] == {
            "activeSteps": ["slow-down"],
            "since": "2026-11-27T10:00:00Z",
        }
        restarted.cycle(T0 + datetime.timedelta(minutes=6))
        again = Harness({**restarted.objects.entries()[0].body})
        again.backend.total["a"] = 1000
        again.backend.bad["a"] = 6
        again.cycle(T0 + datetime.timedelta(minutes=7))
    assert len(restarted.writer.events) == 1 and again.writer.events == []


class SteppingDownGate:
    """An active replica that learns it is standby while the cycle queries its backend (a
    partition from the apiserver, or a stall past its keep-alive: `kube.peering`)."""

    def __init__(self, backend: TableBackend, *, during: str) -> None:
        self.active = True
        self.during = during
        answer = backend.query_all

        async def query_all(*args: Any, **kwargs: Any) -> Any:
            found = await answer(*args, **kwargs)
            if self.during == "queries":
                self.active = False
            return found

        backend.query_all = query_all  # type: ignore[method-assign]

    async def wait_until_active(self) -> None:
        assert self.active


def test_a_replica_that_stepped_down_mid_cycle_writes_and_announces_nothing() -> None:
    """What it evaluated is dropped, its crossing too: the replica that took over writes the
    status and announces the step once; this one crosses it again when it is active again."""
    harness = Harness(body("a", errorBudgetPolicy=POLICY))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 6  # 60% of the budget consumed: slow-down crossed
    harness.loop.gate = gate = SteppingDownGate(harness.backend, during="queries")
    report = harness.cycle()
    assert report.evaluated == 1
    assert (report.patches, harness.writer.events) == (0, [])
    assert "policy" not in harness.status("a")

    gate.active, gate.during = True, ""  # active again: the crossing is found again, once
    assert harness.cycle(T0 + datetime.timedelta(minutes=1)).patches == 1
    assert [reason for reason, _ in harness.writer.events] == ["ErrorBudgetPolicy"]
    assert harness.status("a")["policy"]["activeSteps"] == ["slow-down"]


def test_a_replica_that_stepped_down_during_its_writes_leaves_the_actions_to_the_next() -> None:
    """Standby once the crossing is written (as unannounced): the announcement is left to the
    active replica, which reads it from status."""
    harness = Harness(body("a", errorBudgetPolicy=POLICY))
    harness.backend.total["a"] = 1000
    harness.backend.bad["a"] = 6
    harness.loop.gate = gate = SteppingDownGate(harness.backend, during="writes")
    write = harness.writer.patch_status

    async def write_then_step_down(ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        await write(ref, patch)
        gate.active = False

    harness.writer.patch_status = write_then_step_down  # type: ignore[method-assign]
    assert harness.cycle().patches == 1
    assert harness.writer.events == []
    assert harness.status("a")["policy"]["unannounced"] == [
        {"step": "slow-down", "at": "2026-11-27T10:00:00Z"}
    ]

    taken_over = Harness({**harness.objects.entries()[0].body})
    taken_over.backend.total["a"] = 1000
    taken_over.backend.bad["a"] = 6
    taken_over.cycle(T0 + datetime.timedelta(minutes=1))
    assert [reason for reason, _ in taken_over.writer.events] == ["ErrorBudgetPolicy"]
    assert "unannounced" not in taken_over.status("a")["policy"]


@pytest.mark.parametrize("reason", ["InvalidSpec", "RenderFailed"])
def test_objects_whose_rules_failed_are_left_to_the_reconcile(reason: str) -> None:
    item = body("a")
    item["status"] = {
        "observedGeneration": 1,
        "rules": {"kind": "PrometheusRule", "name": "slo-a",
                  "recordingRules": 1, "alertingRules": 0},
        "conditions": [
            {"type": "Stalled", "status": "True", "reason": reason, "message": "",
             "lastTransitionTime": "2026-11-27T09:00:00Z"}
        ],
    }  # fmt: skip
    harness = Harness(item)
    harness.loop.require_rules = True
    report = harness.cycle()
    assert report.evaluated == 0 and report.patches == 0


class ToyFacts:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.backend: str | None = None


class ToyPlan:
    queries = (client.Query("toy_metric", T0),)


class ToyOutcome:
    state = conditions.Reason.EVALUATED
    message = ""
    values = status.ServiceLevelAgreementStatus(
        current_period=status.PeriodStatus(start=T0, end=T0, attainment=99.9)
    )
    context = status.ServiceLevelAgreementStatus()
    conditions = [
        conditions.ConditionState(
            conditions.ConditionType.COMPLIANT, "True", conditions.Reason.TARGETS_MET
        )
    ]


class ToyEvaluator:
    """A second kind, the way the SLA evaluator plugs into the same loop."""

    kind = "ServiceLevelAgreement"
    requires_rules = False

    def __init__(self) -> None:
        self.forgotten: list[str] = []
        self.acted = 0

    def parse(self, body: Mapping[str, Any]) -> ToyFacts | None:
        return ToyFacts(body["metadata"]["namespace"])

    def begin(self, at: datetime.datetime, facts: Any) -> None:
        return None

    def plan(self, facts: ToyFacts) -> ToyPlan:
        return ToyPlan()

    def follow_up(self, work: Any, answers: Any) -> list[Any]:
        return []

    def evaluate(self, entry: Any, facts: Any, planned: Any, answers: Any) -> ToyOutcome:
        assert answers.has(ToyPlan.queries[0])
        return ToyOutcome()

    async def act(self, *args: Any) -> None:
        self.acted += 1

    def forget(self, ref: registry.ObjectRef, uid: str) -> None:
        self.forgotten.append(ref.name)


def test_another_kind_plugs_in_and_shares_the_batch() -> None:
    harness = Harness(body("a"))
    toy = ToyEvaluator()
    harness.loop.evaluators.append(toy)
    sla = {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelAgreement",
        "metadata": {"name": "acme", "namespace": "shop", "uid": "uid-acme", "generation": 1},
        "spec": {},
    }
    harness.objects.upsert("ServiceLevelAgreement", sla)
    alone = Harness(body("a")).cycle().queries
    report = asyncio.run(harness.loop.run_cycle(T0))
    assert report.queries == alone + 1
    assert report.evaluated == 2
    patched = {ref.kind: patch for ref, patch in harness.writer.patches}
    assert patched["ServiceLevelAgreement"]["currentPeriod"]["attainment"] == 99.9
    assert condition(patched["ServiceLevelAgreement"], "Compliant")["status"] == "True"
    assert toy.acted == 1
    harness.objects.remove("ServiceLevelAgreement", "shop", "acme")
    asyncio.run(harness.loop.run_cycle(T0))
    assert toy.forgotten == ["acme"]


def test_the_operators_cycles_run_with_the_garbage_collector_paused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`run_forever` pauses Python's cyclic collector for each cycle and freezes what survives
    it (evaluation/garbage.py), so the next cycles do not re-scan the registry."""
    harness = Harness(body("checkout"))
    enabled_in_cycle: list[bool] = []
    original = harness.loop.run_cycle

    async def watched(now: datetime.datetime | None = None, **kwargs: Any) -> loop.CycleReport:
        enabled_in_cycle.append(gc.isenabled())
        return await original(now, **kwargs)

    monkeypatch.setattr(harness.loop, "run_cycle", watched)

    async def first_cycle() -> None:
        task = asyncio.create_task(harness.loop.run_forever())
        try:
            while not gc.get_freeze_count():
                await asyncio.sleep(0.01)
        finally:
            task.cancel()

    enabled = gc.isenabled()
    gc.enable()
    gc.unfreeze()
    try:
        asyncio.run(asyncio.wait_for(first_cycle(), 10))
        assert enabled_in_cycle == [False]
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        if not enabled:
            gc.disable()
