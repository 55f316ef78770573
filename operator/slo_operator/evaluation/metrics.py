"""The operator's own Prometheus metrics: per-SLO numbers and the health of the loop.

`REGISTRY` is the one registry the operator serves (`kube.metrics` registers its reconcile
metrics on it too). Per-SLO series are removed when their SLO goes away, so a deleted SLO does
not linger on dashboards.
"""

from __future__ import annotations

from collections.abc import Iterator

import prometheus_client
from prometheus_client.core import GaugeMetricFamily, Metric

REGISTRY = prometheus_client.CollectorRegistry()

SLO_LABELS = ("namespace", "name", "objective")


class SloNumbers:
    """The per-SLO gauges, built at scrape time from the loop's latest numbers.

    A `Gauge` child per SLO, objective and window costs about 650 bytes: 10,000 SLOs would hold
    80 MB of metric objects between scrapes. This collector keeps the numbers the loop already
    computed and renders them only when scraped.
    """

    def __init__(self) -> None:
        self._numbers: dict[
            tuple[str, str],
            tuple[list[tuple[str, float, float, bool, float]], dict[str, float]],
        ] = {}

    def set(
        self,
        namespace: str,
        name: str,
        objectives: list[tuple[str, float, float, bool, float]],
        burn_rates: dict[str, float],
    ) -> None:
        """`objectives`: (name, SLI percent, budget remaining percent, met, target percent)
        per objective."""
        self._numbers[(namespace, name)] = (objectives, burn_rates)

    def forget(self, namespace: str, name: str) -> None:
        self._numbers.pop((namespace, name), None)

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        sli, budget, met, target, burn = self._families()
        for (namespace, name), (objectives, burn_rates) in list(self._numbers.items()):
            for objective, sli_percent, budget_percent, objective_met, percent in objectives:
                labels = [namespace, name, objective]
                sli.add_metric(labels, sli_percent)
                budget.add_metric(labels, budget_percent)
                met.add_metric(labels, 1.0 if objective_met else 0.0)
                target.add_metric(labels, percent)
            for window, rate in burn_rates.items():
                burn.add_metric([namespace, name, window], rate)
        return iter((sli, budget, met, target, burn))

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "slo_operator_slo_sli_percent",
                "Measured SLI of an objective over its window, percent.",
                labels=SLO_LABELS,
            ),
            GaugeMetricFamily(
                "slo_operator_slo_error_budget_remaining_percent",
                "Error budget left of an objective, percent (negative when overspent).",
                labels=SLO_LABELS,
            ),
            GaugeMetricFamily(
                "slo_operator_slo_objective_met",
                "1 when the objective's SLI reaches its target, else 0.",
                labels=SLO_LABELS,
            ),
            GaugeMetricFamily(
                "slo_operator_slo_target_percent",
                "Target of an objective, percent (the dashboards' Target column).",
                labels=SLO_LABELS,
            ),
            GaugeMetricFamily(
                "slo_operator_slo_burn_rate",
                "Burn rate of the primary objective's budget at an alert window.",
                labels=("namespace", "name", "window"),
            ),
        )


SLO_NUMBERS = SloNumbers()
REGISTRY.register(SLO_NUMBERS)

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
