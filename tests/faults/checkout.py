"""The faults tier's checkout service: two and a half backfilled days in a real Prometheus, its
SLO and SLA, and the operator run against them with the test-only frozen clock.

`tests/faults/conftest.py` serves one Prometheus (session fixture) with the level-1 rules of the
checkout SLO backfilled for every namespace in `NAMESPACE_PREFIXES`, so test modules that kill
the operator or the control plane share one backfill and still keep their objects apart.
"""

from __future__ import annotations

import datetime
import pathlib
from typing import Any

from testkit import controlplane, operator_process, prometheus, synthetic


def _utc(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=datetime.UTC)  # type: ignore[misc]


START = _utc(2026, 1, 30)
END = _utc(2026, 2, 1, 13)
JANUARY = _utc(2026, 1, 31, 12)
"""The operator first sees the SLA in January (periods that ended before an SLA was created are
not looked for, and it was created for real in the present)."""
NOW = _utc(2026, 2, 1, 12)

NAMESPACE_PREFIXES = ("kills", "control-plane", "replicas")
"""One namespace per test module: the module's SLO named `checkout` lives there."""


def scenario() -> synthetic.Scenario:
    return synthetic.Scenario(
        start=int(START.timestamp()),
        end=int(END.timestamp()),
        interval=30,
        seed=9,
        services=(synthetic.Service("checkout", peak_requests_per_second=10.0),),
        tenants=(synthetic.Tenant("acme", 1.0),),
        incidents=(
            synthetic.Incident.error_burst(
                "february", int(_utc(2026, 2, 1, 6).timestamp()), 1800, 0.1, jobs=("checkout",)
            ),
        ),
    )


def _webhook(step: str, percent: float) -> dict[str, Any]:
    action = {"type": "Webhook", "webhook": {"secretRef": {"name": "hook", "key": "url"}}}
    return {"name": step, "whenConsumedPercent": percent, "actions": [action]}


def slo(namespace: str, *, target: float = 99.9, policy: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": "checkout", "namespace": namespace},
        "spec": {
            "service": "checkout",
            "indicator": {
                "ratio": {
                    "errors": 'http_requests_total{job="checkout",code=~"5.."}',
                    "total": 'http_requests_total{job="checkout"}',
                }
            },
            "calendar": {"period": "Month", "timeZone": "UTC"},
            "objectives": [{"name": "standard", "target": target}],
        },
    }
    if policy:
        # January's 0.05% errors spend half the budget; February's burst three times it.
        body["spec"]["errorBudgetPolicy"] = [_webhook("warn", 75), _webhook("freeze", 150)]
    return body


def sla(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelAgreement",
        "metadata": {"name": "acme", "namespace": namespace},
        "spec": {
            "customer": "acme",
            "period": "Month",
            "timeZone": "UTC",
            "commitments": [{"name": "checkout", "sloRef": {"name": "checkout"}, "target": 99.5}],
            "credits": [{"below": 99.5, "creditPercent": 10}],
        },
    }


def operator(
    plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    namespace: str,
    log_dir: pathlib.Path,
    now: datetime.datetime = NOW,
    *,
    kubeconfig: pathlib.Path | None = None,
    webhook: bool = False,
) -> operator_process.OperatorProcess:
    """`slo-operator run` for `namespace`, evaluating every second at the frozen `now`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    return operator_process.OperatorProcess(
        [
            f"--namespace={namespace}",
            f"--prometheus-url={server.url}",
            "--evaluation-interval=1",
            "--policy-webhook-host=127.0.0.1",
        ],
        kubeconfig=kubeconfig or plane.kubeconfig,
        env={"SLO_OPERATOR_TEST_NOW": now.isoformat()},
        webhook=webhook,
        log_dir=log_dir,
    )


def status(plane: controlplane.ControlPlane, namespace: str, kind: str) -> dict[str, Any]:
    name = "acme" if kind == "servicelevelagreement" else "checkout"
    return dict(plane.kubectl_json("get", kind, name, "-n", namespace).get("status") or {})
