"""Synthetic traffic for the examples' services, for the tiers that run the operator on them."""

from __future__ import annotations

from testkit import synthetic


def examples_scenario(end: int, seed: int) -> synthetic.Scenario:
    """The examples' services (checkout, chatbot, catalog) and the catalog probe over the 36
    hours before ``end``, with a 30-minute 5% error burst on checkout six hours before it."""
    start = end - 36 * 3600
    return synthetic.Scenario(
        start=start,
        end=end,
        interval=30,
        seed=seed,
        services=(
            synthetic.Service("checkout", peak_requests_per_second=20.0),
            synthetic.Service("chatbot", peak_requests_per_second=10.0, error_ratio=0.001),
            synthetic.Service("catalog", peak_requests_per_second=10.0),
        ),
        tenants=(synthetic.Tenant("acme", 0.5), synthetic.Tenant("globex", 0.5)),
        probes=(synthetic.Probe("blackbox", "catalog", "catalog"),),
        incidents=(
            synthetic.Incident.error_burst(
                "checkout-burst", end - 6 * 3600, 1800, 0.05, jobs=("checkout",)
            ),
        ),
    )
