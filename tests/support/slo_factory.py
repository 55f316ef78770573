"""Valid ServiceLevelObjective manifests of every shape, for the rule tests of every tier."""

from __future__ import annotations

import copy
from typing import Any

from slo_operator.api import slo

INDICATORS: dict[str, dict[str, Any]] = {
    "ratio-errors": {
        "ratio": {
            "errors": 'http_requests_total{job="api",code=~"5.."}',
            "total": 'http_requests_total{job="api"}',
        }
    },
    "ratio-good": {
        "ratio": {
            "good": 'http_requests_total{job="api",code!~"5.."}',
            "total": 'http_requests_total{job="api"}',
        }
    },
    "latency": {"latency": {"metric": 'http_request_duration_seconds{job="api"}'}},
    "boolGauge": {"boolGauge": {"metric": 'probe_success{job="blackbox"}'}},
}
METHODS = ("Occurrences", "Timeslices", "RatioTimeslices")
WINDOWS: dict[str, dict[str, Any]] = {
    "rolling-30d": {"window": "30d"},
    "rolling-1d": {"window": "1d"},
    "calendar-month": {"calendar": {"period": "Month", "timeZone": "Europe/Berlin"}},
}


def objectives(indicator: str, tiers: int) -> list[dict[str, Any]]:
    """`tiers` objectives; latency tiers use two thresholds, shared by the upper tiers."""
    rows: list[dict[str, Any]] = [
        {"name": "minimum", "target": 90.0, "threshold": "150ms"},
        {"name": "standard", "target": 99.0, "threshold": "200ms"},
        {"name": "stretch", "target": 99.5, "threshold": "200ms"},
    ][:tiers]
    if not indicator.startswith("latency"):
        for row in rows:
            del row["threshold"]
    return rows


def manifest(
    name: str = "api",
    namespace: str = "ns",
    indicator: str = "ratio-errors",
    method: str = "Occurrences",
    window: str = "rolling-30d",
    group_by: tuple[str, ...] = (),
    tiers: int = 1,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service": "api",
        "indicator": copy.deepcopy(INDICATORS[indicator]),
        **copy.deepcopy(WINDOWS[window]),
        "budgetingMethod": method,
        "objectives": objectives(indicator, tiers),
        "groupBy": list(group_by),
    }
    if method == "Timeslices":
        body["timeslice"] = {"duration": "5m", "target": 95}
    elif method == "RatioTimeslices":
        body["timeslice"] = {"duration": "5m"}
    body.update(spec)
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def job_availability(
    name: str, job: str, window: str, target: float = 99.0, **spec: Any
) -> dict[str, Any]:
    """An availability SLO on the synthetic `http_requests_total` of one job (5xx are errors),
    without a namespace; `spec` adds or replaces spec fields (e.g. `groupBy`)."""
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name},
        "spec": {
            "service": job,
            "indicator": {
                "ratio": {
                    "errors": f'http_requests_total{{job="{job}",code=~"5.."}}',
                    "total": f'http_requests_total{{job="{job}"}}',
                }
            },
            "window": window,
            "objectives": [{"name": "standard", "target": target}],
            **spec,
        },
    }


def build(**kwargs: Any) -> slo.ServiceLevelObjective:
    return slo.ServiceLevelObjective.model_validate(manifest(**kwargs))
