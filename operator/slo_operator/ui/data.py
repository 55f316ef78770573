"""What an SLO page needs beyond the status, read server-side through the configured backends.

The browser never talks to a backend: the burn-down and burn-rate series come from the range
queries of `slo-operator report` (`report.gather`), ending at the status' `lastEvaluationTime`
so a chart ends on the numbers the page shows; firing alerts from the `ALERTS` series of the
SLO's generated alerting rules. Results are kept per SLO until its next evaluation, so reloading
a page costs no query. A backend that fails or is not allowed gives a note, never a number.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import logging
from collections.abc import Mapping
from typing import Any

from .. import errors
from ..api import slo, times
from ..backends import backend_config, client
from ..report import gather
from ..rules import series
from . import pages

logger = logging.getLogger(__name__)

CACHE_SIZE = 256
"""SLO pages whose chart series are kept (each a few thousand points)."""
ALERTS_TTL_SECONDS = 15.0
"""Firing alerts change between evaluations: asked again after this long."""


class Extras:
    """Chart series and firing alerts for SLO pages, through the operator's backends."""

    def __init__(self, backends: backend_config.Backends | None) -> None:
        self.backends = backends
        self._clients: dict[str, gather.RangeBackend] = {}
        self._charts: collections.OrderedDict[tuple[Any, ...], pages.SloExtras] = (
            collections.OrderedDict()
        )
        self._alerts: dict[tuple[str, str], tuple[float, list[dict[str, str]]]] = {}
        self._lock = asyncio.Lock()

    def _backend(self, resource: slo.ServiceLevelObjective) -> gather.RangeBackend:
        """The backend the operator evaluates this SLO with; BackendNotAllowed if none may."""
        if not self.backends:
            raise errors.BackendNotAllowed(
                resource.spec.backend or backend_config.DEFAULT_BACKEND,
                resource.namespace,
                "no metrics backend configured (--prometheus-url, --backends-file)",
            )
        chosen = self.backends.resolve(resource.spec.backend, resource.namespace)
        if chosen.name not in self._clients:
            self._clients[chosen.name] = gather.RangeBackend(client.PrometheusBackend(chosen))
        return self._clients[chosen.name]

    async def for_slo(
        self, resource: slo.ServiceLevelObjective, status: Mapping[str, Any], now: float
    ) -> pages.SloExtras:
        """Charts (cached until the next evaluation) and firing alerts (cached briefly)."""
        try:
            backend = self._backend(resource)
        except errors.SLOError as error:
            return pages.SloExtras(chart_note=str(error), alerts_note=str(error))
        charts = await self._chart_series(backend, resource, status)
        alerts, alerts_note = await self._firing(backend, resource, now)
        return pages.SloExtras(
            report=charts.report,
            chart_note=charts.chart_note,
            alerts=alerts,
            alerts_note=alerts_note,
        )

    async def _chart_series(
        self,
        backend: gather.RangeBackend,
        resource: slo.ServiceLevelObjective,
        status: Mapping[str, Any],
    ) -> pages.SloExtras:
        evaluated = status.get("lastEvaluationTime")
        if not evaluated:
            return pages.SloExtras(chart_note="not evaluated yet")
        key = (
            resource.namespace,
            resource.name,
            resource.spec.model_dump_json(),
            evaluated,
            status.get("windowStart"),
        )
        async with self._lock:
            cached = self._charts.get(key)
            if cached is not None:
                self._charts.move_to_end(key)
                return cached
        try:
            report = await gather.slo_report(
                backend, resource, status, times.parse_timestamp(evaluated), None
            )
            found = pages.SloExtras(report=report)
        except errors.BackendUnavailable as error:
            # Not cached: the next page view asks again.
            return pages.SloExtras(chart_note=str(error))
        async with self._lock:
            self._charts[key] = found
            while len(self._charts) > CACHE_SIZE:
                self._charts.popitem(last=False)
        return found

    async def _firing(
        self, backend: gather.RangeBackend, resource: slo.ServiceLevelObjective, now: float
    ) -> tuple[list[dict[str, str]] | None, str]:
        key = (resource.namespace, resource.name)
        cached = self._alerts.get(key)
        if cached is not None and now - cached[0] < ALERTS_TTL_SECONDS:
            return cached[1], ""
        selector = series.selector(
            "ALERTS", {**series.identity_labels(resource), "alertstate": "firing"}
        )
        query = client.Query(selector, datetime.datetime.fromtimestamp(now, datetime.UTC))
        try:
            async with backend.limit:
                samples = await asyncio.to_thread(backend.backend.query_sync, query)
        except errors.BackendUnavailable as error:
            return None, str(error)
        firing = sorted(
            (dict(sample.labels) for sample in samples),
            key=lambda labels: (labels.get("alertname", ""), labels.get("slo_window", "")),
        )
        self._alerts[key] = (now, firing)
        return firing, ""
