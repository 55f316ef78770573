"""Deterministic synthetic metrics with exact ground truth, for tests against a real Prometheus.

A :class:`Scenario` describes services, tenants, probes and incidents over a time range; the
function :func:`generate` turns it into integer event counts per scrape interval, drawn from
``random.Random`` seeded per series group, and keeps them as cumulative arrays. The same arrays
answer ground-truth questions (:class:`SyntheticData`) and feed the OpenMetrics writer
(:mod:`testkit.backfill`), so the truth never depends on Prometheus.

Series (labels as a Go client would expose them):

* ``http_requests_total{job, tenant, code}`` — counters, codes ``200 404 500 503`` by default.
* ``http_request_duration_seconds_bucket{job, tenant, le}`` plus ``_count`` and ``_sum`` — a
  classic histogram. ``le`` is formatted like the Go client (``strconv.FormatFloat(b, 'g', -1,
  64)``): ``"0.05"``, ``"0.15"``, ``"1"``, ``"+Inf"`` (see :func:`format_le`). ``_count`` equals
  the ``+Inf`` bucket and the sum of the code counters of the same ``job``/``tenant``.
* ``probe_success{job, target}`` — a 0/1 gauge.

Time model — read this before asking for truth:

* Samples sit at ``start + k * interval`` for ``k = 0 .. sample_count - 1``; ``end`` is the last
  sample, inclusive. Times are Unix seconds; ``start`` and ``end`` are multiples of the interval.
* An event is *stamped* with the timestamp of the first sample whose counter value includes it:
  events stamped at ``t`` happened in ``(t - interval, t]``. Nothing is stamped at ``start``; the
  counters start at a non-zero offset standing for history before the scenario.
* Counter truth over ``(a, b]`` is the sum of events stamped at sample times ``a < t <= b``,
  i.e. the counter difference between the last samples at or before ``a`` and ``b`` (resets
  accounted for). ``a`` and ``b`` may be any times inside ``[start, end]``.
* Prometheus 2.42 range selectors include both ends: ``x[w]`` at ``T`` holds samples in
  ``[T - w, T]``. When ``T`` and ``T - w`` are sample times, ``increase(x[w])`` at ``T`` sees a
  sample on each edge, does not extrapolate, and equals ``increase(selector, T - w, T)`` here
  exactly (proven in ``tests/integration/test_synthetic_backfill.py``). At other times (a rule
  group's evaluation offset, for one) Prometheus extrapolates and the difference is its
  estimation error, not ours.
* Gauge truth counts samples; ``closed="right"`` counts ``a < t <= b`` (slices that tile a range),
  ``closed="both"`` counts ``a <= t <= b`` like ``count_over_time(x[b - a])`` at ``b``.

Incidents (:class:`Incident`) change what happens to events stamped in ``(start, end]``; a
:class:`CounterReset` at ``at`` restarts every counter of a job (and tenants): the process served
nothing in ``(at - interval, at]`` and its counters read 0 at ``at``, so Prometheus sees every
reset (the value drops) or loses nothing (it was already 0) — the truth stays exact.
"""

from __future__ import annotations

import array
import dataclasses
import datetime
import decimal
import functools
import hashlib
import itertools
import math
import random
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import promql_parser

REQUESTS_METRIC: Final = "http_requests_total"
LATENCY_METRIC: Final = "http_request_duration_seconds"
PROBE_METRIC: Final = "probe_success"

LATENCY_BUCKETS: Final = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, math.inf)
"""Histogram bucket upper bounds (seconds); the last is ``+Inf``."""

DAY: Final = 86_400
HOUR: Final = 3_600

Closed = Literal["right", "both"]

_NORMAL_TABLE_BITS: Final = 12
_NORMAL_TABLE: Final = tuple(
    statistics.NormalDist().inv_cdf((k + 0.5) / (1 << _NORMAL_TABLE_BITS))
    for k in range(1 << _NORMAL_TABLE_BITS)
)
"""Standard normal quantiles; a random index into them is a cheap, deterministic N(0, 1) draw
(``random.gauss`` is pure Python and dominated generation time)."""

_SMALL_MEAN: Final = 12.0
"""Below this mean, counts are drawn from an exact Poisson sampler instead of a normal one."""


def format_le(bound: float) -> str:
    """Format a bucket bound like the Go client: ``strconv.FormatFloat(bound, 'g', -1, 64)``.

    Shortest round-tripping digits, exponent notation when the decimal exponent is below -4 or
    at least 6 (Go's rule for the shortest precision): ``0.05 -> "0.05"``, ``0.15 -> "0.15"``,
    ``1.0 -> "1"``, ``2.5 -> "2.5"``, ``1e6 -> "1e+06"``, ``1e-5 -> "1e-05"``, ``inf -> "+Inf"``.
    A latency threshold of ``150ms`` therefore selects ``le="0.15"``, and ``1s`` selects ``le="1"``.
    """
    if math.isnan(bound):
        return "NaN"
    if math.isinf(bound):
        return "+Inf" if bound > 0 else "-Inf"
    if bound == 0:
        return "0"
    sign, digit_tuple, exponent = decimal.Decimal(repr(bound)).as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    point = len(digits) + exponent  # the value is 0.<digits> * 10**point
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        body = f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits
        return f"{prefix}{body}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{prefix}{digits}{'0' * (point - len(digits))}"
    return f"{prefix}{digits[:point]}.{digits[point:]}"


# --------------------------------------------------------------------------------------------
# Scenario description


@dataclass(frozen=True)
class LatencyProfile:
    """How request latencies spread over the histogram buckets.

    ``normal`` and ``degraded`` hold, for each bound of ``bounds``, the share of requests at or
    below it (cumulative, ending at 1.0 for ``+Inf``). During a latency incident a share of the
    requests follows ``degraded`` instead of ``normal``.
    """

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    normal: tuple[float, ...] = (0.55, 0.80, 0.90, 0.95, 0.98, 0.993, 0.998, 1.0)
    degraded: tuple[float, ...] = (0.02, 0.08, 0.15, 0.25, 0.50, 0.75, 0.93, 1.0)

    def __post_init__(self) -> None:
        for name in ("normal", "degraded"):
            shares = getattr(self, name)
            if len(shares) != len(self.bounds):
                raise ValueError(f"{name}: one share per bound expected, {len(self.bounds)}")
            if any(b < a for a, b in itertools.pairwise(shares)) or shares[-1] != 1.0:
                raise ValueError(f"{name}: cumulative shares must rise to 1.0, got {shares}")
        if self.bounds[-1] != math.inf or list(self.bounds) != sorted(self.bounds):
            raise ValueError(f"bounds must ascend and end with +Inf, got {self.bounds}")

    @property
    def labels(self) -> tuple[str, ...]:
        """The ``le`` label values, formatted like the Go client."""
        return tuple(format_le(bound) for bound in self.bounds)

    def representative_millis(self) -> tuple[int, ...]:
        """Latency (integer milliseconds) that feeds ``_sum`` for one request in each bucket:
        the middle of the bucket, twice the last finite bound for ``+Inf``."""
        values: list[int] = []
        lower = 0.0
        for bound in self.bounds:
            upper = 2 * lower if math.isinf(bound) else bound
            values.append(round(1000 * (lower + upper) / 2))
            lower = bound
        return tuple(values)


@dataclass(frozen=True)
class Service:
    """One ``job``: its traffic at the daily peak and its normal behaviour."""

    job: str
    peak_requests_per_second: float
    """Requests per second over all tenants at the diurnal peak on a weekday."""
    error_ratio: float = 0.0005
    """Share of requests answered 5xx outside incidents."""
    client_error_ratio: float = 0.01
    """Share of requests answered 404 (good events for an availability SLO)."""
    server_error_codes: tuple[str, ...] = ("500", "503")
    """5xx codes; errors are split evenly between them."""
    latency: LatencyProfile = field(default_factory=LatencyProfile)


@dataclass(frozen=True)
class Tenant:
    """A ``tenant`` label value and its share of every service's traffic."""

    name: str
    share: float


@dataclass(frozen=True)
class Probe:
    """A ``probe_success{job, target}`` series that fails while its service has an outage."""

    job: str
    target: str
    service: str
    """The ``job`` of the service whose outages (``Incident.probe_down``) take the probe down."""


@dataclass(frozen=True)
class Diurnal:
    """Traffic follows ``1/ratio + (1 - 1/ratio) * (1 + cos(phase)) / 2`` of the peak: 1.0 at
    ``peak_hour`` UTC, ``1/peak_to_trough`` twelve hours later; weekends scale it."""

    peak_to_trough: float = 20.0
    peak_hour: float = 15.0
    weekend_factor: float = 0.7

    def factor(self, timestamp: float) -> float:
        """Share of the weekday peak traffic at ``timestamp``."""
        phase = 2 * math.pi * ((timestamp / HOUR - self.peak_hour) / 24)
        trough = 1 / self.peak_to_trough
        level = trough + (1 - trough) * (1 + math.cos(phase)) / 2
        weekday = datetime.datetime.fromtimestamp(timestamp, datetime.UTC).weekday()
        return level * (self.weekend_factor if weekday >= 5 else 1.0)


@dataclass(frozen=True)
class Incident:
    """Something that changes events stamped in ``(start, end]`` for some jobs and tenants.

    Empty ``jobs`` / ``tenants`` mean all of them. Overlapping incidents take the worst value.
    """

    name: str
    start: int
    end: int
    jobs: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    error_ratio: float | None = None
    """Share of requests answered 5xx (1.0: full outage)."""
    degraded_ratio: float | None = None
    """Share of requests served with the degraded latency profile."""
    probe_down: bool = False
    """Probes of the affected jobs read 0 at samples in ``(start, end]``."""

    def applies_to(self, job: str, tenant: str | None = None) -> bool:
        """Whether this incident touches ``job`` (and ``tenant``, unless None)."""
        if self.jobs and job not in self.jobs:
            return False
        return tenant is None or not self.tenants or tenant in self.tenants

    @classmethod
    def error_burst(
        cls,
        name: str,
        start: int,
        duration: int,
        error_ratio: float,
        *,
        jobs: Sequence[str] = (),
        tenants: Sequence[str] = (),
    ) -> Incident:
        """A share ``error_ratio`` of requests fail for ``duration`` seconds."""
        return cls(name, start, start + duration, tuple(jobs), tuple(tenants), error_ratio)

    @classmethod
    def outage(cls, name: str, start: int, duration: int, *, jobs: Sequence[str] = ()) -> Incident:
        """Every request fails and the service's probes read 0."""
        return cls(name, start, start + duration, tuple(jobs), (), 1.0, probe_down=True)

    @classmethod
    def latency_degradation(
        cls,
        name: str,
        start: int,
        duration: int,
        degraded_ratio: float,
        *,
        jobs: Sequence[str] = (),
        tenants: Sequence[str] = (),
    ) -> Incident:
        """A share ``degraded_ratio`` of requests is slow (degraded latency profile)."""
        return cls(name, start, start + duration, tuple(jobs), tuple(tenants), None, degraded_ratio)


@dataclass(frozen=True)
class CounterReset:
    """Every counter of ``job`` (only ``tenants`` if given) restarts: it reads 0 at ``at``."""

    at: int
    job: str
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScrapeGap:
    """Samples at ``start < t < end`` of some series are never written: Prometheus was down, or
    the target unreachable, while the service kept counting. The events still happen (the
    truth keeps them); the first sample after the gap carries them. An ``end`` after the
    scenario's end is a target that disappeared for good. Empty ``jobs`` / ``tenants`` mean all;
    probes are hidden when their ``job`` is listed or ``jobs`` is empty.
    """

    start: int
    end: int
    jobs: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()

    def hides(self, labels: Mapping[str, str]) -> bool:
        """Whether the gap hides the series with these labels."""
        if self.jobs and labels.get("job") not in self.jobs:
            return False
        return not self.tenants or labels.get("tenant") in self.tenants


@dataclass(frozen=True)
class Scenario:
    """Everything :func:`generate` needs; the same scenario always yields the same data."""

    start: int
    """First sample (Unix seconds), a multiple of ``interval``."""
    end: int
    """Last sample, inclusive, a multiple of ``interval``."""
    interval: int = 30
    """Scrape interval in seconds."""
    seed: int = 1
    services: tuple[Service, ...] = ()
    tenants: tuple[Tenant, ...] = ()
    probes: tuple[Probe, ...] = ()
    diurnal: Diurnal = field(default_factory=Diurnal)
    incidents: tuple[Incident, ...] = ()
    resets: tuple[CounterReset, ...] = ()
    scrape_gaps: tuple[ScrapeGap, ...] = ()
    """Samples never written (the data Prometheus has), events unchanged (the truth)."""
    probe_blip_ratio: float = 0.0005
    """Chance that a probe sample reads 0 outside outages."""

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.start % self.interval or self.end % self.interval:
            raise ValueError("start and end must be multiples of a positive interval")
        if self.end <= self.start:
            raise ValueError("end must come after start")
        jobs = {service.job for service in self.services}
        for incident in self.incidents:
            if incident.start % self.interval or incident.end % self.interval:
                raise ValueError(f"incident {incident.name}: bounds must be sample times")
            if not set(incident.jobs) <= jobs:
                raise ValueError(f"incident {incident.name}: unknown jobs {incident.jobs}")
        for reset in self.resets:
            if reset.at % self.interval or not self.start < reset.at <= self.end:
                raise ValueError(f"reset of {reset.job} at {reset.at}: not a sample time")
            if reset.job not in jobs:
                raise ValueError(f"reset of unknown job {reset.job}")

    def hidden_indices(self, labels: Mapping[str, str]) -> list[range]:
        """The sample indices of a series with ``labels`` that :attr:`scrape_gaps` hide."""
        hidden = []
        for gap in self.scrape_gaps:
            if gap.hides(labels):
                first = max(0, (gap.start - self.start) // self.interval + 1)
                stop = min(self.sample_count, -(-(gap.end - self.start) // self.interval))
                if stop > first:
                    hidden.append(range(first, stop))
        return hidden

    @property
    def sample_count(self) -> int:
        """Samples per series."""
        return (self.end - self.start) // self.interval + 1

    @property
    def timestamps(self) -> range:
        """Every sample time."""
        return range(self.start, self.end + 1, self.interval)

    def peak_time(self, day: int) -> int:
        """The diurnal peak of day ``day`` (0-based from ``start``), rounded to a sample."""
        return self._on_day(day, self.diurnal.peak_hour)

    def trough_time(self, day: int) -> int:
        """The diurnal trough of day ``day``, rounded to a sample."""
        return self._on_day(day, (self.diurnal.peak_hour + 12) % 24)

    def _on_day(self, day: int, hour: float) -> int:
        midnight = self.start - self.start % DAY + day * DAY
        moment = midnight + round(hour * HOUR)
        return moment - moment % self.interval

    def fingerprint(self) -> str:
        """A stable hash of the scenario and of this module's code (a cache key for blocks)."""
        digest = hashlib.sha256(repr(self).encode())
        digest.update(_module_source_digest())
        return digest.hexdigest()[:20]


def standard_scenario(
    end: int = 1_769_904_000, *, days: int = 30, interval: int = 30, seed: int = 20261127
) -> Scenario:
    """The shared fixture data: two services, three tenants, two probes, over ``days`` days
    ending at ``end`` (default 2026-02-01T00:00:00Z; pass an hour-aligned "now" for live tests).

    Traffic swings 20x between the 15:00 UTC peak and the 03:00 trough (weekends at 70%).
    Incidents, relative to the first day (need ``days >= 24``):

    * ``burst-at-peak``: checkout, 20% errors for 1h around the peak of day 3.
    * ``burst-at-trough``: checkout, 20% errors for 1h around the trough of day 6.
    * ``checkout-outage``: checkout down (all 5xx, probe 0) for 30m on day 10 at 09:00.
    * ``slow-burn-globex``: checkout for tenant globex, 0.4% errors for 3 days from day 13.
    * ``chatbot-slow-at-peak`` / ``chatbot-slow-at-trough``: chatbot, 30% of requests slow for
      1h at the peak of day 20 and at the trough of day 22.
    * counter resets: checkout (all tenants) on day 8 at 12:00; chatbot/acme on day 18 at 07:30.
    """
    if days < 24:
        raise ValueError("the standard scenario places incidents up to day 23")
    start = end - days * DAY
    skeleton = Scenario(start=start, end=end, interval=interval)
    day0 = start - start % DAY

    def at(day: int, hour: float) -> int:
        moment = day0 + day * DAY + round(hour * HOUR)
        return moment - moment % interval

    checkout = ("checkout",)
    chatbot = ("chatbot",)
    incidents = (
        Incident.error_burst(
            "burst-at-peak", skeleton.peak_time(3) - 30 * 60, HOUR, 0.2, jobs=checkout
        ),
        Incident.error_burst(
            "burst-at-trough", skeleton.trough_time(6) - 30 * 60, HOUR, 0.2, jobs=checkout
        ),
        Incident.outage("checkout-outage", at(10, 9), 30 * 60, jobs=checkout),
        Incident.error_burst(
            "slow-burn-globex", at(13, 0), 3 * DAY, 0.004, jobs=checkout, tenants=("globex",)
        ),
        Incident.latency_degradation(
            "chatbot-slow-at-peak", skeleton.peak_time(20) - 30 * 60, HOUR, 0.3, jobs=chatbot
        ),
        Incident.latency_degradation(
            "chatbot-slow-at-trough", skeleton.trough_time(22) - 30 * 60, HOUR, 0.3, jobs=chatbot
        ),
    )
    return dataclasses.replace(
        skeleton,
        seed=seed,
        services=(
            Service("checkout", peak_requests_per_second=40.0),
            Service("chatbot", peak_requests_per_second=20.0, error_ratio=0.001),
        ),
        tenants=(Tenant("acme", 0.5), Tenant("globex", 0.3), Tenant("initech", 0.2)),
        probes=(
            Probe("blackbox", "https://checkout.shop.example/healthz", "checkout"),
            Probe("blackbox", "https://chatbot.shop.example/healthz", "chatbot"),
        ),
        incidents=incidents,
        resets=(
            CounterReset(at(8, 12), "checkout"),
            CounterReset(at(18, 7.5), "chatbot", ("acme",)),
        ),
    )


# --------------------------------------------------------------------------------------------
# Generated data


@dataclass(frozen=True)
class CounterSeries:
    """One counter series: cumulative events, the offset it starts at and its resets.

    ``cumulative[k]`` counts the events stamped at samples ``1..k`` (``cumulative[0] == 0``).
    The exposed value at sample ``k`` is ``(base + cumulative[k]) / divisor`` where ``base`` is
    ``offset`` before the first reset and ``-cumulative[r - 1]`` after a reset at sample ``r``.
    ``divisor`` is 1000 for ``_sum``, whose events are milliseconds.
    """

    name: str
    labels: tuple[tuple[str, str], ...]
    cumulative: array.array[int]
    offset: int
    resets: tuple[int, ...] = ()
    """Sample indices at which the counter reads 0 after a restart."""
    divisor: int = 1

    @property
    def label_map(self) -> dict[str, str]:
        """The labels, ``__name__`` excluded."""
        return dict(self.labels)

    def exposed_values(self, first: int, stop: int) -> Iterable[int | float]:
        """The counter as scraped at samples ``first <= k < stop`` (what the writer emits)."""
        base = self.offset
        for reset in self.resets:
            if reset <= first:
                base = -self.cumulative[reset - 1]
        boundaries = [reset for reset in self.resets if first < reset < stop]
        position = first
        for boundary in [*boundaries, stop]:
            chunk = self.cumulative[position:boundary]
            if self.divisor == 1:
                yield from (base + value for value in chunk)
            else:
                yield from ((base + value) / self.divisor for value in chunk)
            if boundary < stop:
                base = -self.cumulative[boundary - 1]
            position = boundary


@dataclass(frozen=True)
class GaugeSeries:
    """One 0/1 gauge series; ``values[k]`` is the sample at index ``k``."""

    name: str
    labels: tuple[tuple[str, str], ...]
    values: array.array[int]
    ones_before: array.array[int]
    """``ones_before[k]`` is the number of samples with value 1 among indices ``0..k-1``."""

    @property
    def label_map(self) -> dict[str, str]:
        """The labels, ``__name__`` excluded."""
        return dict(self.labels)


@dataclass(frozen=True)
class Counts:
    """Good and total events (or samples) of one selection."""

    good: int
    total: int

    @property
    def bad(self) -> int:
        """``total - good``."""
        return self.total - self.good

    @property
    def ratio(self) -> float:
        """``good / total``; NaN when there were no events."""
        return self.good / self.total if self.total else math.nan

    @property
    def percent(self) -> float:
        """``100 * good / total``; NaN when there were no events."""
        return 100 * self.ratio

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.good + other.good, self.total + other.total)


@dataclass(frozen=True)
class _Matcher:
    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


_MATCH_OPS: Final[dict[str, Literal["=", "!=", "=~", "!~"]]] = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}


@functools.lru_cache(maxsize=1024)
def _parse_selector(selector: str) -> tuple[_Matcher, ...]:
    """A PromQL vector selector as matchers (``__name__`` included); anchored regexes."""
    expression = promql_parser.parse(selector)
    if not isinstance(expression, promql_parser.VectorSelector):
        raise ValueError(f"expected a plain vector selector, got {selector!r}")
    matchers = [
        _Matcher(matcher.name, _MATCH_OPS[str(matcher.op)], matcher.value)
        for matcher in expression.matchers.matchers
    ]
    if expression.name:
        matchers.append(_Matcher("__name__", "=", expression.name))
    return tuple(matchers)


def latency_selectors(metric: str, threshold_seconds: float) -> tuple[str, str]:
    """The ``(good, total)`` selectors of a latency indicator over a classic histogram.

    ``latency_selectors('http_request_duration_seconds{job="chatbot"}', 0.2)`` gives
    ``('http_request_duration_seconds_bucket{job="chatbot",le="0.2"}',
    'http_request_duration_seconds_count{job="chatbot"}')`` — the same derivation the product
    describes for ``indicator.latency.metric``, for use with :meth:`SyntheticData.counts`.
    """
    expression = promql_parser.parse(metric)
    if not isinstance(expression, promql_parser.VectorSelector) or not expression.name:
        raise ValueError(f"expected a histogram selector with a metric name, got {metric!r}")
    matchers = [
        f'{matcher.name}{_MATCH_OPS[str(matcher.op)]}"{_escape_label(matcher.value)}"'
        for matcher in expression.matchers.matchers
    ]
    good = ",".join([*matchers, f'le="{format_le(threshold_seconds)}"'])
    total = ",".join(matchers)
    return f"{expression.name}_bucket{{{good}}}", f"{expression.name}_count{{{total}}}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class SyntheticData:
    """Generated series of one :class:`Scenario` and exact answers about them.

    Selectors are PromQL vector selectors (``=``, ``!=``, ``=~``, ``!~``; regexes anchored like
    Prometheus), e.g. ``'http_requests_total{job="checkout",code=~"5.."}'``. Times are Unix
    seconds inside ``[scenario.start, scenario.end]``; see the module docstring for the exact
    boundary semantics.
    """

    def __init__(
        self,
        scenario: Scenario,
        counters: Sequence[CounterSeries],
        gauges: Sequence[GaugeSeries],
    ) -> None:
        self.scenario = scenario
        self.counters: tuple[CounterSeries, ...] = tuple(counters)
        self.gauges: tuple[GaugeSeries, ...] = tuple(gauges)

    @property
    def series_count(self) -> int:
        """Number of series the writer emits."""
        return len(self.counters) + len(self.gauges)

    @property
    def sample_count(self) -> int:
        """Number of samples the writer emits."""
        return self.series_count * self.scenario.sample_count

    # -- selection ------------------------------------------------------------------------

    def select_counters(self, selector: str) -> list[CounterSeries]:
        """Counter series matching ``selector`` (empty list if none)."""
        matchers = _parse_selector(selector)
        return [
            series
            for series in self.counters
            if all(m.matches({**series.label_map, "__name__": series.name}) for m in matchers)
        ]

    def select_gauges(self, selector: str) -> list[GaugeSeries]:
        """Gauge series matching ``selector`` (empty list if none)."""
        matchers = _parse_selector(selector)
        return [
            series
            for series in self.gauges
            if all(m.matches({**series.label_map, "__name__": series.name}) for m in matchers)
        ]

    # -- time -------------------------------------------------------------------------------

    def index_at(self, timestamp: float) -> int:
        """Index of the last sample at or before ``timestamp`` (milliseconds precision)."""
        scenario = self.scenario
        offset_ms = round(timestamp * 1000) - scenario.start * 1000
        index = offset_ms // (scenario.interval * 1000)
        if index < 0 or index >= scenario.sample_count:
            raise ValueError(
                f"{timestamp} is outside the data [{scenario.start}, {scenario.end}]: "
                "events outside it are unknown"
            )
        return index

    def _slice_edges(self, start: float, end: float, slice_seconds: float) -> list[float]:
        count = (end - start) / slice_seconds
        if slice_seconds <= 0 or count != int(count) or count < 1:
            raise ValueError(f"({start}, {end}] is not a whole number of {slice_seconds}s slices")
        return [start + k * slice_seconds for k in range(int(count) + 1)]

    # -- counters ---------------------------------------------------------------------------

    def increase(self, selector: str, start: float, end: float) -> int | float:
        """Events stamped in ``(start, end]`` summed over the matching counters.

        Equals Prometheus' ``sum(increase(selector[end - start]))`` at ``end`` when ``start``
        and ``end`` are sample times. An int, except for ``_sum`` series (seconds, a float).
        """
        first, last = self._range_indices(start, end)
        total: int | float = 0
        for series in self.select_counters(selector):
            delta = series.cumulative[last] - series.cumulative[first]
            total += delta if series.divisor == 1 else delta / series.divisor
        return total

    def observable_increase(self, selector: str, start: float, end: float) -> int | float:
        """What any reader of the written samples can count in ``(start, end]``: per series,
        the differences of consecutive visible samples (a drop is a reset: then the new value),
        from the last visible sample at or before ``start`` to the last at or before ``end``.

        Equals :meth:`increase` unless a counter reset falls inside a scrape gap: then the events
        between the last sample before the gap and the reset are lost to every reader.
        """
        first, last = self._range_indices(start, end)
        total: int | float = 0
        for series in self.select_counters(selector):
            hidden = self.scenario.hidden_indices(series.label_map)
            values = list(series.exposed_values(0, last + 1))
            visible = [k for k in range(last + 1) if not any(k in gap for gap in hidden)]
            before = [k for k in visible if k <= first]
            if not before:
                continue
            previous = values[before[-1]]
            for k in visible:
                if k <= first:
                    continue
                value = values[k]
                total += value - previous if value >= previous else value
                previous = value
        return total

    def increase_by(
        self, selector: str, by: Sequence[str], start: float, end: float
    ) -> dict[tuple[str, ...], int | float]:
        """:meth:`increase` per value of the ``by`` labels (like ``sum by (...)``)."""
        first, last = self._range_indices(start, end)
        groups: dict[tuple[str, ...], int | float] = {}
        for series in self.select_counters(selector):
            labels = series.label_map
            key = tuple(labels.get(name, "") for name in by)
            delta = series.cumulative[last] - series.cumulative[first]
            groups[key] = groups.get(key, 0) + (
                delta if series.divisor == 1 else delta / series.divisor
            )
        return groups

    def increase_slices(
        self, selector: str, start: float, end: float, slice_seconds: float
    ) -> list[int | float]:
        """:meth:`increase` for each slice ``(start + k*d, start + (k+1)*d]`` of ``(start,
        end]``, in order."""
        edges = [self.index_at(edge) for edge in self._slice_edges(start, end, slice_seconds)]
        totals: list[int | float] = [0] * (len(edges) - 1)
        for series in self.select_counters(selector):
            cumulative = series.cumulative
            for k in range(len(edges) - 1):
                delta = cumulative[edges[k + 1]] - cumulative[edges[k]]
                totals[k] += delta if series.divisor == 1 else delta / series.divisor
        return totals

    def counts(
        self,
        total: str,
        start: float,
        end: float,
        *,
        good: str | None = None,
        bad: str | None = None,
    ) -> Counts:
        """Good and total events in ``(start, end]``; give exactly one of ``good`` or ``bad``.

        For an availability SLO: ``total='http_requests_total{job="checkout"}'``,
        ``bad='http_requests_total{job="checkout",code=~"5.."}'``. For a latency SLO at 200ms:
        ``total='http_request_duration_seconds_count{job="chatbot"}'``,
        ``good='http_request_duration_seconds_bucket{job="chatbot",le="0.2"}'``.
        """
        total_events = int(self.increase(total, start, end))
        return Counts(self._good(total_events, start, end, good, bad), total_events)

    def counts_by(
        self,
        by: Sequence[str],
        total: str,
        start: float,
        end: float,
        *,
        good: str | None = None,
        bad: str | None = None,
    ) -> dict[tuple[str, ...], Counts]:
        """:meth:`counts` per value of the ``by`` labels; groups with no series are absent."""
        if (good is None) == (bad is None):
            raise ValueError("give exactly one of good= or bad=")
        totals = self.increase_by(total, by, start, end)
        other = self.increase_by(good or bad or "", by, start, end)
        result: dict[tuple[str, ...], Counts] = {}
        for key, events in totals.items():
            selected = int(other.get(key, 0))
            good_events = selected if good is not None else int(events) - selected
            result[key] = Counts(good_events, int(events))
        return result

    def slice_counts(
        self,
        total: str,
        start: float,
        end: float,
        slice_seconds: float,
        *,
        good: str | None = None,
        bad: str | None = None,
    ) -> list[Counts]:
        """:meth:`counts` for each slice ``(start + k*d, start + (k+1)*d]``, in order."""
        if (good is None) == (bad is None):
            raise ValueError("give exactly one of good= or bad=")
        totals = self.increase_slices(total, start, end, slice_seconds)
        other = self.increase_slices(good or bad or "", start, end, slice_seconds)
        result = []
        for events, selected in zip(totals, other, strict=True):
            good_events = int(selected) if good is not None else int(events) - int(selected)
            result.append(Counts(good_events, int(events)))
        return result

    def _good(
        self, total_events: int, start: float, end: float, good: str | None, bad: str | None
    ) -> int:
        if (good is None) == (bad is None):
            raise ValueError("give exactly one of good= or bad=")
        if good is not None:
            return int(self.increase(good, start, end))
        assert bad is not None
        return total_events - int(self.increase(bad, start, end))

    def _range_indices(self, start: float, end: float) -> tuple[int, int]:
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        return self.index_at(start), self.index_at(end)

    # -- what Prometheus computes -------------------------------------------------------------

    def prometheus_increase(
        self, selector: str, at: float, window: float
    ) -> dict[tuple[tuple[str, str], ...], float]:
        """What Prometheus 2.42's ``increase(selector[window])`` returns at ``at``, per series.

        Not truth: a model of ``extrapolatedRate`` (``promql/functions.go`` at v2.42.0) applied
        to the generated samples — reset handling, the zero-point clamp and the 1.1x
        extrapolation threshold, in the same floating-point order, so values compare with
        ``==``. Keys are the series' labels without ``__name__``; series with fewer than two
        samples in ``[at - window, at]`` are absent, as in Prometheus. Use it where rules are
        evaluated off the sample grid (a group's evaluation offset), to tell a rule's error
        from Prometheus' extrapolation; :meth:`increase` is the truth to compare both with.
        """
        return self._extrapolated(selector, at, window, per_second=False)

    def prometheus_rate(
        self, selector: str, at: float, window: float
    ) -> dict[tuple[tuple[str, str], ...], float]:
        """What Prometheus 2.42's ``rate(selector[window])`` returns at ``at``, per series
        (see :meth:`prometheus_increase`)."""
        return self._extrapolated(selector, at, window, per_second=True)

    def _extrapolated(
        self, selector: str, at: float, window: float, *, per_second: bool
    ) -> dict[tuple[tuple[str, str], ...], float]:
        scenario = self.scenario
        interval_ms = scenario.interval * 1000
        range_end = round(at * 1000)
        range_start = range_end - round(window * 1000)
        first = max(0, -(-(range_start - scenario.start * 1000) // interval_ms))
        last = min(scenario.sample_count - 1, (range_end - scenario.start * 1000) // interval_ms)
        result: dict[tuple[tuple[str, str], ...], float] = {}
        if last - first < 1:
            return result
        first_time = scenario.start * 1000 + first * interval_ms
        last_time = scenario.start * 1000 + last * interval_ms
        for series in self.select_counters(selector):
            values = [float(value) for value in series.exposed_values(first, last + 1)]
            increase = values[-1] - values[0]
            previous = values[0]
            for value in values[1:]:
                if value < previous:
                    increase += previous
                previous = value
            to_start = (first_time - range_start) / 1000
            to_end = (range_end - last_time) / 1000
            sampled = (last_time - first_time) / 1000
            average = sampled / (len(values) - 1)
            if increase > 0 and values[0] >= 0:
                to_zero = sampled * (values[0] / increase)
                to_start = min(to_start, to_zero)
            threshold = average * 1.1
            extrapolated = sampled
            extrapolated += to_start if to_start < threshold else average / 2
            extrapolated += to_end if to_end < threshold else average / 2
            factor = extrapolated / sampled
            if per_second:
                factor /= window
            result[series.labels] = increase * factor
        return result

    # -- gauges -----------------------------------------------------------------------------

    def gauge_counts(
        self, selector: str, start: float, end: float, *, closed: Closed = "right"
    ) -> Counts:
        """Samples equal to 1 (``good``) and all samples (``total``) of the matching gauges.

        ``closed="right"``: samples at ``start < t <= end``; ``closed="both"``: ``start <= t
        <= end``, what ``sum_over_time``/``count_over_time(x[end - start])`` see at ``end``.
        """
        first, last = self._gauge_indices(start, end, closed)
        ones = samples = 0
        for series in self.select_gauges(selector):
            ones += series.ones_before[last + 1] - series.ones_before[first]
            samples += last + 1 - first
        return Counts(ones, samples)

    def gauge_slice_counts(
        self, selector: str, start: float, end: float, slice_seconds: float
    ) -> list[Counts]:
        """:meth:`gauge_counts` (``closed="right"``) for each slice ``(start + k*d, start +
        (k+1)*d]``."""
        edges = self._slice_edges(start, end, slice_seconds)
        return [self.gauge_counts(selector, a, b) for a, b in itertools.pairwise(edges)]

    def _gauge_indices(self, start: float, end: float, closed: Closed) -> tuple[int, int]:
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        last = self.index_at(end)
        if closed == "both":
            # The first sample at or after start.
            first_ms = round(start * 1000) - self.scenario.start * 1000
            interval_ms = self.scenario.interval * 1000
            first = max(0, -(-first_ms // interval_ms))
            if first_ms < 0:
                raise ValueError(f"{start} is before the first sample")
        else:
            first = self.index_at(start) + 1
        return first, last


# --------------------------------------------------------------------------------------------
# Generation


def generate(scenario: Scenario) -> SyntheticData:
    """Draw every series of ``scenario``; deterministic for a given scenario.

    Each ``job``/``tenant`` group and each probe has its own ``random.Random`` seeded from the
    scenario seed and its names, so adding a tenant does not change the others' data.
    """
    factors = array.array(
        "d",
        (
            scenario.diurnal.factor(timestamp - scenario.interval / 2)
            for timestamp in scenario.timestamps
        ),
    )
    counters: list[CounterSeries] = []
    for service in scenario.services:
        for tenant in scenario.tenants:
            counters.extend(_generate_group(scenario, service, tenant, factors))
    gauges = [_generate_probe(scenario, probe) for probe in scenario.probes]
    return SyntheticData(scenario, counters, gauges)


def _sample_range(scenario: Scenario, start: int, end: int) -> range:
    """Indices of the samples at times ``start < t <= end``."""
    first = max(1, (start - scenario.start) // scenario.interval + 1)
    last = min(scenario.sample_count - 1, (end - scenario.start) // scenario.interval)
    return range(first, last + 1)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact (Knuth) for small means, normal approximation above."""
    if mean <= 0:
        return 0
    if mean >= _SMALL_MEAN:
        draw = round(mean + math.sqrt(mean) * _NORMAL_TABLE[rng.getrandbits(_NORMAL_TABLE_BITS)])
        return max(draw, 0)
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _binomial(rng: random.Random, trials: int, chance: float) -> int:
    """A binomial-like draw in ``[0, trials]``: Poisson tails, normal approximation between."""
    if trials <= 0 or chance <= 0.0:
        return 0
    if chance >= 1.0:
        return trials
    mean = trials * chance
    if mean < _SMALL_MEAN:
        return min(_poisson(rng, mean), trials)
    if trials - mean < _SMALL_MEAN:
        return trials - min(_poisson(rng, trials - mean), trials)
    spread = math.sqrt(mean * (1.0 - chance))
    draw = round(mean + spread * _NORMAL_TABLE[rng.getrandbits(_NORMAL_TABLE_BITS)])
    return 0 if draw < 0 else trials if draw > trials else draw


def _conditional_shares(profile: LatencyProfile, degraded_ratio: float) -> tuple[float, ...]:
    """Per bucket, the chance a request lands in it given it is not in a lower one."""
    mixed = [
        (1 - degraded_ratio) * normal + degraded_ratio * degraded
        for normal, degraded in zip(profile.normal, profile.degraded, strict=True)
    ]
    chances: list[float] = []
    below = 0.0
    for cumulative in mixed:
        remaining = 1.0 - below
        chances.append(1.0 if remaining <= 0 else min(1.0, (cumulative - below) / remaining))
        below = cumulative
    return tuple(chances)


def _generate_group(
    scenario: Scenario, service: Service, tenant: Tenant, factors: array.array[float]
) -> list[CounterSeries]:
    rng = random.Random(f"{scenario.seed}/{service.job}/{tenant.name}")
    sample_count = scenario.sample_count
    error_ratio = array.array("d", [service.error_ratio]) * sample_count
    degraded_ratio = array.array("d", [0.0]) * sample_count
    for incident in scenario.incidents:
        if not incident.applies_to(service.job, tenant.name):
            continue
        for index in _sample_range(scenario, incident.start, incident.end):
            if incident.error_ratio is not None:
                error_ratio[index] = max(error_ratio[index], incident.error_ratio)
            if incident.degraded_ratio is not None:
                degraded_ratio[index] = max(degraded_ratio[index], incident.degraded_ratio)
    resets = sorted(
        (reset.at - scenario.start) // scenario.interval
        for reset in scenario.resets
        if reset.job == service.job and (not reset.tenants or tenant.name in reset.tenants)
    )
    reset_set = set(resets)

    profile = service.latency
    bucket_count = len(profile.bounds)
    millis = profile.representative_millis()
    error_codes = service.server_error_codes
    codes = ("200", "404", *error_codes)
    code_totals = [array.array("q", [0]) for _ in codes]
    bucket_totals = [array.array("q", [0]) for _ in range(bucket_count)]
    sum_millis = array.array("q", [0])
    shares_cache: dict[float, tuple[float, ...]] = {}
    scale = service.peak_requests_per_second * tenant.share * scenario.interval
    running_codes = [0] * len(codes)
    running_buckets = [0] * bucket_count
    running_sum = 0
    in_bucket = [0] * bucket_count

    for index in range(1, sample_count):
        if index not in reset_set:
            requests = _poisson(rng, scale * factors[index])
            errors = _binomial(rng, requests, error_ratio[index])
            first_error_code = 2
            remaining_errors = errors
            for position in range(len(error_codes) - 1):
                share = 1.0 / (len(error_codes) - position)
                drawn = _binomial(rng, remaining_errors, share)
                running_codes[first_error_code + position] += drawn
                remaining_errors -= drawn
            running_codes[-1] += remaining_errors
            not_found = _binomial(rng, requests - errors, service.client_error_ratio)
            running_codes[1] += not_found
            running_codes[0] += requests - errors - not_found

            degraded = degraded_ratio[index]
            chances = shares_cache.get(degraded)
            if chances is None:
                chances = shares_cache[degraded] = _conditional_shares(profile, degraded)
            left = requests
            cumulative = 0
            for bucket in range(bucket_count):
                drawn = _binomial(rng, left, chances[bucket]) if left else 0
                in_bucket[bucket] = drawn
                left -= drawn
                cumulative += drawn
                running_buckets[bucket] += cumulative
            running_sum += sum(count * ms for count, ms in zip(in_bucket, millis, strict=True))
        for position, totals in enumerate(code_totals):
            totals.append(running_codes[position])
        for bucket, totals in enumerate(bucket_totals):
            totals.append(running_buckets[bucket])
        sum_millis.append(running_sum)

    base = (("job", service.job), ("tenant", tenant.name))
    offsets = _initial_offsets(rng, scale / scenario.interval, service, codes)
    series = [
        CounterSeries(
            REQUESTS_METRIC,
            (*base, ("code", code)),
            _compact(totals),
            offsets.codes[position],
            tuple(resets),
        )
        for position, (code, totals) in enumerate(zip(codes, code_totals, strict=True))
    ]
    for bucket, (label, totals) in enumerate(zip(profile.labels, bucket_totals, strict=True)):
        bucket_series = CounterSeries(
            f"{LATENCY_METRIC}_bucket",
            (*base, ("le", label)),
            _compact(totals),
            offsets.buckets[bucket],
            tuple(resets),
        )
        series.append(bucket_series)
    infinity = series[-1]
    series.append(dataclasses.replace(infinity, name=f"{LATENCY_METRIC}_count", labels=base))
    series.append(
        CounterSeries(
            f"{LATENCY_METRIC}_sum", base, sum_millis, offsets.sum_millis, tuple(resets), 1000
        )
    )
    return series


@dataclass(frozen=True)
class _Offsets:
    codes: tuple[int, ...]
    buckets: tuple[int, ...]
    sum_millis: int


def _initial_offsets(
    rng: random.Random, peak_per_second: float, service: Service, codes: Sequence[str]
) -> _Offsets:
    """Counter values at the first sample: a few hours to days of earlier traffic."""
    uptime = rng.randrange(6 * HOUR, 7 * DAY)
    requests = round(peak_per_second * 0.4 * uptime)
    errors = round(requests * service.error_ratio)
    not_found = round((requests - errors) * service.client_error_ratio)
    error_codes = len(codes) - 2
    per_code = [requests - errors - not_found, not_found]
    per_code += [errors // error_codes + (k < errors % error_codes) for k in range(error_codes)]
    profile = service.latency
    buckets = [round(requests * share) for share in profile.normal]
    millis = profile.representative_millis()
    below = 0
    sum_millis = 0
    for bucket, cumulative in enumerate(buckets):
        sum_millis += (cumulative - below) * millis[bucket]
        below = cumulative
    return _Offsets(tuple(per_code), tuple(buckets), sum_millis)


def _compact(values: array.array[int]) -> array.array[int]:
    """Unsigned 32-bit storage when the totals fit (halves memory for typical scenarios)."""
    if values[-1] < 2**32:
        return array.array("I", values)
    return values


def _generate_probe(scenario: Scenario, probe: Probe) -> GaugeSeries:
    rng = random.Random(f"{scenario.seed}/probe/{probe.job}/{probe.target}")
    values = array.array("b", [1]) * scenario.sample_count
    blip = scenario.probe_blip_ratio
    for index in range(scenario.sample_count):
        if rng.random() < blip:
            values[index] = 0
    for incident in scenario.incidents:
        if incident.probe_down and incident.applies_to(probe.service):
            down = _sample_range(scenario, incident.start, incident.end)
            if incident.start < scenario.start:
                down = range(down.stop)
            for index in down:
                values[index] = 0
    ones_before = array.array("q", [0])
    running = 0
    for value in values:
        running += value
        ones_before.append(running)
    labels = (("job", probe.job), ("target", probe.target))
    return GaugeSeries(PROBE_METRIC, labels, values, ones_before)


@functools.cache
def _module_source_digest() -> bytes:
    """Digest of this module's source: generated data changes whenever the code does."""
    with open(__file__, "rb") as source:
        return hashlib.sha256(source.read()).digest()
