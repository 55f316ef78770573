"""The operator's own Prometheus metrics."""

from __future__ import annotations

import prometheus_client

from ..evaluation import metrics as evaluation_metrics

REGISTRY = evaluation_metrics.REGISTRY
"""One registry for the whole operator; the evaluation loop's metrics live on it too."""

RECONCILES = prometheus_client.Counter(
    "slo_operator_reconciles_total",
    "Reconciles of SLO and SLA objects, by kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
RECONCILE_ERRORS = prometheus_client.Counter(
    "slo_operator_reconcile_errors_total",
    "Reconciles that failed, by kind and reason.",
    ["kind", "reason"],
    registry=REGISTRY,
)
RULE_OBJECT_WRITES = prometheus_client.Counter(
    "slo_operator_rule_object_writes_total",
    "Writes of rule objects (PrometheusRule or ConfigMap), by kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
MANAGED_RULE_OBJECTS = prometheus_client.Gauge(
    "slo_operator_managed_rule_objects",
    "Rule objects the operator manages.",
    ["kind"],
    registry=REGISTRY,
)
WEBHOOK_DECISIONS = prometheus_client.Counter(
    "slo_operator_webhook_decisions_total",
    "Admission decisions, by kind and decision.",
    ["kind", "decision"],
    registry=REGISTRY,
)


def serve(port: int) -> None:
    """Expose the metrics on `:port/metrics` in a background thread."""
    prometheus_client.start_http_server(port, registry=REGISTRY)
