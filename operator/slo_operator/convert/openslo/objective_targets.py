"""Objectives: targets, latency thresholds and timeslices."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ...api import common, slo
from . import indicators, reading, reporting, vocabulary


@dataclasses.dataclass(frozen=True)
class Objectives:
    objectives: list[dict[str, Any]]
    timeslice: dict[str, Any] | None
    display_names: dict[str, str]
    """Objective name -> the displayName it came from."""


def _target_percent(
    objective: Mapping[str, Any], at: reporting.At, report: reporting.Report
) -> float | None:
    has_target = "target" in objective
    has_percent = "targetPercent" in objective
    if has_target == has_percent:
        report.error(at, "an objective needs exactly one of target or targetPercent")
        return None
    if has_target:
        target = reading.as_number(objective["target"])
        if target is None or not 0 < target < 1:
            report.error(
                at / "target",
                f"must be a number strictly between 0 and 1, got {objective['target']!r}",
            )
            return None
        return round(target * 100, 10)
    percent = reading.as_number(objective["targetPercent"])
    if percent is None or not 0 < percent < 100:
        report.error(
            at / "targetPercent",
            f"must be a number strictly between 0 and 100, got {objective['targetPercent']!r}",
        )
        return None
    return percent


def _threshold(
    objective: Mapping[str, Any],
    indicator: indicators.Indicator,
    at: reporting.At,
    report: reporting.Report,
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
    number = reading.as_number(value)
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


def convert_objectives(
    spec: Mapping[str, Any],
    indicator: indicators.Indicator,
    method: slo.BudgetingMethod,
    at: reporting.At,
    report: reporting.Report,
) -> Objectives | None:
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
        objective = reading.as_mapping(item, item_at, report, "an objective")
        if objective is None:
            failed = True
            continue
        report.unknown_fields(item_at, objective, vocabulary.OBJECTIVE_FIELDS)
        composite = _composite_keys(objective, item_at, report)
        target = _target_percent(objective, item_at, report)
        threshold = _threshold(objective, indicator, item_at, report)
        timeslice = _timeslice(objective, method, item_at, report)
        if composite or target is None or (indicator.histogram and threshold is None):
            failed = True
            continue
        if timeslice is not None:
            slices.add(timeslice)
        display = objective.get("displayName")
        name = reading.slug(display) if isinstance(display, str) else ""
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
    if method is slo.BudgetingMethod.OCCURRENCES:
        return Objectives(objectives, None, display_names)
    timeslice_body = _one_timeslice(slices, at, report)
    if timeslice_body is None:
        return None
    return Objectives(objectives, timeslice_body, display_names)


def _one_timeslice(
    slices: set[tuple[str, float | None]], at: reporting.At, report: reporting.Report
) -> dict[str, Any] | None:
    """Our `timeslice` when every objective has the same slice; None (said why) otherwise."""
    if len(slices) != 1:
        report.error(
            at,
            "every objective must have the same timeSliceWindow and timeSliceTarget: our SLO "
            "has one slice definition for all its objectives",
        )
        return None
    ((duration, slice_target),) = slices
    body: dict[str, Any] = {"duration": duration}
    if slice_target is not None:
        body["target"] = slice_target
    return body


def _composite_keys(
    objective: Mapping[str, Any], at: reporting.At, report: reporting.Report
) -> list[str]:
    """The keys that make an objective part of a composite SLO, each an error."""
    composite = [
        key for key in ("indicator", "indicatorRef", "compositeWeight") if key in objective
    ]
    for key in composite:
        report.error(
            at / key,
            "composite SLOs (an indicator per objective) cannot be converted: our SLO has one "
            "indicator and one error budget per objective; convert each SLI as its own SLO",
        )
    return composite


def _timeslice(
    objective: Mapping[str, Any],
    method: slo.BudgetingMethod,
    at: reporting.At,
    report: reporting.Report,
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
        parsed = reading.shorthand_seconds(window)
        if parsed is None:
            report.error(
                at / "timeSliceWindow",
                f"{window!r} is not a duration-shorthand in m, h, d or w (or minutes)",
            )
            return None
        duration = common.format_duration(parsed[0])
    percent: float | None = None
    if method is slo.BudgetingMethod.TIMESLICES:
        number = reading.as_number(target)
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
