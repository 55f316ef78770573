"""The one synthetic data set every Prometheus benchmark reads, and the instants it looks at.

Two services (``checkout``, ``chatbot``) with 25 tenants each, scraped every minute for 32 days:
``http_requests_total{job="checkout"}`` is 100 series (25 tenants x 4 codes), the size the
product's cost claim is stated for. Traffic swings 20x between the 15:00 UTC peak and the 03:00
trough; incidents sit at a peak and at a trough (so averaging ratios over- or understates them),
there is an outage, a slow burn on one tenant, latency degradations and counter resets. The data
and its ground truth come from :mod:`testkit.synthetic`.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from testkit import synthetic

DAY: Final = synthetic.DAY
HOUR: Final = synthetic.HOUR
MINUTE: Final = 60

END: Final = 1_793_491_200
"""2026-11-01T00:00:00Z: the last sample (fixed, so the cached blocks are reused)."""
DAYS: Final = 32
TENANTS: Final = 25


def scenario(*, tenants: int = TENANTS, days: int = DAYS, end: int = END) -> synthetic.Scenario:
    """The benchmark scenario; ``tenants``/``days`` shrink it for the smoke test."""
    start = end - days * DAY
    skeleton = synthetic.Scenario(start=start, end=end, interval=MINUTE)
    day0 = start - start % DAY
    last = days - 1

    def at(day: int, hour: float) -> int:
        moment = day0 + day * DAY + round(hour * HOUR)
        return moment - moment % MINUTE

    def day_back(days_before_end: int) -> int:
        return max(1, last - days_before_end)

    checkout = ("checkout",)
    chatbot = ("chatbot",)
    names = [f"tenant-{k:02d}" for k in range(tenants)]
    incidents = (
        synthetic.Incident.error_burst(
            "checkout-burst-at-peak",
            skeleton.peak_time(day_back(20)) - 30 * MINUTE,
            HOUR,
            0.2,
            jobs=checkout,
        ),
        synthetic.Incident.error_burst(
            "checkout-burst-at-trough",
            skeleton.trough_time(day_back(14)) - 30 * MINUTE,
            HOUR,
            0.2,
            jobs=checkout,
        ),
        synthetic.Incident.outage(
            "checkout-outage", at(day_back(9), 9), 30 * MINUTE, jobs=checkout
        ),
        synthetic.Incident.error_burst(
            "checkout-slow-burn", at(day_back(6), 0), 2 * DAY, 0.004, jobs=checkout
        ),
        synthetic.Incident.error_burst(
            "chatbot-burst-at-trough",
            skeleton.trough_time(day_back(17)) - 30 * MINUTE,
            2 * HOUR,
            0.3,
            jobs=chatbot,
        ),
        synthetic.Incident.latency_degradation(
            "chatbot-slow-at-peak",
            skeleton.peak_time(day_back(12)) - 30 * MINUTE,
            HOUR,
            1.0,
            jobs=chatbot,
        ),
        synthetic.Incident.latency_degradation(
            "chatbot-slow-at-trough",
            skeleton.trough_time(day_back(4)) - 60 * MINUTE,
            2 * HOUR,
            1.0,
            jobs=chatbot,
        ),
    )
    return dataclasses.replace(
        skeleton,
        seed=20261127,
        services=(
            synthetic.Service("checkout", peak_requests_per_second=100.0),
            synthetic.Service("chatbot", peak_requests_per_second=40.0, error_ratio=0.001),
        ),
        tenants=tuple(synthetic.Tenant(name, 1 / tenants) for name in names),
        incidents=incidents,
        resets=(
            synthetic.CounterReset(at(day_back(18), 12), "checkout"),
            synthetic.CounterReset(at(day_back(8), 7.5), "chatbot", (names[0],)),
        ),
    )


def describe(scenario: synthetic.Scenario) -> dict[str, object]:
    """What the report says about the data set."""
    return {
        "start": scenario.start,
        "end": scenario.end,
        "days": (scenario.end - scenario.start) // DAY,
        "interval_seconds": scenario.interval,
        "services": [
            {
                "job": service.job,
                "peak_requests_per_second": service.peak_requests_per_second,
                "error_ratio": service.error_ratio,
            }
            for service in scenario.services
        ],
        "tenants": len(scenario.tenants),
        "series": len(scenario.services) * len(scenario.tenants) * 14 + len(scenario.probes),
        "incidents": [
            {
                "name": incident.name,
                "start": incident.start,
                "end": incident.end,
                "jobs": list(incident.jobs),
                "error_ratio": incident.error_ratio,
                "degraded_ratio": incident.degraded_ratio,
            }
            for incident in scenario.incidents
        ],
        "resets": [{"at": reset.at, "job": reset.job} for reset in scenario.resets],
    }
