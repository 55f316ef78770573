"""When a recorded series last got a point, read the same way on every engine."""

from __future__ import annotations

from testkit import prometheus


def last_point_time(server: prometheus.PrometheusAPI, selector: str, at: float) -> float:
    """The time of the newest raw point of `selector` at or before `at` (within 10 minutes).

    Not `max(timestamp(x))`: Prometheus answers with the sample's own time, VictoriaMetrics with
    the query's time (its `timestamp()` stamps each point it returns), which shifted every
    window the tests derive from it by up to a minute there."""
    points = [
        stamp
        for series in server.query_matrix(f"{selector}[10m]", at)
        for stamp in series.timestamps
    ]
    assert points, f"no point of {selector} in the 10 minutes before {at}"
    return max(points)
