"""The operator's own Prometheus metrics: per-SLO numbers and the health of the loop.

`REGISTRY` holds the operator's health metrics (`kube.metrics` registers its reconcile metrics on
it too); the per-object numbers (`SLO_NUMBERS`, and `sla_metrics.SLA_NUMBERS`) are kept apart,
in `OBJECT_NUMBERS`, with their text cached between changes. `exposition` is what `/metrics`
serves: both. Per-SLO series are removed when their SLO goes away, so a deleted SLO does not
linger on dashboards.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from typing import Any

import prometheus_client
from prometheus_client import exposition as prometheus_exposition
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = prometheus_client.CollectorRegistry()

SLO_LABELS = ("namespace", "name", "objective")

_OPENMETRICS_END = b"# EOF\n"


class ObjectNumbers(Collector):
    """Numbers per object (SLO or SLA), kept from the last cycle and rendered when scraped.

    With 10,000 SLOs the page has about 120,000 samples: formatting them took 1.6 s of CPU per
    scrape, and over 10 s while a cycle held the interpreter (longer than Prometheus' default
    scrape timeout). The text is therefore kept per format until a number changes; in the steady
    state, where cycles find the same numbers, a scrape costs nothing.
    """

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str], Any] = {}
        self._version = 0
        self._texts: dict[tuple[str, bool], tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def _put(self, namespace: str, name: str, value: Any) -> None:
        key = (namespace, name)
        if self._numbers.get(key) != value:
            self._numbers[key] = value
            self._version += 1

    def forget(self, namespace: str, name: str) -> None:
        if self._numbers.pop((namespace, name), None) is not None:
            self._version += 1

    def text(
        self, encoder: Callable[[Collector], bytes], content_type: str, *, gzipped: bool = False
    ) -> bytes:
        """The families in `encoder`'s format, without OpenMetrics' end marker; `gzipped`: as
        one gzip member."""
        with self._lock:  # one rendering at a time; concurrent scrapes share it
            version = self._version
            kept = self._texts.get((content_type, gzipped))
            if kept is not None and kept[0] == version:
                return kept[1]
            text = _packed(encoder(self).removesuffix(_OPENMETRICS_END), gzipped)
            self._texts[(content_type, gzipped)] = (version, text)
            return text

    def describe(self) -> Iterator[Metric]:
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        raise NotImplementedError

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        raise NotImplementedError


class SloNumbers(ObjectNumbers):
    """The per-SLO gauges, built at scrape time from the loop's latest numbers.

    A `Gauge` child per SLO, objective and window costs about 650 bytes: 10,000 SLOs would hold
    80 MB of metric objects between scrapes. This collector keeps the numbers the loop already
    computed and renders them only when scraped.
    """

    def set(
        self,
        namespace: str,
        name: str,
        objectives: list[tuple[str, float, float, bool, float]],
        burn_rates: dict[str, float],
    ) -> None:
        """`objectives`: (name, SLI percent, budget remaining percent, met, target percent)
        per objective."""
        self._put(namespace, name, (objectives, burn_rates))

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
OBJECT_NUMBERS: list[ObjectNumbers] = [SLO_NUMBERS]
"""Served beside `REGISTRY` by `exposition` (`sla_metrics` adds the SLAs')."""


def exposition(accept: str = "", *, gzipped: bool = False) -> tuple[bytes, str]:
    """The `/metrics` page for an HTTP `Accept` header, and its content type: the format
    prometheus_client would choose, `REGISTRY`'s metrics then every object's numbers.

    `gzipped`: the page as consecutive gzip members, which gzip readers (Go's, Python's) read as
    one stream; the objects' members are compressed once per change, like their text (10 MB of
    text at 10,000 SLOs took 0.3 s of CPU to compress)."""
    encoder, content_type = prometheus_exposition.choose_encoder(accept)
    health = encoder(REGISTRY)
    openmetrics = health.endswith(_OPENMETRICS_END)
    parts = [_packed(health.removesuffix(_OPENMETRICS_END) if openmetrics else health, gzipped)]
    parts += [numbers.text(encoder, content_type, gzipped=gzipped) for numbers in OBJECT_NUMBERS]
    if openmetrics:
        parts.append(_packed(_OPENMETRICS_END, gzipped))
    return b"".join(parts), content_type


def _packed(text: bytes, gzipped: bool) -> bytes:
    return gzip.compress(text, compresslevel=6) if gzipped else text


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
