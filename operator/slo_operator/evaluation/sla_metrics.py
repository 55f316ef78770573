"""Per-SLA gauges: attainment and projection per commitment, credit owed per SLA.

Rendered at scrape time from the evaluator's latest numbers, like `metrics.SloNumbers`, and
served with them (`metrics.exposition`); an SLA's series go when the SLA does. The dashboards
read these names (`dashboards.grafana.SLA_ATTAINMENT`, ...).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from . import metrics

COMMITMENT_LABELS = ("namespace", "name", "commitment")


class SlaNumbers(metrics.ObjectNumbers):
    """The current period's numbers of every SLA, as the evaluator last measured them."""

    def set(
        self,
        namespace: str,
        name: str,
        commitments: list[tuple[str, float | None, float | None]],
        credit_percent: float | None,
    ) -> None:
        """`commitments`: (name, attainment percent, projected percent); None: no events."""
        self._put(namespace, name, (commitments, credit_percent))

    def collect(self) -> Iterator[Metric]:
        attainment, projected, credit = self._families()
        for (namespace, name), (commitments, credit_percent) in list(self._numbers.items()):
            for commitment, attained, projection in commitments:
                labels = [namespace, name, commitment]
                if attained is not None:
                    attainment.add_metric(labels, attained)
                if projection is not None:
                    projected.add_metric(labels, projection)
            if credit_percent is not None:
                credit.add_metric([namespace, name], credit_percent)
        return iter((attainment, projected, credit))

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "slo_operator_sla_attainment_percent",
                "Attainment of an SLA commitment over the current period so far, percent "
                "(maintenance excluded).",
                labels=COMMITMENT_LABELS,
            ),
            GaugeMetricFamily(
                "slo_operator_sla_projected_attainment_percent",
                "Attainment of an SLA commitment projected to the end of the current period.",
                labels=COMMITMENT_LABELS,
            ),
            GaugeMetricFamily(
                "slo_operator_sla_credit_percent",
                "Service credit the current period owes so far, by the worst commitment.",
                labels=("namespace", "name"),
            ),
        )


SLA_NUMBERS = SlaNumbers()
metrics.OBJECT_NUMBERS.append(SLA_NUMBERS)
