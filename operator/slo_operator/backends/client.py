"""Instant queries against a Prometheus-compatible backend, off the event loop.

`prometheus-api-client` is synchronous (requests); every query runs in a worker thread with
`asyncio.to_thread`, and a batch runs its queries concurrently, bounded by `concurrency`. Any
failure of any query of a batch is one `errors.BackendUnavailable`: the evaluation then keeps the
last good values of every object on that backend instead of writing half a cycle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import math
import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import prometheus_api_client
import requests
from prometheus_api_client import exceptions as prometheus_exceptions
from urllib3.util import retry as urllib3_retry

from .. import errors
from . import backend_config


@dataclasses.dataclass(frozen=True)
class Query:
    """One instant query; equal queries of different objects are sent once."""

    promql: str
    at: datetime.datetime
    """Evaluation time (the `time` parameter)."""


@dataclasses.dataclass(frozen=True)
class Sample:
    """One series of an instant vector."""

    labels: Mapping[str, str]
    value: float


@dataclasses.dataclass(frozen=True)
class RangeQuery:
    """One range query: `promql` at every `step_seconds` from `start` to `end` inclusive."""

    promql: str
    start: datetime.datetime
    end: datetime.datetime
    step_seconds: float


@dataclasses.dataclass(frozen=True)
class RangeSeries:
    """One series of a range vector: (Unix seconds, value) points in time order."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


def _read(path: str) -> str:
    return pathlib.Path(path).read_text().strip()


class PrometheusBackend:
    """A client for one configured backend."""

    def __init__(self, backend: backend_config.BackendConfig) -> None:
        self.config = backend
        self.queries_sent = 0
        """Queries sent since creation (for benchmarks and metrics)."""
        session = requests.Session()
        if backend.ca_file:
            session.verify = backend.ca_file
        elif backend.insecure_skip_verify:
            session.verify = False
        # One quick retry for a dropped connection; a backend that is down must fail fast so the
        # cycle ends on time (the loop retries next cycle anyway). No retry after a read timeout:
        # a slow backend would hold the cycle for twice its timeout.
        retry = urllib3_retry.Retry(
            total=1,
            read=0,
            backoff_factor=0.2,
            status_forcelist=(502, 503, 504),
            allowed_methods=None,
        )
        session.hooks["response"].append(_refuse_partial_response)
        self._client = prometheus_api_client.PrometheusConnect(
            url=backend.url.rstrip("/"),
            session=session,
            retry=retry,
            timeout=backend.timeout_seconds,
            # POST: batched queries with many label values would exceed URL length limits.
            method="POST",
        )

    @property
    def name(self) -> str:
        return self.config.name

    def _auth(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        headers = dict(self.config.headers)
        auth = None
        if self.config.bearer_token_file:
            headers["Authorization"] = f"Bearer {_read(self.config.bearer_token_file)}"
        if self.config.basic_auth:
            auth = (
                _read(self.config.basic_auth.username_file),
                _read(self.config.basic_auth.password_file),
            )
        return headers, auth

    def query_sync(self, query: Query) -> list[Sample]:
        """Run one instant query; BackendUnavailable on any failure."""
        try:
            headers, auth = self._auth()
            self._client.headers = headers
            self._client.auth = auth
            self.queries_sent += 1
            result: list[dict[str, Any]] = self._client.custom_query(
                query.promql,
                params={**self.config.query_parameters, "time": f"{query.at.timestamp():.3f}"},
            )
        except (requests.RequestException, ValueError) as error:
            # Before OSError: requests' exceptions are OSErrors too.
            raise errors.BackendUnavailable(self.name, _short(error)) from None
        except OSError as error:  # unreadable secret files
            raise errors.BackendUnavailable(
                self.name, f"cannot read credentials: {error}"
            ) from None
        except prometheus_exceptions.PrometheusApiClientException as error:
            raise errors.BackendUnavailable(self.name, _short(error)) from None
        return [_sample(item) for item in result]

    def query_range_sync(self, query: RangeQuery) -> list[RangeSeries]:
        """Run one range query (`slo-operator report`'s charts); BackendUnavailable on failure."""
        try:
            headers, auth = self._auth()
            self._client.headers = headers
            self._client.auth = auth
            self.queries_sent += 1
            result: list[dict[str, Any]] = self._client.custom_query_range(
                query.promql,
                start_time=query.start,
                end_time=query.end,
                step=f"{query.step_seconds:g}",
                params=dict(self.config.query_parameters),
            )
        except (requests.RequestException, ValueError) as error:
            raise errors.BackendUnavailable(self.name, _short(error)) from None
        except OSError as error:
            raise errors.BackendUnavailable(
                self.name, f"cannot read credentials: {error}"
            ) from None
        except prometheus_exceptions.PrometheusApiClientException as error:
            raise errors.BackendUnavailable(self.name, _short(error)) from None
        return [_range_series(item) for item in result]

    async def query(self, query: Query) -> list[Sample]:
        return await asyncio.to_thread(self.query_sync, query)

    async def query_all(
        self, queries: Iterable[Query], concurrency: int = 4
    ) -> dict[Query, list[Sample]]:
        """Every distinct query once, `concurrency` at a time; the first failure fails all."""
        distinct = list(dict.fromkeys(queries))
        semaphore = asyncio.Semaphore(concurrency)

        async def bounded(query: Query) -> list[Sample]:
            async with semaphore:
                return await self.query(query)

        results = await asyncio.gather(*(bounded(query) for query in distinct))
        return dict(zip(distinct, results, strict=True))


class PartialResponse(requests.RequestException):
    """The backend answered with warnings (Thanos' partial response, a failed remote read):
    some data is missing, so the answer is not a measurement."""


def _refuse_partial_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    if response.status_code == 200 and b'"warnings"' in response.content:
        warnings = response.json().get("warnings")
        if warnings:
            raise PartialResponse("partial response: " + "; ".join(map(str, warnings)))


def _sample(item: Mapping[str, Any]) -> Sample:
    # The decoded JSON's label map is used as is: copying 100,000 of them per cycle would double
    # the memory a big batch holds.
    labels: Mapping[str, str] = item.get("metric") or {}
    _, text = item.get("value", (0, "NaN"))
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    return Sample(labels=labels, value=value)


def _range_series(item: Mapping[str, Any]) -> RangeSeries:
    points = []
    for stamp, text in item.get("values") or ():
        try:
            value = float(text)
        except (TypeError, ValueError):
            value = math.nan
        points.append((float(stamp), value))
    return RangeSeries(labels=item.get("metric") or {}, points=tuple(points))


def _short(error: BaseException) -> str:
    """A one-line cause for a condition message: urllib3's innermost reason (`too many 503
    error responses`, `Connection refused`, `Read timed out`), without the request's URL."""
    text = str(error).replace("\n", " ")
    if "Caused by " in text:
        text = text.split("Caused by ")[-1].strip("() ")
    if isinstance(error, requests.ConnectionError):
        text = "connection failed: " + text
    return text[:300]
