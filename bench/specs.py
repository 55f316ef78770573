"""The same SLOs, written for each tool: our manifests, Sloth's YAML spec, Pyrra's SLO.

One :class:`BenchSlo` says what to measure; :func:`our_manifest`, :func:`sloth_spec` and
:func:`pyrra_slo` write it in each tool's own input format, with the same selectors, target and
window, and each tool's default alerting. The benchmark then asks each tool for its rules
(our renderer, ``sloth generate``, and :mod:`bench.pyrra` for Pyrra) and measures them on the same
data. :func:`truth_selectors` gives the selectors the ground truth is computed from.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from slo_operator.api import slo

NAMESPACE = "bench"


@dataclasses.dataclass(frozen=True)
class BenchSlo:
    """One SLO as the benchmark means it, before any tool's syntax."""

    name: str
    job: str
    kind: Literal["availability", "latency"]
    target: float
    """Percent."""
    window_days: int = 30
    threshold_seconds: float = 0.2
    """Latency SLOs: a request is good when it took at most this long (a bucket boundary)."""

    @property
    def le(self) -> str:
        """The ``le`` label of the threshold's bucket, as the Go client writes it."""
        return f"{self.threshold_seconds:g}"

    @property
    def total(self) -> str:
        if self.kind == "availability":
            return f'http_requests_total{{job="{self.job}"}}'
        return f'http_request_duration_seconds_count{{job="{self.job}"}}'

    @property
    def errors(self) -> str:
        """Availability: the bad-event selector."""
        return f'http_requests_total{{job="{self.job}",code=~"5.."}}'

    @property
    def good(self) -> str:
        """Latency: the good-event selector (the threshold's bucket)."""
        return f'http_request_duration_seconds_bucket{{job="{self.job}",le="{self.le}"}}'


SINGLE = (BenchSlo("checkout-availability", "checkout", "availability", 99.9),)
"""The headline case: one availability SLO over 30d whose selectors match 100 raw series."""

MULTI = (
    BenchSlo("checkout-availability", "checkout", "availability", 99.9),
    BenchSlo("checkout-latency", "checkout", "latency", 99.5, threshold_seconds=1.0),
    BenchSlo("chatbot-availability", "chatbot", "availability", 99.5),
    BenchSlo("chatbot-latency", "chatbot", "latency", 99.0, threshold_seconds=0.5),
)
"""A set of four SLOs on two services: availability and latency, different targets."""


def truth_selectors(item: BenchSlo) -> dict[str, str]:
    """Keyword arguments for ``SyntheticData.counts``: ``total`` and ``bad`` or ``good``."""
    if item.kind == "availability":
        return {"total": item.total, "bad": item.errors}
    return {"total": item.total, "good": item.good}


def our_manifest(item: BenchSlo) -> dict[str, Any]:
    """A ServiceLevelObjective manifest (default alerting: page and ticket, no-data)."""
    if item.kind == "availability":
        indicator: dict[str, Any] = {"ratio": {"errors": item.errors, "total": item.total}}
        objective: dict[str, Any] = {"name": "standard", "target": item.target}
    else:
        indicator = {"latency": {"metric": f'http_request_duration_seconds{{job="{item.job}"}}'}}
        threshold = f"{round(item.threshold_seconds * 1000)}ms"
        objective = {"name": "standard", "target": item.target, "threshold": threshold}
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": item.name, "namespace": NAMESPACE},
        "spec": {
            "service": item.job,
            "indicator": indicator,
            "window": f"{item.window_days}d",
            "objectives": [objective],
        },
    }


def our_model(item: BenchSlo) -> slo.ServiceLevelObjective:
    return slo.ServiceLevelObjective.model_validate(our_manifest(item))


def sloth_spec(service: str, items: list[BenchSlo]) -> dict[str, Any]:
    """A Sloth ``prometheus/v1`` spec for the SLOs of one service (Sloth's default 30d window
    and default alert windows; page and ticket alerts as in its examples)."""
    slos = []
    for item in items:
        if item.window_days != 30:
            raise ValueError("Sloth's default alert windows are for 30 days")
        window = "[{{.window}}]"
        total = f"sum(rate({item.total}{window}))"
        if item.kind == "availability":
            error = f"sum(rate({item.errors}{window}))"
        else:
            error = f"({total} - sum(rate({item.good}{window})))"
        slos.append(
            {
                "name": item.name.removeprefix(f"{service}-"),
                "objective": item.target,
                "sli": {"events": {"error_query": error, "total_query": total}},
                "alerting": {
                    "name": f"{item.name.title().replace('-', '')}Burn",
                    "page_alert": {"labels": {"severity": "critical"}},
                    "ticket_alert": {"labels": {"severity": "warning"}},
                },
            }
        )
    return {"version": "prometheus/v1", "service": service, "slos": slos}


def pyrra_slo(item: BenchSlo) -> dict[str, Any]:
    """A Pyrra ServiceLevelObjective (pyrra.dev/v1alpha1) with its default alerting."""
    if item.kind == "availability":
        indicator: dict[str, Any] = {
            "ratio": {"errors": {"metric": item.errors}, "total": {"metric": item.total}}
        }
    else:
        indicator = {"latency": {"success": {"metric": item.good}, "total": {"metric": item.total}}}
    return {
        "apiVersion": "pyrra.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": item.name, "namespace": NAMESPACE},
        "spec": {
            "target": f"{item.target:g}",
            "window": f"{item.window_days}d",
            "indicator": indicator,
        },
    }
