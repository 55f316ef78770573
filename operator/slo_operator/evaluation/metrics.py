"""The operator's own Prometheus metrics: per-SLO numbers and the health of the loop.

`REGISTRY` is the one registry the operator serves (`kube.metrics` registers its reconcile
metrics on it too). Per-SLO series are removed when their SLO goes away, so a deleted SLO does
not linger on dashboards.
"""

from __future__ import annotations

import contextlib

import prometheus_client

REGISTRY = prometheus_client.CollectorRegistry()

SLO_LABELS = ("namespace", "name", "objective")

SLI = prometheus_client.Gauge(
    "slo_operator_slo_sli_percent",
    "Measured SLI of an objective over its window, percent.",
    SLO_LABELS,
    registry=REGISTRY,
)
BUDGET_REMAINING = prometheus_client.Gauge(
    "slo_operator_slo_error_budget_remaining_percent",
    "Error budget left of an objective, percent (negative when overspent).",
    SLO_LABELS,
    registry=REGISTRY,
)
OBJECTIVE_MET = prometheus_client.Gauge(
    "slo_operator_slo_objective_met",
    "1 when the objective's SLI reaches its target, else 0.",
    SLO_LABELS,
    registry=REGISTRY,
)
BURN_RATE = prometheus_client.Gauge(
    "slo_operator_slo_burn_rate",
    "Burn rate of the primary objective's budget at an alert window.",
    ("namespace", "name", "window"),
    registry=REGISTRY,
)
CYCLE_DURATION = prometheus_client.Histogram(
    "slo_operator_evaluation_duration_seconds",
    "Wall time of one evaluation cycle (queries, arithmetic, status patches).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
CYCLES = prometheus_client.Counter(
    "slo_operator_evaluation_cycles_total",
    "Evaluation cycles run.",
    registry=REGISTRY,
)
QUERIES = prometheus_client.Counter(
    "slo_operator_evaluation_queries_total",
    "Instant queries sent to metrics backends, by backend.",
    ("backend",),
    registry=REGISTRY,
)
ERRORS = prometheus_client.Counter(
    "slo_operator_evaluation_errors_total",
    "Evaluation failures, by backend and reason.",
    ("backend", "reason"),
    registry=REGISTRY,
)
OBJECTS = prometheus_client.Gauge(
    "slo_operator_evaluated_objects",
    "Objects in the last cycle, by kind and Ready reason.",
    ("kind", "reason"),
    registry=REGISTRY,
)
STATUS_PATCHES = prometheus_client.Counter(
    "slo_operator_evaluation_status_patches_total",
    "Status patches written by the evaluation loop, by kind.",
    ("kind",),
    registry=REGISTRY,
)
LAST_SUCCESS = prometheus_client.Gauge(
    "slo_operator_backend_last_success_timestamp_seconds",
    "When a backend last answered every query of a cycle.",
    ("backend",),
    registry=REGISTRY,
)
POLICY_ACTIONS = prometheus_client.Counter(
    "slo_operator_policy_actions_total",
    "Error budget policy actions carried out, by type and outcome.",
    ("type", "outcome"),
    registry=REGISTRY,
)


def forget_slo(namespace: str, name: str, objectives: list[str], windows: list[str]) -> None:
    """Drop the per-SLO series of an SLO that is gone."""
    for objective in objectives:
        for gauge in (SLI, BUDGET_REMAINING, OBJECTIVE_MET):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, name, objective)
    for window in windows:
        with contextlib.suppress(KeyError):
            BURN_RATE.remove(namespace, name, window)
