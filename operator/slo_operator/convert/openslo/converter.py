"""One SLO document into one manifest, and the conversion of a whole input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...api import common, slo, validation
from ...rules import checks, series
from . import (
    alerts,
    indicators,
    objective_targets,
    reading,
    references,
    reporting,
    time_windows,
    vocabulary,
)


def _budgeting_method(
    spec: Mapping[str, Any], at: reporting.At, report: reporting.Report
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


_COMPOSITE_FIELDS = ("indicator", "indicatorRef", "compositeWeight")


def _composite(
    spec: Mapping[str, Any], at: reporting.At, name: str, report: reporting.Report
) -> bool:
    """Whether this is an OpenSLO composite SLO (objectives with their own indicators and
    weights), which has no equivalent here: reported by name, with the objectives that make it
    one, instead of as a missing `spec.indicator`."""
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or "indicator" in spec or "indicatorRef" in spec:
        return False  # with an SLO-level indicator, each objective's extra is reported itself
    parts = [
        f"objectives[{number}]"
        for number, objective in enumerate(objectives)
        if isinstance(objective, Mapping) and any(key in objective for key in _COMPOSITE_FIELDS)
    ]
    if not parts:
        return False
    report.error(
        at / "objectives",
        f"composite SLOs are not supported: SLO {name!r} gives {', '.join(parts)} their own "
        "indicator or compositeWeight; write one SLO per indicator instead",
    )
    return True


def _convert_slo(
    document: validation.Document,
    index: references.Index,
    namespace: str | None,
    report: reporting.Report,
) -> dict[str, Any] | None:
    at = reporting.At(document)
    if (parts := _metadata_and_spec(document, at, report)) is None:
        return None
    metadata, spec = parts
    spec_at = at / "spec"
    name = str(metadata.get("name"))

    service = _service(spec, spec_at, index, report)
    if _composite(spec, spec_at, name, report):
        return None
    method = _budgeting_method(spec, spec_at, report)
    resolved = indicators.resolve_indicator(spec, spec_at, index, report)
    indicator = None if resolved is None else indicators.convert_indicator(*resolved, index, report)
    window = time_windows.convert_time_window(spec, spec_at, report)
    objectives = None
    if indicator is not None and method is not None:
        objectives = objective_targets.convert_objectives(spec, indicator, method, spec_at, report)
    if service is None or method is None or indicator is None or window is None:
        return None
    if objectives is None:
        return None

    our_spec: dict[str, Any] = {"service": service}
    description = _description(spec, resolved, report)
    if description is not None:
        our_spec["description"] = description
    labels = alerts.string_map(metadata.get("labels"), at / "metadata" / "labels", report, "labels")
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
    window_seconds = _window_seconds(window)
    our_spec["alerting"] = alerts.convert_alerting(spec, window_seconds, spec_at, index, report)
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


def _service(
    spec: Mapping[str, Any], at: reporting.At, index: references.Index, report: reporting.Report
) -> str | None:
    """The required `service`; a Service document of that name counts as used."""
    service = reading.as_text(spec.get("service"))
    if service is None:
        report.error(at / "service", "required: the service this SLO is about")
    else:
        index.find("Service", service)
    return service


def _metadata_and_spec(
    document: validation.Document, at: reporting.At, report: reporting.Report
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """The SLO document's metadata and spec, unknown fields reported; None if either is not
    a mapping."""
    body = document.body
    report.unknown_fields(at, body, ("apiVersion", "kind", "metadata", "spec"))
    metadata = reading.as_mapping(body.get("metadata"), at / "metadata", report, "metadata")
    spec = reading.as_mapping(body.get("spec"), at / "spec", report, "spec")
    if metadata is None or spec is None:
        return None
    report.unknown_fields(at / "metadata", metadata, vocabulary.METADATA_FIELDS)
    report.unknown_fields(at / "spec", spec, vocabulary.SLO_FIELDS)
    return metadata, spec


def _description(
    spec: Mapping[str, Any],
    resolved: tuple[Mapping[str, Any], reporting.At] | None,
    report: reporting.Report,
) -> str | None:
    """The SLO's description, else its SLI's; a note when the SLI's is dropped."""
    description = reading.as_text(spec.get("description"))
    sli_description = reading.as_text(resolved[0].get("description")) if resolved else None
    if description is None and sli_description is not None:
        return sli_description
    if sli_description is not None and resolved is not None:
        report.note(resolved[1] / "description", "the SLO's description is kept; this one is not")
    return description


def _window_seconds(window: Mapping[str, Any]) -> int:
    """Seconds of our rolling window, or the nominal length of our calendar period."""
    if "window" in window:
        return int(common.parse_duration_seconds(window["window"]))
    return series.CALENDAR_NOMINAL_SECONDS[slo.CalendarPeriod(window["calendar"]["period"])]


DISPLAY_NAME_ANNOTATION = "openslo.com/display-name"
"""Where an SLO's `metadata.displayName` is kept on our manifest."""


def _object_annotations(
    metadata: Mapping[str, Any], at: reporting.At, report: reporting.Report
) -> dict[str, str]:
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
        if key_text.startswith(vocabulary.OUR_ANNOTATION_PREFIX):
            if key_text != vocabulary.PRIMARY_OBJECTIVE_ANNOTATION:
                report.problem(
                    at / "annotations" / key_text,
                    "unknown annotation; the only one read is "
                    f"{vocabulary.PRIMARY_OBJECTIVE_ANNOTATION}",
                )
            continue
        if not isinstance(value, str):
            report.problem(at / "annotations" / key_text, "must be a string; not converted")
            continue
        result[key_text] = value
    return result


def _primary_objective(
    metadata: Mapping[str, Any],
    objectives: objective_targets.Objectives,
    at: reporting.At,
    report: reporting.Report,
) -> str | None:
    annotations = metadata.get("annotations")
    if (
        not isinstance(annotations, Mapping)
        or vocabulary.PRIMARY_OBJECTIVE_ANNOTATION not in annotations
    ):
        return None
    wanted = annotations[vocabulary.PRIMARY_OBJECTIVE_ANNOTATION]
    for objective in objectives.objectives:
        name = objective["name"]
        if wanted in (name, objectives.display_names.get(name)):
            return str(name)
    report.problem(
        at / vocabulary.PRIMARY_OBJECTIVE_ANNOTATION,
        f"{wanted!r} names no objective (by displayName or name); the first objective is primary",
    )
    return None


_INPUT_FIELDS = {
    "metadata.name": ("metadata", "name"),
    "spec.service": ("spec", "service"),
    "spec.description": ("spec", "description"),
    "spec.window": ("spec", "timeWindow"),
    "spec.calendar": ("spec", "timeWindow"),
    "spec.objectives": ("spec", "objectives"),
    "spec.primaryObjective": ("spec", "objectives"),
    "spec.indicator": ("spec", "indicator"),
    "spec.groupBy": ("spec", "indicator"),
    "spec.budgetingMethod": ("spec", "budgetingMethod"),
    "spec.timeslice": ("spec", "budgetingMethod"),
    "spec.alerting": ("spec", "alertPolicies"),
}
"""Where in the OpenSLO document a field of the converted manifest came from (its first two
parts; objectives keep their index), so a refusal points at what the user wrote."""


def _input_at(field: str, document: validation.Document) -> reporting.At:
    at = reporting.At(document)
    head = ".".join(field.split(".")[:2]).split("[")[0]
    for part in _INPUT_FIELDS.get(head, ()):
        at = at / part
    if head == "spec.objectives" and field.startswith("spec.objectives["):
        at = at / int(field[len("spec.objectives[") :].split("]", 1)[0])
    return at


def _model_findings(
    problems: Sequence[validation.Problem], document: validation.Document, report: reporting.Report
) -> None:
    for problem in problems:
        report.error(
            _input_at(problem.field, document),
            f"the converted manifest is invalid at {problem.field or 'the top'}: {problem.message}",
        )


def convert_documents(
    documents: Sequence[validation.Document], namespace: str | None = None
) -> reporting.Conversion:
    """Convert every OpenSLO `SLO` among `documents`; the others are resolved by reference."""
    conversion = reporting.Conversion()
    index, slo_documents = references.index_documents(documents, conversion.findings)
    for document in slo_documents:
        report = reporting.Report(conversion.findings)
        manifest = _convert_slo(document, index, namespace, report)
        if manifest is not None and not report.failed:
            checked = checks.check_resource(manifest, document.source, document.index)
            if isinstance(checked, list):
                _model_findings(checked, document, report)
            elif isinstance(checked, slo.ServiceLevelObjective):
                conversion.converted.append(reporting.Converted(document, manifest, checked))
                continue
        conversion.not_converted.append(document)
    for kind, named in index.by_kind.items():
        if kind == "SLO":
            continue
        for name, document in named.items():
            if (kind, name) not in index.referenced:
                conversion.findings.append(
                    reporting.Finding(
                        document.source,
                        document.index,
                        "",
                        f"{kind} {name!r} is not used by any SLO in the input; nothing converted",
                        reporting.Severity.NOTE,
                    )
                )
    return conversion


def locate(
    findings: Sequence[reporting.Finding], documents: Sequence[validation.Document]
) -> list[reporting.Finding]:
    """The findings as `file:line:column: Kind name: field: message` (`reporting.locate`)."""
    return reporting.locate(findings, documents, vocabulary.KINDS)
