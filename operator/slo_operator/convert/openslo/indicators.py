"""The indicator: an OpenSLO SLI (inline or referenced) as our ratio, latency or boolGauge."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ...api import common
from .. import promql
from . import reading, references, reporting, vocabulary


@dataclasses.dataclass(frozen=True)
class Indicator:
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


def resolve_indicator(
    spec: Mapping[str, Any], at: reporting.At, index: references.Index, report: reporting.Report
) -> tuple[Mapping[str, Any], reporting.At] | None:
    """The SLI spec (inline or referenced) and where it is."""
    inline = spec.get("indicator")
    ref = spec.get("indicatorRef")
    if inline is not None and ref is not None:
        report.error(at / "indicatorRef", "give either indicator or indicatorRef, not both")
        return None
    if inline is not None:
        indicator = reading.as_mapping(inline, at / "indicator", report, "indicator")
        if indicator is None:
            return None
        inline_fields = ("metadata", "spec", "apiVersion", "kind")
        report.unknown_fields(at / "indicator", indicator, inline_fields)
        sli_at = at / "indicator" / "spec"
        sli_spec = reading.as_mapping(indicator.get("spec"), sli_at, report, "indicator.spec")
        return None if sli_spec is None else (sli_spec, sli_at)
    if ref is None:
        report.error(at / "indicator", "required: an SLO needs indicator or indicatorRef")
        return None
    if not isinstance(ref, str):
        report.error(
            at / "indicatorRef", f"must be the name of an SLI, got {reading.type_name(ref)}"
        )
        return None
    document = index.find("SLI", ref)
    if document is None:
        report.error(at / "indicatorRef", f"no SLI named {ref!r} in the input files")
        return None
    sli_at = reporting.At(document, ("spec",))
    sli_spec = reading.as_mapping(document.body.get("spec"), sli_at, report, "spec")
    return None if sli_spec is None else (sli_spec, sli_at)


def _metric_query(
    metric: Any, at: reporting.At, index: references.Index, report: reporting.Report
) -> tuple[str, reporting.At] | None:
    """The Prometheus query of a metric (`{metricSource: {type, metricSourceRef, spec}}`)."""
    body = reading.as_mapping(metric, at, report, "a metric")
    if body is None:
        return None
    report.unknown_fields(at, body, ("metricSource",))
    source_at = at / "metricSource"
    source = reading.as_mapping(body.get("metricSource"), source_at, report, "metricSource")
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
    if not isinstance(source_type, str) or source_type.lower() not in vocabulary.PROMETHEUS_TYPES:
        report.error(
            source_at / "type",
            f"metric source type {source_type!r} is not supported: only Prometheus (and what "
            "speaks its API: Thanos, Mimir, VictoriaMetrics) can be converted",
        )
        return None
    spec_at = source_at / "spec"
    source_spec = reading.as_mapping(source.get("spec"), spec_at, report, "metricSource.spec")
    if source_spec is None:
        return None
    for key in source_spec:
        if key != "query":
            report.problem(
                spec_at / str(key),
                "only the query of a Prometheus metric source is converted; this field is not",
            )
    query = reading.as_text(source_spec.get("query"))
    if query is None:
        report.error(spec_at / "query", "required: a Prometheus metric source needs a query")
        return None
    return query, spec_at / "query"


def _counter(
    metric: Any, at: reporting.At, index: references.Index, report: reporting.Report
) -> tuple[promql.CounterQuery, reporting.At] | None:
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
    ratio: Mapping[str, Any], at: reporting.At, index: references.Index, report: reporting.Report
) -> Indicator | None:
    report.unknown_fields(at, ratio, vocabulary.RATIO_FIELDS)
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
            return Indicator(
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
    return Indicator(body=body, group_by=group_by, threshold_metric=False, histogram=False)


def _threshold_indicator(
    metric: Any, at: reporting.At, index: references.Index, report: reporting.Report
) -> Indicator | None:
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
        return Indicator(
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
    return Indicator(
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


def convert_indicator(
    sli: Mapping[str, Any], at: reporting.At, index: references.Index, report: reporting.Report
) -> Indicator | None:
    report.unknown_fields(at, sli, vocabulary.SLI_FIELDS)
    has_ratio = "ratioMetric" in sli
    has_threshold = "thresholdMetric" in sli
    if has_ratio == has_threshold:
        report.error(at, "an SLI needs exactly one of ratioMetric or thresholdMetric")
        return None
    if has_threshold:
        return _threshold_indicator(sli["thresholdMetric"], at / "thresholdMetric", index, report)
    ratio = reading.as_mapping(sli["ratioMetric"], at / "ratioMetric", report, "ratioMetric")
    if ratio is None:
        return None
    return _ratio_indicator(ratio, at / "ratioMetric", index, report)
