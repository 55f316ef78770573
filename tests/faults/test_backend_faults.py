"""The evaluation loop while a metrics backend fails, against a real Prometheus.

Two SLOs on the same backfilled data: `via-proxy` reads through `testkit.faultproxy` (backend
`flaky`), `direct` reads Prometheus itself (backend `steady`). The loop runs with the real
client (prometheus-api-client); the proxy makes `flaky` refuse connections, answer 503,
truncated JSON, a partial response with warnings, after 30 s, or over TLS with a certificate the
client does not trust. Promises (docs/reliability.md): the failing backend's objects keep their
last good numbers, turn Ready=False at once and Stalled=True after the grace, and recover on
their own; no number is invented; the other backend's objects are evaluated and written in the
same cycle, which ends within the backend timeout.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from slo_operator.backends import backend_config
from slo_operator.evaluation import loop, registry
from slo_operator.rules import render
from support import merge_patch, rule_yaml
from testkit import backfill, faultproxy, prometheus, synthetic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

KIND = "ServiceLevelObjective"
START = int(datetime.datetime(2026, 1, 12, 9, tzinfo=datetime.UTC).timestamp())
END = START + 3 * synthetic.HOUR
T0 = datetime.datetime.fromtimestamp(END - 600, datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)
TIMEOUT_SECONDS = 3.0
STALLED_AFTER_SECONDS = 120.0
MEASURED = ("sli", "objectives", "errorBudgetRemainingPercent", "burnRates", "lastEvaluationTime")


def _body(name: str, backend: str) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": KIND,
        "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}", "generation": 1},
        "spec": {
            "service": "checkout",
            "backend": backend,
            "indicator": {
                "ratio": {
                    "errors": 'http_requests_total{job="checkout",code=~"5.."}',
                    "total": 'http_requests_total{job="checkout"}',
                }
            },
            "window": "1h",
            "objectives": [{"name": "standard", "target": 99.0}],
        },
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prometheus.PrometheusServer]:
    """Three hours of checkout traffic with both SLOs' rules backfilled."""
    work = tmp_path_factory.mktemp("backend-faults")
    scenario = synthetic.Scenario(
        start=START,
        end=END,
        interval=15,
        seed=2,
        services=(synthetic.Service("checkout", peak_requests_per_second=20.0),),
        tenants=(synthetic.Tenant("acme", 1.0),),
    )
    backfill.backfill_synthetic(synthetic.generate(scenario), work / "tsdb", work_dir=work / "raw")
    rules = render.render_rule_file(
        [rule_yaml.slo_from(_body(name, "x")) for name in ("via-proxy", "direct")]
    )
    rule_file = work / "rules.yaml"
    rule_file.write_text(rule_yaml.dump(rules))
    with prometheus.PrometheusServer(work / "tsdb", work_dir=work / "prometheus") as running:
        backfill.backfill_rules([rule_file], START + 300, END, running, work_dir=work / "rules")
        yield running


class Writer:
    """Status patches applied to the registry, as the watch would deliver them back."""

    def __init__(self, objects: registry.Registry) -> None:
        self.objects = objects
        self.patched: list[str] = []

    async def patch_status(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        entry = self.objects.get(ref)
        assert entry is not None
        self.objects.upsert(KIND, {**entry.body, "status": merge_patch.apply(entry.status, patch)})
        self.patched.append(ref.name)

    async def emit_event(
        self, ref: registry.ObjectRef, uid: str, reason: str, message: str, *, warning: bool
    ) -> None:
        return None

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        raise LookupError(name)


class Operator:
    """The evaluation loop over the two SLOs, one cycle at a time at a chosen instant."""

    def __init__(self, flaky: backend_config.BackendConfig, steady_url: str) -> None:
        self.objects = registry.Registry()
        self.objects.upsert(KIND, _body("via-proxy", "flaky"))
        self.objects.upsert(KIND, _body("direct", "steady"))
        self.writer = Writer(self.objects)
        steady = backend_config.BackendConfig(name="steady", url=steady_url)
        self.loop = loop.EvaluationLoop(
            self.objects,
            backend_config.Backends([flaky, steady]),
            self.writer,
            loop.Settings(stalled_after_seconds=STALLED_AFTER_SECONDS, run_policy_actions=False),
            require_rules=False,
        )

    def cycle(self, at: datetime.datetime) -> tuple[loop.CycleReport, float]:
        began = time.monotonic()
        report = asyncio.run(self.loop.run_cycle(at))
        return report, time.monotonic() - began

    def status(self, name: str) -> dict[str, Any]:
        entry = self.objects.get(registry.ObjectRef(KIND, "shop", name))
        assert entry is not None
        return dict(entry.status)


def condition(status: Mapping[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == type_)


@pytest.fixture
def proxy(server: prometheus.PrometheusServer) -> Iterator[faultproxy.FaultProxy]:
    with faultproxy.FaultProxy(server.url) as running:
        yield running


def _operator(proxy: faultproxy.FaultProxy, server: prometheus.PrometheusServer) -> Operator:
    flaky = backend_config.BackendConfig(
        name="flaky", url=proxy.url, timeout_seconds=TIMEOUT_SECONDS
    )
    return Operator(flaky, server.url)


FAULTS = {
    faultproxy.Mode.DOWN: "connection failed",
    faultproxy.Mode.ERROR: "503",
    faultproxy.Mode.MALFORMED: "",
    faultproxy.Mode.WARNINGS: "partial response",
    faultproxy.Mode.SLOW: "timed out",
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=lambda mode: mode.value)
def test_a_failing_backend_keeps_the_last_numbers_stalls_and_recovers(
    server: prometheus.PrometheusServer, proxy: faultproxy.FaultProxy, fault: faultproxy.Mode
) -> None:
    operator = _operator(proxy, server)
    operator.cycle(T0)
    measured = operator.status("via-proxy")
    assert condition(measured, "Ready")["reason"] == "Evaluated"
    assert 0 < measured["sli"] <= 100

    proxy.set_mode(fault)
    seconds: list[float] = []
    for minutes in (1, 2, 3, 4):
        report, took = operator.cycle(T0 + minutes * MINUTE)
        seconds.append(took)
        failing = operator.status("via-proxy")
        ready = condition(failing, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "BackendUnavailable")
        assert FAULTS[fault] in ready["message"], ready["message"]
        assert {field: failing.get(field) for field in MEASURED} == {
            field: measured.get(field) for field in MEASURED
        }
        stalled = (minutes - 1) * 60 >= STALLED_AFTER_SECONDS  # failing since minute 1
        assert condition(failing, "Stalled")["status"] == ("True" if stalled else "False")
        # The other backend's SLO was measured and written in the same cycle.
        direct = operator.status("direct")
        assert direct["lastEvaluationTime"] == (T0 + minutes * MINUTE).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        assert report.failed_backends == ["flaky"]
    print(f"{fault.value}: cycles took {', '.join(f'{s:.1f}' for s in seconds)} s")
    # A cycle never waits on a failing backend for longer than its timeout (one retry of a
    # dropped connection aside).
    assert max(seconds) < 2 * TIMEOUT_SECONDS + 2

    proxy.set_mode(faultproxy.Mode.PASS)
    operator.cycle(T0 + 5 * MINUTE)
    recovered = operator.status("via-proxy")
    assert condition(recovered, "Ready")["reason"] == "Evaluated"
    assert condition(recovered, "Stalled")["status"] == "False"
    assert recovered["lastEvaluationTime"] == (T0 + 5 * MINUTE).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_backend_failing_from_the_start_shows_no_number(
    server: prometheus.PrometheusServer, proxy: faultproxy.FaultProxy
) -> None:
    proxy.set_mode(faultproxy.Mode.ERROR)
    operator = _operator(proxy, server)
    operator.cycle(T0)
    status = operator.status("via-proxy")
    assert "no values measured yet" in condition(status, "Ready")["message"]
    assert not [field for field in MEASURED if field in status]


def test_tls_the_client_does_not_trust_fails_and_a_ca_file_fixes_it(
    server: prometheus.PrometheusServer, tmp_path: Path
) -> None:
    with faultproxy.FaultProxy(server.url, tls=True) as proxy:
        assert proxy.certificate is not None
        untrusted = backend_config.BackendConfig(
            name="flaky", url=proxy.url, timeout_seconds=TIMEOUT_SECONDS
        )
        operator = Operator(untrusted, server.url)
        operator.cycle(T0)
        ready = condition(operator.status("via-proxy"), "Ready")
        assert ready["reason"] == "BackendUnavailable"
        assert "CERTIFICATE_VERIFY_FAILED" in ready["message"], ready["message"]
        assert "sli" not in operator.status("via-proxy")

        trusted = untrusted.model_copy(update={"ca_file": str(proxy.certificate)})
        operator = Operator(trusted, server.url)
        operator.cycle(T0)
        assert condition(operator.status("via-proxy"), "Ready")["reason"] == "Evaluated"
        assert operator.status("via-proxy")["sli"] == operator.status("direct")["sli"]
        assert (
            "insecureSkipVerify" not in condition(operator.status("via-proxy"), "Ready")["message"]
        )

        # Verification off (the operator refuses it without --allow-insecure-backends): it
        # works, and every status evaluated through it says so.
        unverified = untrusted.model_copy(update={"insecure_skip_verify": True})
        operator = Operator(unverified, server.url)
        operator.cycle(T0)
        ready = condition(operator.status("via-proxy"), "Ready")
        assert ready["reason"] == "Evaluated"
        assert (
            "backend 'flaky' does not verify TLS certificates (insecureSkipVerify)"
            in ready["message"]
        )
        assert "insecureSkipVerify" not in condition(operator.status("direct"), "Ready")["message"]
