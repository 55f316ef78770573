"""The operator's own Prometheus metrics."""

from __future__ import annotations

import http.server
import threading

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


class _MetricsHandler(http.server.BaseHTTPRequestHandler):
    """`GET` on any path: the metrics page (`evaluation.metrics.exposition`), in the format the
    scraper asks for, as prometheus_client's own server would choose it, gzipped when the
    scraper accepts it (Prometheus does)."""

    def do_GET(self) -> None:
        gzipped = "gzip" in self.headers.get("Accept-Encoding", "")
        body, content_type = evaluation_metrics.exposition(
            self.headers.get("Accept", ""), gzipped=gzipped
        )
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes are not logged (one line every few seconds)."""


def serve(port: int) -> http.server.ThreadingHTTPServer:
    """Expose the metrics on `:port/metrics` in a background thread; returns the server."""
    server = http.server.ThreadingHTTPServer(("", port), _MetricsHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
