"""OpenSLO v1 documents into ServiceLevelObjective manifests, reporting what cannot be converted.

The input is untrusted YAML (dicts, lists, scalars); every value is checked before it is used, and
nothing is dropped without a finding that names the document and the field:

- `error`: the SLO cannot be converted (a non-Prometheus source, free PromQL, a composite SLO);
  it is not written.
- `problem`: the SLO is written, but something in it means more than we could express (a burn
  rate condition we do not generate, a calendar start that is not a period start); the CLI exits
  1 so a person looks.
- `note`: information with no place in our model that changes neither what is measured nor what
  alerts (notification targets, display names, resolved notifications).

docs/openslo.md has the mapping table and the reasons behind each refusal.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..api import common, slo, validation
from ..rules import burn_rates, checks, series
from . import promql

API_VERSION = "openslo/v1"
OUR_ANNOTATION_PREFIX = "slo.dev/"
PRIMARY_OBJECTIVE_ANNOTATION = "slo.dev/primary-objective"
"""OpenSLO has no primary objective; this annotation on the SLO names the one that drives alerts."""
KINDS = (
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
    "DataSource",
    "Service",
)
PROMETHEUS_TYPES = ("prometheus",)
"""`metricSource.type` values read as Prometheus (compared case-insensitively)."""
NOMINAL_DAYS = {"M": 30, "Q": 90, "Y": 365}
"""Rolling windows in months, quarters or years have no fixed length; we use these (the same
nominal lengths the rules use for calendar periods)."""
CALENDAR_PERIODS = {
    "1w": slo.CalendarPeriod.WEEK,
    "1M": slo.CalendarPeriod.MONTH,
    "1Q": slo.CalendarPeriod.QUARTER,
    "1Y": slo.CalendarPeriod.YEAR,
}
_SHORTHAND = re.compile(r"^([1-9][0-9]*)([mhdwMQY])$")
_LABEL_NAME = re.compile(common.LABEL_NAME_PATTERN)
_SLUG_INVALID = re.compile(r"[^a-z0-9]+")

_METADATA_FIELDS = ("name", "displayName", "labels", "annotations")
_SLO_FIELDS = (
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
)
_SLI_FIELDS = ("description", "thresholdMetric", "ratioMetric")
_RATIO_FIELDS = ("counter", "good", "bad", "total", "rawType", "raw")
_OBJECTIVE_FIELDS = (
    "displayName",
    "op",
    "value",
    "target",
    "targetPercent",
    "timeSliceTarget",
    "timeSliceWindow",
    "indicator",
    "indicatorRef",
    "compositeWeight",
)
_POLICY_FIELDS = (
    "description",
    "alertWhenNoData",
    "alertWhenResolved",
    "alertWhenBreaching",
    "conditions",
    "notificationTargets",
)
_CONDITION_FIELDS = ("description", "severity", "condition")
_BURN_RATE_FIELDS = ("kind", "op", "threshold", "lookbackWindow", "alertAfter")


class Severity(enum.StrEnum):
    ERROR = "error"
    """The SLO is not written."""
    PROBLEM = "problem"
    """The SLO is written but differs from the document; the CLI exits 1."""
    NOTE = "note"
    """Dropped information that changes neither the measurement nor the alerts."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing said about one field of one document: `file:document:field: message`."""

    source: str
    document: int
    field: str
    message: str
    severity: Severity

    def __str__(self) -> str:
        location = f"{self.source}:{self.document}"
        if self.field:
            location += f":{self.field}"
        prefix = "note: " if self.severity is Severity.NOTE else ""
        return f"{location}: {prefix}{self.message}"


@dataclasses.dataclass(frozen=True)
class Converted:
    """One ServiceLevelObjective made from one OpenSLO SLO document."""

    document: validation.Document
    """The OpenSLO SLO it was made from."""
    manifest: dict[str, Any]
    """The manifest as written out (camelCase, only the fields set)."""
    resource: slo.ServiceLevelObjective
    """The same manifest, validated by the complete check."""


@dataclasses.dataclass
class Conversion:
    """Everything one conversion produced."""

    converted: list[Converted] = dataclasses.field(default_factory=list)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    not_converted: list[validation.Document] = dataclasses.field(default_factory=list)
    """SLO documents with at least one error."""

    @property
    def complete(self) -> bool:
        """Everything converted exactly: no errors and no problems (notes allowed)."""
        return not self.not_converted and all(
            finding.severity is Severity.NOTE for finding in self.findings
        )


# --- locating findings ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _At:
    """A field of a document: where a finding points."""

    document: validation.Document
    path: tuple[str | int, ...] = ()

    def __truediv__(self, part: str | int) -> _At:
        return _At(self.document, (*self.path, part))

    @property
    def field(self) -> str:
        return validation.format_path(self.path)


class _Report:
    """Collects the findings of one SLO and whether any of them is an error."""

    def __init__(self, findings: list[Finding]) -> None:
        self._findings = findings
        self.failed = False

    def _add(self, at: _At, message: str, severity: Severity) -> None:
        document = at.document
        self._findings.append(Finding(document.source, document.index, at.field, message, severity))

    def error(self, at: _At, message: str) -> None:
        self.failed = True
        self._add(at, message, Severity.ERROR)

    def problem(self, at: _At, message: str) -> None:
        self._add(at, message, Severity.PROBLEM)

    def note(self, at: _At, message: str) -> None:
        self._add(at, message, Severity.NOTE)

    def unknown_fields(self, at: _At, body: Mapping[str, Any], known: Iterable[str]) -> None:
        allowed = set(known)
        for key in body:
            if key not in allowed:
                self.problem(at / str(key), "not an OpenSLO v1 field here; not converted")


# --- reading untrusted values ------------------------------------------------------------------


def _mapping(value: Any, at: _At, report: _Report, what: str) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    report.error(at, f"{what} must be a mapping, got {_type_name(value)}")
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


def _shorthand_seconds(text: Any) -> tuple[int, str] | None:
    """(seconds, unit) of a duration-shorthand like `5m` or `4w`; None for M/Q/Y or bad input."""
    if not isinstance(text, str):
        return None
    match = _SHORTHAND.match(text)
    if not match or match.group(2) in NOMINAL_DAYS:
        return None
    unit_seconds = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[match.group(2)]
    return int(match.group(1)) * unit_seconds, match.group(2)


def slug(text: str) -> str:
    """A DNS label from a display name: `Good experience` -> `good-experience`."""
    return _SLUG_INVALID.sub("-", text.lower()).strip("-")[:63].strip("-")


# --- the index of documents ----------------------------------------------------------------------


@dataclasses.dataclass
class _Index:
    """Named OpenSLO documents by kind, for `indicatorRef`, `alertPolicyRef`, `conditionRef`..."""

    by_kind: dict[str, dict[str, validation.Document]] = dataclasses.field(default_factory=dict)
    referenced: set[tuple[str, str]] = dataclasses.field(default_factory=set)

    def find(self, kind: str, name: str) -> validation.Document | None:
        document = self.by_kind.get(kind, {}).get(name)
        if document is not None:
            self.referenced.add((kind, name))
        return document


def _index_documents(
    documents: Sequence[validation.Document], findings: list[Finding]
) -> tuple[_Index, list[validation.Document]]:
    """Sort documents by kind; report those that are not OpenSLO v1 at all."""
    index = _Index()
    slos: list[validation.Document] = []
    for document in documents:
        report = _Report(findings)
        at = _At(document)
        body = document.body
        if not isinstance(body, Mapping):
            report.error(at, f"expected an OpenSLO document (a mapping), got {_type_name(body)}")
            continue
        version = body.get("apiVersion")
        kind = body.get("kind")
        if version != API_VERSION:
            hint = (
                " (v1alpha and v2alpha documents are not supported)"
                if isinstance(version, str) and version.startswith("openslo/")
                else ""
            )
            report.error(at / "apiVersion", f"expected {API_VERSION}, got {version!r}{hint}")
            continue
        if kind not in KINDS:
            report.error(at / "kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
            continue
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        if not isinstance(name, str) or not name:
            report.error(at / "metadata" / "name", "required: every OpenSLO document has a name")
            continue
        named = index.by_kind.setdefault(kind, {})
        if name in named:
            earlier = named[name]
            report.error(
                at / "metadata" / "name",
                f"{kind} {name!r} is already defined in {earlier.source}:{earlier.index}",
            )
            continue
        named[name] = document
        if kind == "SLO":
            slos.append(document)
    return index, slos


# --- the indicator -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Indicator:
    """Our indicator, and what the objectives need to know about it."""

    body: dict[str, Any]
    """`spec.indicator` of our manifest."""
    group_by: tuple[str, ...]
    threshold_metric: bool
    """From a thresholdMetric: objectives carry `op`/`value`."""
    histogram: bool
    """A latency indicator: objectives get a `threshold`."""
    threshold_seconds: float | None = None
    """A latency ratio (good = one bucket): the one threshold of every objective."""


def _resolve_indicator(
    spec: Mapping[str, Any], at: _At, index: _Index, report: _Report
) -> tuple[Mapping[str, Any], _At] | None:
    """The SLI spec (inline or referenced) and where it is."""
    inline = spec.get("indicator")
    ref = spec.get("indicatorRef")
    if inline is not None and ref is not None:
        report.error(at / "indicatorRef", "give either indicator or indicatorRef, not both")
        return None
    if inline is not None:
        indicator = _mapping(inline, at / "indicator", report, "indicator")
        if indicator is None:
            return None
        inline_fields = ("metadata", "spec", "apiVersion", "kind")
        report.unknown_fields(at / "indicator", indicator, inline_fields)
        sli_at = at / "indicator" / "spec"
        sli_spec = _mapping(indicator.get("spec"), sli_at, report, "indicator.spec")
        return None if sli_spec is None else (sli_spec, sli_at)
    if ref is None:
        report.error(at / "indicator", "required: an SLO needs indicator or indicatorRef")
        return None
    if not isinstance(ref, str):
        report.error(at / "indicatorRef", f"must be the name of an SLI, got {_type_name(ref)}")
        return None
    document = index.find("SLI", ref)
    if document is None:
        report.error(at / "indicatorRef", f"no SLI named {ref!r} in the input files")
        return None
    sli_at = _At(document, ("spec",))
    sli_spec = _mapping(document.body.get("spec"), sli_at, report, "spec")
    return None if sli_spec is None else (sli_spec, sli_at)


def _metric_query(metric: Any, at: _At, index: _Index, report: _Report) -> tuple[str, _At] | None:
    """The Prometheus query of a metric (`{metricSource: {type, metricSourceRef, spec}}`)."""
    body = _mapping(metric, at, report, "a metric")
    if body is None:
        return None
    report.unknown_fields(at, body, ("metricSource",))
    source_at = at / "metricSource"
    source = _mapping(body.get("metricSource"), source_at, report, "metricSource")
    if source is None:
        return None
    report.unknown_fields(source_at, source, ("metricSourceRef", "type", "spec"))
    source_type = source.get("type")
    ref = source.get("metricSourceRef")
    if ref is not None:
        data_source = index.find("DataSource", ref) if isinstance(ref, str) else None
        if data_source is None:
            if source_type is None:
                report.error(
                    source_at / "metricSourceRef",
                    f"no DataSource named {ref!r} in the input files, and no type: the source "
                    "cannot be told to be Prometheus",
                )
                return None
        else:
            data_spec = data_source.body.get("spec")
            ref_type = data_spec.get("type") if isinstance(data_spec, Mapping) else None
            source_type = source_type if source_type is not None else ref_type
            report.note(
                source_at / "metricSourceRef",
                f"DataSource {ref!r}: the SLO reads from the operator's default backend; "
                "connection details belong in the operator's backend configuration (set "
                "spec.backend to use another configured backend)",
            )
    if not isinstance(source_type, str) or source_type.lower() not in PROMETHEUS_TYPES:
        report.error(
            source_at / "type",
            f"metric source type {source_type!r} is not supported: only Prometheus (and what "
            "speaks its API: Thanos, Mimir, VictoriaMetrics) can be converted",
        )
        return None
    spec_at = source_at / "spec"
    source_spec = _mapping(source.get("spec"), spec_at, report, "metricSource.spec")
    if source_spec is None:
        return None
    for key in source_spec:
        if key != "query":
            report.problem(
                spec_at / str(key),
                "only the query of a Prometheus metric source is converted; this field is not",
            )
    query = _text(source_spec.get("query"))
    if query is None:
        report.error(spec_at / "query", "required: a Prometheus metric source needs a query")
        return None
    return query, spec_at / "query"


def _counter(
    metric: Any, at: _At, index: _Index, report: _Report
) -> tuple[promql.CounterQuery, _At] | None:
    found = _metric_query(metric, at, index, report)
    if found is None:
        return None
    query, query_at = found
    try:
        return promql.parse_counter_query(query), query_at
    except promql.UnsupportedQuery as error:
        report.error(query_at, f"cannot be converted: {error}")
        return None


def _latency_from_ratio(
    good: promql.CounterQuery, total: promql.CounterQuery
) -> tuple[common.Selector, float] | None:
    """`X_bucket{..., le="0.2"}` over `X_count{...}` with the same other matchers: a latency SLI."""
    if not good.selector.metric.endswith("_bucket"):
        return None
    base = good.selector.metric.removesuffix("_bucket")
    if total.selector.metric != f"{base}_count":
        return None
    le = [matcher for matcher in good.selector.matchers if matcher.name == "le"]
    others = tuple(matcher for matcher in good.selector.matchers if matcher.name != "le")
    if len(le) != 1 or le[0].op != "=" or set(others) != set(total.selector.matchers):
        return None
    try:
        threshold = float(le[0].value)
    except ValueError:
        return None
    if not math.isfinite(threshold) or threshold <= 0:
        return None
    return common.Selector(metric=base, matchers=total.selector.matchers), threshold


def _ratio_indicator(
    ratio: Mapping[str, Any], at: _At, index: _Index, report: _Report
) -> _Indicator | None:
    report.unknown_fields(at, ratio, _RATIO_FIELDS)
    if "raw" in ratio or "rawType" in ratio:
        report.error(
            at / ("raw" if "raw" in ratio else "rawType"),
            "a precomputed ratio (raw) cannot be converted: our SLIs are sums of good and total "
            "events, which a stored ratio cannot be summed back into",
        )
        return None
    if ratio.get("counter") is False:
        report.error(
            at / "counter",
            "counter: false (gauges) cannot be converted: good and total must be counters",
        )
        return None
    if "good" in ratio and "bad" in ratio:
        report.error(at / "bad", "give either good or bad, not both")
        return None
    numerator_key = "good" if "good" in ratio else "bad"
    if numerator_key not in ratio or "total" not in ratio:
        report.error(at / numerator_key, "required: a ratioMetric needs good or bad, and total")
        return None
    numerator = _counter(ratio[numerator_key], at / numerator_key, index, report)
    total = _counter(ratio["total"], at / "total", index, report)
    if numerator is None or total is None:
        return None
    (numerator_query, numerator_at), (total_query, _) = numerator, total
    if set(numerator_query.group_by) != set(total_query.group_by):
        report.error(
            numerator_at,
            f"sum by ({', '.join(numerator_query.group_by)}) differs from total's sum by "
            f"({', '.join(total_query.group_by)}): both must group by the same labels",
        )
        return None
    group_by = total_query.group_by
    if numerator_key == "good":
        latency = _latency_from_ratio(numerator_query, total_query)
        if latency is not None:
            selector, threshold = latency
            return _Indicator(
                body={"latency": {"metric": selector.render()}},
                group_by=group_by,
                threshold_metric=False,
                histogram=True,
                threshold_seconds=threshold,
            )
        body = {
            "ratio": {"good": numerator_query.selector_text, "total": total_query.selector_text}
        }
    else:
        body = {
            "ratio": {"errors": numerator_query.selector_text, "total": total_query.selector_text}
        }
    return _Indicator(body=body, group_by=group_by, threshold_metric=False, histogram=False)


def _threshold_indicator(metric: Any, at: _At, index: _Index, report: _Report) -> _Indicator | None:
    """A thresholdMetric: a histogram (latency) or a 0/1 gauge (boolGauge), judged by its name."""
    found = _metric_query(metric, at, index, report)
    if found is None:
        return None
    query, query_at = found
    try:
        counter = promql.parse_counter_query(query)
    except promql.UnsupportedQuery as error:
        report.error(
            query_at,
            f"cannot be converted: {error}. A thresholdMetric converts when it names a "
            "histogram's buckets (X_bucket{...}: latency, objectives compare with op lt/lte) "
            "or a 0/1 gauge (objectives compare with op gt/gte); a quantile compared with a "
            "value counts good samples of the quantile, not good requests",
        )
        return None
    selector = counter.selector
    if selector.metric.endswith("_bucket"):
        if any(matcher.name == "le" for matcher in selector.matchers):
            report.error(
                query_at,
                "the thresholdMetric selects one bucket (le); select all buckets: the "
                "thresholds come from the objectives' value",
            )
            return None
        if selector.metric.removesuffix("_bucket").endswith("_milliseconds"):
            report.error(
                query_at,
                "a histogram in milliseconds cannot be converted: latency thresholds are "
                "compared with le in seconds",
            )
            return None
        base = common.Selector(selector.metric.removesuffix("_bucket"), selector.matchers)
        return _Indicator(
            body={"latency": {"metric": base.render()}},
            group_by=counter.group_by,
            threshold_metric=True,
            histogram=True,
        )
    if not _is_plain_selector(query):
        report.error(
            query_at,
            "a gauge thresholdMetric must be a plain selector (no rate() or sum(): each sample "
            "is compared with the objectives' value)",
        )
        return None
    report.note(
        query_at,
        f"{selector.metric} is read as a 0/1 gauge (1 good, 0 bad): each sample is one occurrence",
    )
    return _Indicator(
        body={"boolGauge": {"metric": selector.render()}},
        group_by=(),
        threshold_metric=True,
        histogram=False,
    )


def _is_plain_selector(query: str) -> bool:
    try:
        common.parse_selector(query)
    except ValueError:
        return False
    return True


def _indicator(
    sli: Mapping[str, Any], at: _At, index: _Index, report: _Report
) -> _Indicator | None:
    report.unknown_fields(at, sli, _SLI_FIELDS)
    has_ratio = "ratioMetric" in sli
    has_threshold = "thresholdMetric" in sli
    if has_ratio == has_threshold:
        report.error(at, "an SLI needs exactly one of ratioMetric or thresholdMetric")
        return None
    if has_threshold:
        return _threshold_indicator(sli["thresholdMetric"], at / "thresholdMetric", index, report)
    ratio = _mapping(sli["ratioMetric"], at / "ratioMetric", report, "ratioMetric")
    if ratio is None:
        return None
    return _ratio_indicator(ratio, at / "ratioMetric", index, report)


# --- the window ----------------------------------------------------------------------------------


def _time_window(spec: Mapping[str, Any], at: _At, report: _Report) -> dict[str, Any] | None:
    """`{window: ...}` or `{calendar: {...}}` for our spec."""
    windows = spec.get("timeWindow")
    at = at / "timeWindow"
    if windows is None:
        report.error(at, "required here: our SLOs need a rolling or calendar window")
        return None
    if not isinstance(windows, list) or len(windows) != 1:
        report.error(at, "must be a list of exactly one time window")
        return None
    at = at / 0
    window = _mapping(windows[0], at, report, "a time window")
    if window is None:
        return None
    report.unknown_fields(at, window, ("duration", "isRolling", "calendar"))
    duration = window.get("duration")
    calendar = window.get("calendar")
    rolling = window.get("isRolling", calendar is None)
    if not isinstance(duration, str) or not _SHORTHAND.match(duration):
        report.error(
            at / "duration",
            f"{duration!r} is not a duration-shorthand (a number and one of m h d w M Q Y)",
        )
        return None
    if rolling is True and calendar is not None:
        report.error(at / "isRolling", "a rolling window cannot have a calendar")
        return None
    if rolling is True:
        return _rolling(duration, at / "duration", report)
    if rolling is not False:
        report.error(at / "isRolling", f"must be true or false, got {rolling!r}")
        return None
    calendar_body = _mapping(calendar, at / "calendar", report, "calendar")
    if calendar_body is None:
        return None
    return _calendar(duration, calendar_body, at, report)


def _rolling(duration: str, at: _At, report: _Report) -> dict[str, Any] | None:
    match = _SHORTHAND.match(duration)
    assert match is not None
    count, unit = int(match.group(1)), match.group(2)
    if unit in NOMINAL_DAYS:
        days = count * NOMINAL_DAYS[unit]
        report.problem(
            at,
            f"a rolling {duration} has no fixed length; converted to {days}d "
            f"({NOMINAL_DAYS[unit]}d per {unit})",
        )
        return {"window": f"{days}d"}
    parsed = _shorthand_seconds(duration)
    assert parsed is not None
    # Prometheus' own spelling (4w -> 28d): the rules and alert texts name the window in days.
    return {"window": common.format_duration(parsed[0])}


def _calendar(
    duration: str, calendar: Mapping[str, Any], at: _At, report: _Report
) -> dict[str, Any] | None:
    report.unknown_fields(at / "calendar", calendar, ("startTime", "timeZone"))
    period = CALENDAR_PERIODS.get(duration)
    if period is None:
        report.error(
            at / "duration",
            f"a calendar window of {duration} cannot be converted: calendar windows are one "
            f"week, month, quarter or year ({', '.join(CALENDAR_PERIODS)})",
        )
        return None
    zone = calendar.get("timeZone")
    if zone is None:
        report.problem(at / "calendar" / "timeZone", "missing; converted with UTC")
        zone = "UTC"
    if not isinstance(zone, str):
        report.error(at / "calendar" / "timeZone", f"must be an IANA name, got {_type_name(zone)}")
        return None
    start = calendar.get("startTime")
    _check_period_start(start, period, at / "calendar" / "startTime", report)
    return {"calendar": {"period": period.value, "timeZone": zone}}


def _check_period_start(start: Any, period: slo.CalendarPeriod, at: _At, report: _Report) -> None:
    """Our periods start at midnight on a Monday / the 1st / a quarter's / a year's first day."""
    if start is None:
        return
    moment: datetime.datetime | None = None
    if isinstance(start, datetime.datetime):
        moment = start
    elif isinstance(start, datetime.date):
        moment = datetime.datetime.combine(start, datetime.time())
    elif isinstance(start, str):
        try:
            moment = datetime.datetime.fromisoformat(start.strip())
        except ValueError:
            moment = None
    if moment is None:
        report.problem(at, f"{start!r} is not a date with time (2022-01-01 00:00:00); ignored")
        return
    aligned = moment.time() == datetime.time()
    if period is slo.CalendarPeriod.WEEK:
        aligned = aligned and moment.weekday() == 0
    elif period is slo.CalendarPeriod.MONTH:
        aligned = aligned and moment.day == 1
    elif period is slo.CalendarPeriod.QUARTER:
        aligned = aligned and moment.day == 1 and moment.month in (1, 4, 7, 10)
    else:
        aligned = aligned and moment.day == 1 and moment.month == 1
    if not aligned:
        starts = {
            slo.CalendarPeriod.WEEK: "Mondays at 00:00",
            slo.CalendarPeriod.MONTH: "the 1st of each month at 00:00",
            slo.CalendarPeriod.QUARTER: "January, April, July and October 1st at 00:00",
            slo.CalendarPeriod.YEAR: "January 1st at 00:00",
        }[period]
        report.problem(
            at,
            f"{start} is not the start of a {period.value.lower()}; our {period.value} periods "
            f"start on {starts} in the time zone, and the SLO was converted that way",
        )


# --- objectives ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Objectives:
    objectives: list[dict[str, Any]]
    timeslice: dict[str, Any] | None
    display_names: dict[str, str]
    """Objective name -> the displayName it came from."""


def _target_percent(objective: Mapping[str, Any], at: _At, report: _Report) -> float | None:
    has_target = "target" in objective
    has_percent = "targetPercent" in objective
    if has_target == has_percent:
        report.error(at, "an objective needs exactly one of target or targetPercent")
        return None
    if has_target:
        target = _number(objective["target"])
        if target is None or not 0 < target < 1:
            report.error(
                at / "target",
                f"must be a number strictly between 0 and 1, got {objective['target']!r}",
            )
            return None
        return round(target * 100, 10)
    percent = _number(objective["targetPercent"])
    if percent is None or not 0 < percent < 100:
        report.error(
            at / "targetPercent",
            f"must be a number strictly between 0 and 100, got {objective['targetPercent']!r}",
        )
        return None
    return percent


def _threshold(
    objective: Mapping[str, Any], indicator: _Indicator, at: _At, report: _Report
) -> str | None:
    """The objective's `threshold` for a thresholdMetric histogram; checks op/value otherwise."""
    op = objective.get("op")
    value = objective.get("value")
    if not indicator.threshold_metric:
        for key in ("op", "value"):
            if key in objective:
                report.note(
                    at / key,
                    "op and value only apply to a thresholdMetric; ignored for a ratioMetric",
                )
        if indicator.threshold_seconds is None:
            return None
        return common.format_duration(indicator.threshold_seconds)
    number = _number(value)
    if number is None:
        report.error(at / "value", f"required: a number to compare the metric with, got {value!r}")
        return None
    if indicator.histogram:
        if op not in ("lt", "lte"):
            report.error(
                at / "op",
                f"op {op!r} cannot be converted for a latency histogram: a request is good when "
                "it is faster than the threshold (lt or lte)",
            )
            return None
        if op == "lt":
            report.note(
                at / "op",
                "lt is counted as lte: a histogram bucket counts observations <= its le",
            )
        if number <= 0 or abs(number * 1000 - round(number * 1000)) > 1e-9 * max(1, number):
            report.error(
                at / "value",
                f"{number!r} must be a positive number of seconds in whole milliseconds "
                "(a bucket boundary, e.g. 0.2)",
            )
            return None
        return common.format_duration(number)
    good = (op == "gt" and 0 <= number < 1) or (op == "gte" and 0 < number <= 1)
    if not good:
        report.error(
            at / "op",
            f"{op} {value!r} cannot be converted for a 0/1 gauge: a sample is good when it is 1 "
            "(op gt with a value in [0, 1), or gte with a value in (0, 1])",
        )
        return None
    return None


def _objectives(
    spec: Mapping[str, Any],
    indicator: _Indicator,
    method: slo.BudgetingMethod,
    at: _At,
    report: _Report,
) -> _Objectives | None:
    items = spec.get("objectives")
    at = at / "objectives"
    if not isinstance(items, list) or not items:
        report.error(at, "required: a list of at least one objective")
        return None
    if len(items) > 1 and indicator.threshold_metric:
        report.note(
            at,
            "OpenSLO v1 allows one objective with a thresholdMetric; several are converted as "
            "tiers, each with its own op and value",
        )
    objectives: list[dict[str, Any]] = []
    display_names: dict[str, str] = {}
    slices: set[tuple[str, float | None]] = set()
    failed = False
    for number, item in enumerate(items):
        item_at = at / number
        objective = _mapping(item, item_at, report, "an objective")
        if objective is None:
            failed = True
            continue
        report.unknown_fields(item_at, objective, _OBJECTIVE_FIELDS)
        composite = [
            key for key in ("indicator", "indicatorRef", "compositeWeight") if key in objective
        ]
        for key in composite:
            report.error(
                item_at / key,
                "composite SLOs (an indicator per objective) cannot be converted: our SLO has one "
                "indicator and one error budget per objective; convert each SLI as its own SLO",
            )
        target = _target_percent(objective, item_at, report)
        threshold = _threshold(objective, indicator, item_at, report)
        timeslice = _timeslice(objective, method, item_at, report)
        if composite or target is None or (indicator.histogram and threshold is None):
            failed = True
            continue
        if timeslice is not None:
            slices.add(timeslice)
        display = objective.get("displayName")
        name = slug(display) if isinstance(display, str) else ""
        if not name or name in display_names:
            name = f"objective-{number + 1}"
        if isinstance(display, str):
            display_names[name] = display
        converted: dict[str, Any] = {"name": name, "target": target}
        if threshold is not None:
            converted["threshold"] = threshold
        objectives.append(converted)
    if failed:
        return None
    timeslice_body: dict[str, Any] | None = None
    if method is not slo.BudgetingMethod.OCCURRENCES:
        if len(slices) != 1:
            report.error(
                at,
                "every objective must have the same timeSliceWindow and timeSliceTarget: our SLO "
                "has one slice definition for all its objectives",
            )
            return None
        ((duration, slice_target),) = slices
        timeslice_body = {"duration": duration, "target": slice_target if slice_target else 100}
    return _Objectives(objectives, timeslice_body, display_names)


def _timeslice(
    objective: Mapping[str, Any], method: slo.BudgetingMethod, at: _At, report: _Report
) -> tuple[str, float | None] | None:
    """(slice duration, slice target percent) of one objective, for the timeslice methods."""
    window = objective.get("timeSliceWindow")
    target = objective.get("timeSliceTarget")
    if method is slo.BudgetingMethod.OCCURRENCES:
        for key in ("timeSliceWindow", "timeSliceTarget"):
            if key in objective:
                report.note(at / key, "only used by the timeslice budgeting methods; ignored")
        return None
    if window is None:
        report.error(at / "timeSliceWindow", f"required for budgetingMethod {method.value}")
        return None
    if isinstance(window, int) and not isinstance(window, bool) and window > 0:
        duration = f"{window}m"  # a bare number is minutes (OpenSLO v1)
    else:
        parsed = _shorthand_seconds(window)
        if parsed is None:
            report.error(
                at / "timeSliceWindow",
                f"{window!r} is not a duration-shorthand in m, h, d or w (or minutes)",
            )
            return None
        duration = common.format_duration(parsed[0])
    percent: float | None = None
    if method is slo.BudgetingMethod.TIMESLICES:
        number = _number(target)
        if number is None or not 0 < number <= 1:
            report.error(
                at / "timeSliceTarget",
                f"required for Timeslices: a number in (0, 1], got {target!r}",
            )
            return None
        percent = round(number * 100, 10)
    elif target is not None:
        report.note(at / "timeSliceTarget", "only used by Timeslices; ignored for RatioTimeslices")
    return duration, percent


# --- alerting ------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Route:
    enabled: bool = False
    severity: str | None = None
    matched: set[tuple[int, float]] = dataclasses.field(default_factory=set)


def _resolve_named(
    item: Any, ref_key: str, kind: str, at: _At, index: _Index, report: _Report
) -> tuple[Mapping[str, Any], Mapping[str, Any], _At] | None:
    """(metadata, spec, where) of an inline object or of the document a `*Ref` names."""
    body = _mapping(item, at, report, f"an {kind} or {ref_key}")
    if body is None:
        return None
    if ref_key in body:
        ref = body[ref_key]
        document = index.find(kind, ref) if isinstance(ref, str) else None
        if document is None:
            report.problem(at / ref_key, f"no {kind} named {ref!r} in the input files; ignored")
            return None
        body, where = document.body, _At(document)
    else:
        report.unknown_fields(at, body, ("apiVersion", "kind", "metadata", "spec"))
        where = at
    metadata = body.get("metadata")
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        report.problem(where / "spec", f"an {kind} needs a spec mapping; ignored")
        return None
    return (metadata if isinstance(metadata, Mapping) else {}), spec, where


def _string_map(value: Any, at: _At, report: _Report, what: str) -> dict[str, str]:
    """Labels or annotations with Prometheus label names and one string value each."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        report.problem(at, f"must be a mapping; not converted into {what}")
        return {}
    result: dict[str, str] = {}
    for key, item in value.items():
        key_text = str(key)
        if isinstance(key, str) and key.startswith(OUR_ANNOTATION_PREFIX):
            continue
        if not _LABEL_NAME.match(key_text) or key_text.startswith("__"):
            report.problem(
                at / key_text,
                f"{key_text!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*); not "
                f"converted into {what}",
            )
            continue
        text = item[0] if isinstance(item, list) and len(item) == 1 else item
        if not isinstance(text, str):
            report.problem(
                at / key_text,
                f"{what} have one string value; {_type_name(item)} is not converted",
            )
            continue
        result[key_text] = text
    return result


def _alerting(
    spec: Mapping[str, Any],
    window_seconds: int,
    at: _At,
    index: _Index,
    report: _Report,
) -> dict[str, Any]:
    """Our `alerting` from the SLO's alert policies, judged against the burn-rate table."""
    policies = spec.get("alertPolicies")
    at = at / "alertPolicies"
    if policies is None or policies == []:
        return {"enabled": False}
    if not isinstance(policies, list):
        report.problem(at, "must be a list of alert policies; alerting disabled")
        return {"enabled": False}
    table: dict[str, burn_rates.BurnAlert] = {
        alert.severity: alert for alert in burn_rate_table(window_seconds)
    }
    routes: dict[str, _Route] = {"page": _Route(), "ticket": _Route()}
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    no_data = False
    for number, item in enumerate(policies):
        resolved = _resolve_named(item, "alertPolicyRef", "AlertPolicy", at / number, index, report)
        if resolved is None:
            continue
        metadata, policy, where = resolved
        report.unknown_fields(where / "spec", policy, _POLICY_FIELDS)
        for name, value in _string_map(
            metadata.get("labels"), where / "metadata" / "labels", report, "alert labels"
        ).items():
            if labels.setdefault(name, value) != value:
                report.problem(
                    where / "metadata" / "labels" / name,
                    f"another alert policy sets {name}={labels[name]!r}; kept that",
                )
        annotations.update(
            _string_map(
                metadata.get("annotations"),
                where / "metadata" / "annotations",
                report,
                "alert annotations",
            )
        )
        if policy.get("alertWhenNoData") is True:
            no_data = True
        if policy.get("alertWhenResolved") is True:
            report.note(
                where / "spec" / "alertWhenResolved",
                "resolved notifications are Alertmanager's send_resolved setting",
            )
        targets = policy.get("notificationTargets")
        for target in targets if isinstance(targets, list) else []:
            if isinstance(target, Mapping) and isinstance(target.get("targetRef"), str):
                index.find("AlertNotificationTarget", target["targetRef"])
        if targets:
            report.note(
                where / "spec" / "notificationTargets",
                "notification targets are Alertmanager's routing; route on the alerts' labels "
                "(slo, severity and the policy's labels)",
            )
        if policy.get("alertWhenBreaching") is False:
            report.note(
                where / "spec" / "alertWhenBreaching",
                "false: this policy's conditions are not converted into alerts",
            )
            continue
        conditions = policy.get("conditions")
        if not isinstance(conditions, list) or not conditions:
            report.problem(where / "spec" / "conditions", "required: a list of conditions")
            continue
        for position, condition in enumerate(conditions):
            _condition(
                condition,
                table,
                routes,
                where / "spec" / "conditions" / position,
                index,
                report,
            )
    alerting: dict[str, Any] = {}
    if labels:
        alerting["labels"] = labels
    if annotations:
        alerting["annotations"] = annotations
    for severity, route in routes.items():
        body: dict[str, Any] = {"enabled": route.enabled}
        if route.enabled:
            body["labels"] = {"severity": route.severity or _DEFAULT_SEVERITY[severity]}
            for condition in table[severity].conditions:
                key = (condition.long_seconds, condition.factor)
                if key not in route.matched:
                    report.problem(
                        at,
                        f"the {severity} alert also fires at {_condition_text(condition)}, which "
                        "no alert condition asks for",
                    )
        alerting[severity] = body
    alerting["noData"] = {"enabled": no_data}
    if not any(route.enabled for route in routes.values()) and not no_data:
        return {"enabled": False}
    return alerting


_DEFAULT_SEVERITY = {"page": "critical", "ticket": "warning"}


def burn_rate_table(window_seconds: int) -> tuple[burn_rates.BurnAlert, ...]:
    """The alerts our rules generate for a window (what imported conditions are judged by)."""
    return burn_rates.burn_rate_alerts(window_seconds)


def _condition_text(condition: burn_rates.BurnCondition) -> str:
    return (
        f"burn rate > {condition.factor:g} over {condition.long_label} "
        f"(and {condition.short_label})"
    )


def _condition(
    item: Any,
    table: Mapping[str, burn_rates.BurnAlert],
    routes: dict[str, _Route],
    at: _At,
    index: _Index,
    report: _Report,
) -> None:
    resolved = _resolve_named(item, "conditionRef", "AlertCondition", at, index, report)
    if resolved is None:
        return
    _, spec, where = resolved
    report.unknown_fields(where / "spec", spec, _CONDITION_FIELDS)
    condition_at = where / "spec" / "condition"
    condition = spec.get("condition")
    if not isinstance(condition, Mapping):
        report.problem(condition_at, "required: a condition mapping; not converted")
        return
    report.unknown_fields(condition_at, condition, _BURN_RATE_FIELDS)
    kind = condition.get("kind", "burnrate")
    if kind != "burnrate":
        report.problem(
            condition_at / "kind", f"only burnrate conditions can be converted, not {kind!r}"
        )
        return
    op = condition.get("op")
    if op not in ("gt", "gte"):
        report.problem(
            condition_at / "op",
            f"op {op!r}: a burn-rate alert fires when the budget burns faster than a threshold "
            "(gt or gte); not converted",
        )
        return
    threshold = _number(condition.get("threshold"))
    lookback = _shorthand_seconds(condition.get("lookbackWindow"))
    if threshold is None or threshold <= 0:
        report.problem(condition_at / "threshold", "required: a positive burn rate; not converted")
        return
    if lookback is None:
        report.problem(
            condition_at / "lookbackWindow",
            f"{condition.get('lookbackWindow')!r} is not a duration-shorthand in m, h, d or w; "
            "not converted",
        )
        return
    seconds = lookback[0]
    page_longest = max(c.long_seconds for c in table["page"].conditions)
    exact = [
        (severity, candidate)
        for severity, alert in table.items()
        for candidate in alert.conditions
        if candidate.long_seconds == seconds and math.isclose(candidate.factor, threshold)
    ]
    if exact:
        severity, matched = exact[0]
        routes[severity].matched.add((matched.long_seconds, matched.factor))
    else:
        severity = "page" if seconds <= page_longest else "ticket"
        generated = "; or ".join(_condition_text(c) for c in table[severity].conditions)
        report.problem(
            condition_at,
            f"burn rate > {threshold:g} over {condition.get('lookbackWindow')} is not one of the "
            f"conditions generated for this window; converted into the {severity} alert, which "
            f"fires at {generated}",
        )
    route = routes[severity]
    route.enabled = True
    alert_after = condition.get("alertAfter")
    if alert_after is not None:
        parsed = _shorthand_seconds(alert_after)
        if alert_after not in ("0m", "0s") and (
            parsed is None or parsed[0] != table[severity].for_seconds
        ):
            report.problem(
                condition_at / "alertAfter",
                f"the {severity} alert waits for "
                f"{common.format_duration(table[severity].for_seconds)} (for:), not {alert_after}",
            )
    severity_label = spec.get("severity")
    if isinstance(severity_label, str) and severity_label:
        if route.severity is None:
            route.severity = severity_label
        elif route.severity != severity_label:
            report.problem(
                where / "spec" / "severity",
                f"the {severity} alert has one severity label; kept {route.severity!r}",
            )
    else:
        report.problem(where / "spec" / "severity", "required: a severity string")


# --- one SLO -------------------------------------------------------------------------------------


def _budgeting_method(
    spec: Mapping[str, Any], at: _At, report: _Report
) -> slo.BudgetingMethod | None:
    value = spec.get("budgetingMethod")
    if value is None:
        report.problem(at / "budgetingMethod", "required in OpenSLO; converted as Occurrences")
        return slo.BudgetingMethod.OCCURRENCES
    for method in slo.BudgetingMethod:
        if isinstance(value, str) and value.lower() == method.value.lower():
            return method
    report.error(
        at / "budgetingMethod",
        f"expected Occurrences, Timeslices or RatioTimeslices, got {value!r}",
    )
    return None


def _convert_slo(
    document: validation.Document,
    index: _Index,
    namespace: str | None,
    report: _Report,
) -> dict[str, Any] | None:
    at = _At(document)
    body = document.body
    report.unknown_fields(at, body, ("apiVersion", "kind", "metadata", "spec"))
    metadata = _mapping(body.get("metadata"), at / "metadata", report, "metadata")
    spec = _mapping(body.get("spec"), at / "spec", report, "spec")
    if metadata is None or spec is None:
        return None
    report.unknown_fields(at / "metadata", metadata, _METADATA_FIELDS)
    spec_at = at / "spec"
    report.unknown_fields(spec_at, spec, _SLO_FIELDS)
    name = str(metadata.get("name"))

    service = _text(spec.get("service"))
    if service is None:
        report.error(spec_at / "service", "required: the service this SLO is about")
    else:
        index.find("Service", service)
    method = _budgeting_method(spec, spec_at, report)
    resolved = _resolve_indicator(spec, spec_at, index, report)
    indicator = None if resolved is None else _indicator(*resolved, index, report)
    window = _time_window(spec, spec_at, report)
    objectives = None
    if indicator is not None and method is not None:
        objectives = _objectives(spec, indicator, method, spec_at, report)
    if service is None or method is None or indicator is None or window is None:
        return None
    if objectives is None:
        return None

    our_spec: dict[str, Any] = {"service": service}
    description = _text(spec.get("description"))
    sli_description = _text(resolved[0].get("description")) if resolved else None
    if description is None and sli_description is not None:
        description = sli_description
    elif sli_description is not None and resolved is not None:
        report.note(resolved[1] / "description", "the SLO's description is kept; this one is not")
    if description is not None:
        our_spec["description"] = description
    labels = _string_map(metadata.get("labels"), at / "metadata" / "labels", report, "labels")
    if labels:
        our_spec["labels"] = labels
    our_spec["indicator"] = indicator.body
    our_spec.update(window)
    our_spec["budgetingMethod"] = method.value
    if objectives.timeslice is not None:
        our_spec["timeslice"] = objectives.timeslice
    our_spec["objectives"] = objectives.objectives
    primary = _primary_objective(metadata, objectives, at / "metadata" / "annotations", report)
    if primary is not None:
        our_spec["primaryObjective"] = primary
    if indicator.group_by:
        our_spec["groupBy"] = list(indicator.group_by)
    window_seconds = (
        int(common.parse_duration_seconds(window["window"]))
        if "window" in window
        else series.CALENDAR_NOMINAL_SECONDS[slo.CalendarPeriod(window["calendar"]["period"])]
    )
    our_spec["alerting"] = _alerting(spec, window_seconds, spec_at, index, report)

    our_metadata: dict[str, Any] = {"name": name}
    if namespace:
        our_metadata["namespace"] = namespace
    annotations = _object_annotations(metadata, at / "metadata", report)
    if annotations:
        our_metadata["annotations"] = annotations
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": our_metadata,
        "spec": our_spec,
    }


DISPLAY_NAME_ANNOTATION = "openslo.com/display-name"
"""Where an SLO's `metadata.displayName` is kept on our manifest."""


def _object_annotations(metadata: Mapping[str, Any], at: _At, report: _Report) -> dict[str, str]:
    """OpenSLO annotations (except ours, which are read) and the display name, as annotations."""
    result: dict[str, str] = {}
    display = metadata.get("displayName")
    if isinstance(display, str) and display:
        result[DISPLAY_NAME_ANNOTATION] = display
    annotations = metadata.get("annotations")
    if annotations is None:
        return result
    if not isinstance(annotations, Mapping):
        report.problem(at / "annotations", "must be a mapping; not converted")
        return result
    for key, value in annotations.items():
        key_text = str(key)
        if key_text.startswith(OUR_ANNOTATION_PREFIX):
            if key_text != PRIMARY_OBJECTIVE_ANNOTATION:
                report.problem(
                    at / "annotations" / key_text,
                    f"unknown annotation; the only one read is {PRIMARY_OBJECTIVE_ANNOTATION}",
                )
            continue
        if not isinstance(value, str):
            report.problem(at / "annotations" / key_text, "must be a string; not converted")
            continue
        result[key_text] = value
    return result


def _primary_objective(
    metadata: Mapping[str, Any], objectives: _Objectives, at: _At, report: _Report
) -> str | None:
    annotations = metadata.get("annotations")
    if not isinstance(annotations, Mapping) or PRIMARY_OBJECTIVE_ANNOTATION not in annotations:
        return None
    wanted = annotations[PRIMARY_OBJECTIVE_ANNOTATION]
    for objective in objectives.objectives:
        name = objective["name"]
        if wanted in (name, objectives.display_names.get(name)):
            return str(name)
    report.problem(
        at / PRIMARY_OBJECTIVE_ANNOTATION,
        f"{wanted!r} names no objective (by displayName or name); the first objective is primary",
    )
    return None


def _model_findings(
    problems: Sequence[validation.Problem], document: validation.Document, report: _Report
) -> None:
    for problem in problems:
        report.error(
            _At(document),
            f"the converted manifest is invalid at {problem.field or 'the top'}: {problem.message}",
        )


def convert_documents(
    documents: Sequence[validation.Document], namespace: str | None = None
) -> Conversion:
    """Convert every OpenSLO `SLO` among `documents`; the others are resolved by reference."""
    conversion = Conversion()
    index, slo_documents = _index_documents(documents, conversion.findings)
    for document in slo_documents:
        report = _Report(conversion.findings)
        manifest = _convert_slo(document, index, namespace, report)
        if manifest is not None and not report.failed:
            checked = checks.check_resource(manifest, document.source, document.index)
            if isinstance(checked, list):
                _model_findings(checked, document, report)
            elif isinstance(checked, slo.ServiceLevelObjective):
                conversion.converted.append(Converted(document, manifest, checked))
                continue
        conversion.not_converted.append(document)
    for kind, named in index.by_kind.items():
        if kind == "SLO":
            continue
        for name, document in named.items():
            if (kind, name) not in index.referenced:
                conversion.findings.append(
                    Finding(
                        document.source,
                        document.index,
                        "",
                        f"{kind} {name!r} is not used by any SLO in the input; nothing converted",
                        Severity.NOTE,
                    )
                )
    return conversion
