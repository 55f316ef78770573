"""The demo's synthetic multi-tenant shop: one model for its history and its live metrics.

:func:`shop_scenario` describes the shop as a :class:`~testkit.synthetic.Scenario`
anchored at a time ``anchor`` (the moment the demo starts): services ``checkout``, ``catalog``
and ``chatbot`` serving tenants ``acme``, ``globex`` and ``initech``, a blackbox probe of the
catalog, incidents in the past (so the numbers tell a story at once) and one scripted live
incident a few minutes after the anchor. The demo backfills the part before the anchor with
promtool (:mod:`testkit.backfill`); this module's exporter serves the same
counters from the anchor on, so history and live data are one continuous series.

Run as a process, it is a real Prometheus exporter (``prometheus_client``)::

    python -m testkit.shop --port 9101 --anchor 1769904000

Every scrape reads the model at the wall clock: counters advance each ``interval`` (15 s) in
real time, exactly as the backfilled history did. Series (examples/*.yaml select them):

* ``http_requests_total{job, tenant, code}`` for every service;
* ``http_request_duration_seconds_bucket{job, tenant, le}`` with ``_count`` and ``_sum`` (buckets
  0.05 ... 1 and +Inf, so the chatbot's 150ms and 200ms thresholds are bucket bounds);
* ``probe_success{job="blackbox", target="catalog"}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Final

import prometheus_client
from prometheus_client import core, registry

from . import synthetic

logger = logging.getLogger(__name__)

INTERVAL: Final = 15
"""Seconds between the model's samples: its counters advance this often."""
HISTORY_DAYS: Final = 8
"""Days of history before the anchor: fills the 1d and 7d windows, a quarter of 30d."""
FUTURE_HOURS: Final = 48
"""Hours the exporter serves after the anchor; afterwards its counters stop (NoData follows)."""
TENANTS: Final = ("acme", "globex", "initech")


CHATBOT_LATENCY: Final = synthetic.LatencyProfile(
    normal=(0.70, 0.90, 0.975, 0.9999, 0.99995, 0.99998, 0.99999, 1.0)
)
"""A chatbot that normally keeps its objectives: 95% within 150ms (minimum: 90%), 99.7% within
200ms (standard: 99%, stretch: 99.5%) — until a latency incident."""


def _aligned(moment: int) -> int:
    return moment - moment % INTERVAL


def live_incident_start(anchor: int) -> int:
    """When the live checkout burst for acme begins: four minutes after the anchor."""
    return _aligned(anchor) + 4 * 60


def scripted_incidents(anchor: int) -> tuple[synthetic.Incident, ...]:
    """The shop's incidents: three in the past, one live."""
    anchor = _aligned(anchor)
    hour = synthetic.HOUR
    return (
        synthetic.Incident.error_burst(
            "acme-checkout-burst-3d-ago",
            _aligned(anchor - 3 * synthetic.DAY),
            30 * 60,
            0.1,
            jobs=("checkout",),
            tenants=("acme",),
        ),
        synthetic.Incident.outage(
            "catalog-outage-2d-ago",
            _aligned(anchor - 2 * synthetic.DAY),
            15 * 60,
            jobs=("catalog",),
        ),
        synthetic.Incident.latency_degradation(
            "chatbot-slow-5h-ago", _aligned(anchor - 5 * hour), hour // 2, 0.1, jobs=("chatbot",)
        ),
        synthetic.Incident.error_burst(
            "acme-checkout-burst-live",
            live_incident_start(anchor),
            10 * 60,
            0.3,
            jobs=("checkout",),
            tenants=("acme",),
        ),
    )


def shop_scenario(anchor: int, *, history_days: int = HISTORY_DAYS) -> synthetic.Scenario:
    """The shop from ``history_days`` before ``anchor`` to :data:`FUTURE_HOURS` after it.

    Deterministic: the demo's backfill and the exporter build the same scenario from the same
    anchor and so see the same counters.
    """
    anchor = _aligned(anchor)
    return synthetic.Scenario(
        start=anchor - history_days * synthetic.DAY,
        end=anchor + FUTURE_HOURS * synthetic.HOUR,
        interval=INTERVAL,
        seed=7,
        services=(
            synthetic.Service("checkout", peak_requests_per_second=30.0),
            synthetic.Service("catalog", peak_requests_per_second=20.0),
            synthetic.Service(
                "chatbot", peak_requests_per_second=10.0, error_ratio=0.001, latency=CHATBOT_LATENCY
            ),
        ),
        tenants=(
            synthetic.Tenant("acme", 0.5),
            synthetic.Tenant("globex", 0.3),
            synthetic.Tenant("initech", 0.2),
        ),
        probes=(synthetic.Probe("blackbox", "catalog", "catalog"),),
        incidents=scripted_incidents(anchor),
    )


def history(scenario: synthetic.Scenario, anchor: int) -> synthetic.Scenario:
    """The part of ``scenario`` before ``anchor`` (what the demo backfills)."""
    return dataclasses.replace(scenario, end=_aligned(anchor))


class ShopCollector(registry.Collector):
    """Exposes the model's series at the wall clock (clamped to the modelled range)."""

    def __init__(self, data: synthetic.SyntheticData) -> None:
        self.data = data

    def _index(self) -> int:
        scenario = self.data.scenario
        now = min(max(time.time(), scenario.start), scenario.end)
        return self.data.index_at(now)

    def collect(self) -> Iterator[core.Metric]:
        index = self._index()
        requests = core.CounterMetricFamily(
            "http_requests", "HTTP requests by code.", labels=["job", "tenant", "code"]
        )
        histograms: dict[tuple[str, str], dict[str, float]] = {}
        for series in self.data.counters:
            (value,) = series.exposed_values(index, index + 1)
            labels = series.label_map
            if series.name == synthetic.REQUESTS_METRIC:
                requests.add_metric([labels["job"], labels["tenant"], labels["code"]], value)
                continue
            key = (labels["job"], labels["tenant"])
            suffix = series.name.removeprefix(synthetic.LATENCY_METRIC)
            field = labels["le"] if suffix == "_bucket" else suffix
            histograms.setdefault(key, {})[field] = float(value)
        yield requests
        latency = core.HistogramMetricFamily(
            synthetic.LATENCY_METRIC, "HTTP request latency.", labels=["job", "tenant"]
        )
        for (job, tenant), fields in sorted(histograms.items()):
            buckets = [(le, count) for le, count in fields.items() if not le.startswith("_")]
            latency.add_metric([job, tenant], buckets, sum_value=fields["_sum"])
        yield latency
        probes = core.GaugeMetricFamily(
            synthetic.PROBE_METRIC, "Whether the probe succeeded.", labels=["job", "target"]
        )
        for gauge in self.data.gauges:
            labels = gauge.label_map
            probes.add_metric([labels["job"], labels["target"]], gauge.values[index])
        yield probes


def serve(port: int, anchor: int) -> None:
    """Generate the model and serve it on ``127.0.0.1:port`` until SIGTERM/SIGINT."""
    began = time.monotonic()
    data = synthetic.generate(shop_scenario(anchor))
    shop_registry = registry.CollectorRegistry(auto_describe=False)
    shop_registry.register(ShopCollector(data))
    server, thread = prometheus_client.start_http_server(
        port, addr="127.0.0.1", registry=shop_registry
    )
    logger.info(
        "shop serving %d series on http://127.0.0.1:%d/metrics (model built in %.1fs)",
        data.series_count,
        port,
        time.monotonic() - began,
    )
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    for handled in (signal.SIGTERM, signal.SIGINT):
        signal.signal(handled, on_signal)
    stopped.wait()
    server.shutdown()
    thread.join(5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testkit.shop",
        description="The demo shop's Prometheus exporter (checkout, catalog, chatbot).",
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--anchor", type=int, required=True, help="Unix time the demo started")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[shop] %(message)s", stream=sys.stderr)
    serve(args.port, args.anchor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
