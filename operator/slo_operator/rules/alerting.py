"""Burn-rate and no-data alerts of one SLO.

Prometheus expands Go templates (`{{ ... }}`) in alert labels and annotations, so every piece
of user text that lands there goes through `escape_template`; our own templates are added
around it. Label values inside PromQL are always quoted with `quote_promql_string`.
"""

from __future__ import annotations

from ..api import common, slo
from . import burn_rates, model, recording, series

ALERT_NAMES: dict[burn_rates.Severity, str] = {
    "page": "SLOErrorBudgetBurnPage",
    "ticket": "SLOErrorBudgetBurnTicket",
}
NO_DATA_ALERT = "SLONoData"
DEFAULT_SEVERITY: dict[str, str] = {"page": "critical", "ticket": "warning", "noData": "warning"}

_TEMPLATE_OPEN = "{{"
_TEMPLATE_OPEN_LITERAL = '{{ "{{" }}'


def escape_template(text: str) -> str:
    """Text that Prometheus' alert templating prints verbatim.

    Only `{{` opens a Go template action; it is replaced by an action that prints `{{`.
    A lone `}}` is plain text outside an action.
    """
    return text.replace(_TEMPLATE_OPEN, _TEMPLATE_OPEN_LITERAL)


def _escaped(values: dict[str, str]) -> dict[str, str]:
    """Escaped values, ordered by name so the output does not depend on the manifest's order."""
    return {name: escape_template(values[name]) for name in sorted(values)}


def _number(value: float) -> str:
    return format(value, ".12g")


def _percent(value: float) -> str:
    return format(value * 100, ".4g") + "%"


def _labels(
    resource: slo.ServiceLevelObjective, route_labels: dict[str, str], severity_key: str
) -> dict[str, str]:
    """User labels, then alerting labels, then the route's, then ours (which nothing overrides)."""
    spec = resource.spec
    labels = {"severity": DEFAULT_SEVERITY[severity_key]}
    labels.update(_escaped(dict(spec.labels)))
    labels.update(_escaped(dict(spec.alerting.labels)))
    labels.update(_escaped(route_labels))
    labels.update(series.identity_labels(resource))
    return labels


def _annotations(
    resource: slo.ServiceLevelObjective, summary: str, description: str
) -> dict[str, str]:
    spec = resource.spec
    annotations = {"summary": summary, "description": description}
    # User annotations (runbook_url, dashboard, ...) win over ours, escaped like everything else.
    annotations.update(_escaped(dict(spec.alerting.annotations)))
    return annotations


def _condition_expr(
    objective_selector: dict[str, str], budget: float, condition: burn_rates.BurnCondition
) -> str:
    long_selector = series.selector(
        series.ERROR_RATIO, {**objective_selector, series.LABEL_WINDOW: condition.long_label}
    )
    short_selector = series.selector(
        series.ERROR_RATIO, {**objective_selector, series.LABEL_WINDOW: condition.short_label}
    )
    factor = _number(condition.factor)
    budget_text = _number(budget)
    window = series.LABEL_WINDOW
    return (
        f"(\n  sum without ({window}) ({long_selector}) / {budget_text} > {factor}\n"
        f"and ignoring ({window})\n"
        f"  {short_selector} / {budget_text} > {factor}\n)"
    )


def _condition_text(condition: burn_rates.BurnCondition) -> str:
    return (
        f"{condition.factor:g}x over {condition.long_label} and {condition.short_label} "
        f"({_percent(condition.budget_fraction)} of the budget in {condition.long_label})"
    )


def _burn_alert(
    resource: slo.ServiceLevelObjective,
    objective: slo.Objective,
    alert: burn_rates.BurnAlert,
    route: slo.AlertRoute,
) -> model.AlertingRule:
    spec = resource.spec
    budget = 1 - objective.target / 100
    objective_selector = series.objective_labels(resource, objective)
    expr = "\nor\n".join(
        _condition_expr(objective_selector, budget, condition) for condition in alert.conditions
    )
    if spec.calendar is not None:
        window = f"each calendar {spec.calendar.period.value.lower()}"
    else:
        window = f"a rolling {spec.window}"
    labels = _labels(resource, dict(route.labels), alert.severity)
    labels[series.LABEL_OBJECTIVE] = objective.name
    what = escape_template(spec.description or spec.service)
    summary = (
        f"SLO {resource.namespace}/{resource.name} ({escape_template(spec.service)}) burns the "
        f"{objective.name} error budget {{{{ $value | humanize }}}}x too fast"
    )
    description = (
        f"{what}: objective {objective.name} ({objective.target:g}% over {window}). "
        f"The error budget burns at {{{{ $value | humanize }}}}x the sustainable rate; this "
        f"{alert.severity} fires at "
        + "; or ".join(_condition_text(condition) for condition in alert.conditions)
        + "."
    )
    return model.AlertingRule(
        alert=ALERT_NAMES[alert.severity],
        expr=expr,
        for_=common.format_duration(alert.for_seconds),
        labels=labels,
        annotations=_annotations(resource, summary, description),
    )


_QUIET_RANGE = "4m30s"
"""Five level-1 points: a group is quiet when none of its last five minutes counted an event."""


def _no_data_expr(resource: slo.ServiceLevelObjective) -> str:
    """Fires per group: for each group seen within the longest alert window whose last five
    minutes hold no events (its series vanished, or its counters stopped moving), and once for
    the SLO when its level-1 series are absent altogether (never there, or gone for longer)."""
    spec = resource.spec
    identity = series.identity_labels(resource)
    total = series.selector(series.total_level1(spec), identity)
    by = ", ".join([series.LABEL_NAMESPACE, series.LABEL_SLO, *spec.group_by])
    longest = max(recording.alert_windows(spec))
    seen = series.selector(
        series.ERROR_RATIO, {**identity, series.LABEL_WINDOW: series.window_label(longest)}
    )
    quiet = (
        f"(\n  group by ({by}) ({seen})\n"
        f"unless on ({by})\n"
        f"  sum by ({by}) (sum_over_time({total}[{_QUIET_RANGE}])) > 0\n)"
    )
    if spec.indicator.bool_gauge is not None:
        # Probes may be scraped less often than the per-minute count is recorded.
        return f"{quiet}\nor\nabsent_over_time({total}[5m])"
    return f"{quiet}\nor\nabsent({total})"


def _no_data_alert(resource: slo.ServiceLevelObjective) -> model.AlertingRule:
    spec = resource.spec
    summary = (
        f"SLO {resource.namespace}/{resource.name} ({escape_template(spec.service)}) has no data"
    )
    description = (
        "The indicator of this SLO counted no events in the last five minutes"
        + (" for the group in this alert's labels" if spec.group_by else "")
        + ": its SLI and error budget cannot be computed for now. Check the selectors, the "
        "scrape targets and whether the service still receives traffic."
    )
    return model.AlertingRule(
        alert=NO_DATA_ALERT,
        expr=_no_data_expr(resource),
        for_=spec.alerting.no_data.for_,
        labels=_labels(resource, dict(spec.alerting.ticket.labels), "noData"),
        annotations=_annotations(resource, summary, description),
    )


def alerting_rules(resource: slo.ServiceLevelObjective) -> list[model.AlertingRule]:
    """The primary objective's page and ticket alerts, and the no-data alert, as enabled."""
    spec = resource.spec
    alerting = spec.alerting
    if not alerting.enabled:
        return []
    rules = []
    routes = {"page": alerting.page, "ticket": alerting.ticket}
    for alert in burn_rates.burn_rate_alerts(series.window_seconds(spec)):
        route = routes[alert.severity]
        if route.enabled:
            rules.append(_burn_alert(resource, spec.primary, alert, route))
    if alerting.no_data.enabled:
        rules.append(_no_data_alert(resource))
    return rules
