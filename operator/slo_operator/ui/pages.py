"""HTML of the UI's pages from object bodies and chart series: pure (no server, no backend).

Every piece of user text goes through `html.escape`; links are relative to the page so the UI
works behind `kubectl proxy` or an ingress path as well as on its own port. Numbers are written
as status holds them (`model.number`), so what the page says is what `kubectl get -o yaml` says.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import html
import importlib.resources
import string
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..api import common, sla, slo, times, validation
from ..budget import exclusions, intervals, sla_conditions
from ..report import model as report_model
from ..rules import model as rules_model
from ..rules import render
from . import charts, model

e = html.escape
number = model.number


@functools.cache
def _template(name: str) -> string.Template:
    text = importlib.resources.files(__package__).joinpath("templates", name).read_text("utf-8")
    return string.Template(text)


def _href(root: str, *parts: str, query: Mapping[str, str] | None = None) -> str:
    path = root + "/".join(urllib.parse.quote(part, safe="") for part in parts)
    if query:
        path += "?" + urllib.parse.urlencode(query)
    return e(path or "./")


def layout(
    title: str, body: str, *, root: str, crumbs: Sequence[tuple[str, str]], scope: str
) -> str:
    """The page around `body`: header with breadcrumbs and theme toggle, footer."""
    trail = "".join(
        f'<li><a href="{e(href)}">{e(text)}</a></li>'
        if href
        else f'<li aria-current="page">{e(text)}</li>'
        for text, href in crumbs
    )
    return _template("layout.html").substitute(
        title=e(title),
        root=e(root),
        crumbs=trail,
        scope=e(scope),
        body=body,
        rendered=e(datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
    )


def _badge(state: str) -> str:
    return f'<span class="badge state-{e(state)}">{e(model.STATES.get(state, state))}</span>'


def _time(text: Any) -> str:
    if not text:
        return "—"
    return f'<time datetime="{e(str(text))}">{e(str(text))}</time>'


def _percent(value: Any) -> str:
    shown = number(value)
    return shown if shown == "—" else f"{shown}%"


# --- overview -----------------------------------------------------------------------------


def _options(values: Sequence[tuple[str, str]], chosen: str) -> str:
    return "".join(
        f'<option value="{e(value)}"{" selected" if value == chosen else ""}>{e(text)}</option>'
        for value, text in values
    )


def _objective_bars(row: model.SloRow) -> str:
    items = []
    for bar in row.objectives:
        label = f"{bar.name}: {_percent(bar.remaining_percent)} of the error budget left"
        items.append(
            f'<li class="{"primary" if bar.primary else ""}" data-objective="{e(bar.name)}">'
            f'<span class="objective-name">{e(bar.name)} ({number(bar.target)}%)</span>'
            f"{charts.budget_bar(bar.remaining_percent, label)}"
            f'<span class="num" data-field="objective-budget">'
            f"{_percent(bar.remaining_percent)}</span></li>"
        )
    return f'<ul class="bars">{"".join(items)}</ul>'


def _slo_rows(found: model.Overview) -> str:
    rows = []
    for row in found.slos:
        link = _href("", "slo", row.namespace, row.name)
        rows.append(
            f'<tr data-namespace="{e(row.namespace)}" data-name="{e(row.name)}" '
            f'data-state="{e(row.state)}">'
            f'<th scope="row"><a href="{link}">{e(row.name)}</a>'
            f'<div class="sub">{e(row.description)}</div></th>'
            f"<td>{e(row.namespace)}</td><td>{e(row.service)}</td><td>{e(row.window)}</td>"
            f"<td>{_badge(row.state)}</td>"
            f'<td class="num" data-field="sli">{_percent(row.sli)}</td>'
            f'<td class="num" data-field="target">{_percent(row.target)}</td>'
            f'<td class="num" data-field="budget">{_percent(row.remaining_percent)}</td>'
            f"<td>{_objective_bars(row)}</td>"
            f'<td class="num" data-field="burn">{number(row.max_burn_rate)}</td></tr>'
        )
    return "".join(rows)


def _sla_rows(found: model.Overview) -> str:
    rows = []
    for row in found.slas:
        link = _href("", "sla", row.namespace, row.name)
        rows.append(
            f'<tr data-namespace="{e(row.namespace)}" data-name="{e(row.name)}" '
            f'data-state="{e(row.state)}">'
            f'<th scope="row"><a href="{link}">{e(row.name)}</a></th>'
            f"<td>{e(row.namespace)}</td><td>{e(row.customer)}</td><td>{e(row.period)}</td>"
            f"<td>{_badge(row.state)}</td>"
            f'<td class="num" data-field="attainment">{_percent(row.attainment)}</td>'
            f'<td class="num" data-field="credit">{_percent(row.credit_percent)}</td>'
            f'<td class="num">{row.commitments}</td></tr>'
        )
    return "".join(rows)


def _sort_header(found: model.Overview, key: str, text: str) -> str:
    current = found.filters.sort == key
    query = found.filters.query(sort=key)
    direction = "ascending" if key == "budget" else "descending"
    aria = f' aria-sort="{direction}"' if current else ""
    arrow = (" ▲" if key == "budget" else " ▼") if current else ""
    return (
        f'<th scope="col" class="num"{aria}>'
        f'<a href="{_href("./", query=query)}" data-sort="{e(key)}">{e(text)}{arrow}</a></th>'
    )


def _pager(found: model.Overview) -> str:
    if found.pages <= 1:
        return ""
    page = min(found.filters.page, found.pages)
    links = []
    if page > 1:
        links.append(
            f'<a rel="prev" href="{_href("./", query=found.filters.query(page=str(page - 1)))}">Previous</a>'
        )
    links.append(f'<span id="page">Page {page} of {found.pages}</span>')
    if page < found.pages:
        links.append(
            f'<a rel="next" href="{_href("./", query=found.filters.query(page=str(page + 1)))}">Next</a>'
        )
    return f'<nav class="pager" aria-label="Pages">{" ".join(links)}</nav>'


def _counts(found: model.Overview) -> str:
    """Totals, then one link per state that has objects: the overview filtered to that state."""
    by_state = "".join(
        f'<li><a href="{_href("./", query=found.filters.query(state=state))}" data-count="{e(state)}">'
        f'<span class="count">{found.counts.get(state, 0)}</span> {e(text)}</a></li>'
        for state, text in model.STATES.items()
        if found.counts.get(state, 0)
    )
    return f"""<ul class="counts" aria-label="Counts by state">
<li><span class="count" id="total-slos">{found.total_slos}</span> SLOs</li>
<li><span class="count" id="total-slas">{found.total_slas}</span> SLAs</li>
{by_state}</ul>"""


def _filters_form(found: model.Overview) -> str:
    """The filters as a GET form, so every filtered view is a link."""
    filters = found.filters
    namespace_options = _options(
        [("", "All namespaces"), *((n, n) for n in found.namespaces)], filters.namespace
    )
    service_options = _options(
        [("", "All services"), *((s, s) for s in found.services)], filters.service
    )
    state_options = _options([("", "Any state"), *model.STATES.items()], filters.state)
    sort_options = _options(list(model.SORTS.items()), filters.sort)
    return f"""<form class="filters" method="get" action="./" role="search" aria-label="Filter">
<label>Namespace <select name="namespace">{namespace_options}</select></label>
<label>Service <select name="service">{service_options}</select></label>
<label>State <select name="state">{state_options}</select></label>
<label>Search <input type="search" name="q" value="{e(filters.text)}" maxlength="{model.MAX_TEXT}" placeholder="name, service, owner… ( / )" id="search"></label>
<label>Sort <select name="sort">{sort_options}</select></label>
<button type="submit">Apply</button>
{'<a class="clear" href="./">Clear filters</a>' if filters.active else ""}
</form>"""


def _shown(found: model.Overview) -> str:
    """How many objects match the filters, and which page of SLOs is on screen."""
    first = (min(found.filters.page, found.pages) - 1) * model.PAGE_SIZE
    return (
        f"{found.matching_slos} of {found.total_slos} SLOs"
        + (f" (showing {first + 1}-{first + len(found.slos)})" if found.pages > 1 else "")
        + f", {len(found.slas)} of {found.total_slas} SLAs"
    )


def _slo_table(found: model.Overview) -> str:
    if not found.slos:
        return '<p class="empty" id="slo-table">No SLO matches these filters.</p>'
    return (
        '<table class="list" id="slo-table"><caption>Service level objectives</caption><thead><tr>'
        '<th scope="col">SLO</th><th scope="col">Namespace</th><th scope="col">Service</th>'
        '<th scope="col">Window</th><th scope="col">State</th><th scope="col" class="num">SLI</th>'
        '<th scope="col" class="num">Target</th>'
        + _sort_header(found, "budget", "Budget left")
        + '<th scope="col">Objectives (budget left)</th>'
        + _sort_header(found, "burn", "Max burn rate")
        + f"</tr></thead><tbody>{_slo_rows(found)}</tbody></table>"
    )


def _sla_table(found: model.Overview) -> str:
    if not found.slas:
        return '<p class="empty" id="sla-table">No SLA matches these filters.</p>'
    return (
        '<table class="list" id="sla-table"><caption>Service level agreements</caption><thead><tr>'
        '<th scope="col">SLA</th><th scope="col">Namespace</th><th scope="col">Customer</th>'
        '<th scope="col">Period</th><th scope="col">State</th>'
        '<th scope="col" class="num">Attainment</th><th scope="col" class="num">Credit</th>'
        '<th scope="col" class="num">Commitments</th>'
        f"</tr></thead><tbody>{_sla_rows(found)}</tbody></table>"
    )


def overview_page(found: model.Overview, *, scope: str) -> str:
    """The overview: counts, filters (a GET form: every view is a link), SLOs and SLAs."""
    body = f"""
<h1>Service levels</h1>
{_counts(found)}
{_filters_form(found)}
<p class="shown" id="shown">{e(_shown(found))}</p>
{_slo_table(found)}
{_pager(found)}
{_sla_table(found)}
"""
    return layout("Service levels", body, root="", crumbs=[("Overview", "")], scope=scope)


def error_page(status: int, message: str, *, root: str, scope: str) -> str:
    body = f'<h1>{status}</h1><p class="error" role="alert">{e(message)}</p><p><a href="{e(root) or "./"}">Back to the overview</a></p>'
    return layout(
        f"{status}",
        body,
        root=root,
        crumbs=[("Overview", root or "./"), (str(status), "")],
        scope=scope,
    )


# --- shared detail parts --------------------------------------------------------------------


def _conditions(status: Mapping[str, Any]) -> str:
    items = status.get("conditions") or []
    if not items:
        return '<p class="empty">No conditions yet.</p>'
    rows = "".join(
        f'<tr data-condition="{e(str(c.get("type")))}"><th scope="row">{e(str(c.get("type")))}</th>'
        f'<td class="cond-{e(str(c.get("status")))}">{e(str(c.get("status")))}</td>'
        f"<td>{e(str(c.get('reason') or ''))}</td><td>{e(str(c.get('message') or ''))}</td>"
        f"<td>{_time(c.get('lastTransitionTime'))}</td></tr>"
        for c in items
    )
    return (
        '<table class="list" id="conditions"><thead><tr><th scope="col">Type</th>'
        '<th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th>'
        f'<th scope="col">Since</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def manifest_yaml(body: Mapping[str, Any]) -> str:
    """The object as applied: apiVersion, kind, name, namespace, labels, spec (no annotations,
    whose values are other tools' business, and no status, which the page shows)."""
    metadata = body.get("metadata") or {}
    shown: dict[str, Any] = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {"name": metadata.get("name"), "namespace": metadata.get("namespace")},
    }
    if metadata.get("labels"):
        shown["metadata"]["labels"] = dict(metadata["labels"])
    shown["spec"] = body.get("spec")
    return yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, width=100)


def _manifest(body: Mapping[str, Any]) -> str:
    return (
        '<details class="manifest" id="manifest"><summary>Manifest</summary>'
        f"<pre><code>{e(manifest_yaml(body))}</code></pre></details>"
    )


def _dl(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<dl class="facts">' + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"
    )


# --- SLO detail ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SloExtras:
    """What an SLO page shows beyond the status: chart series and firing alerts, or why not."""

    report: report_model.SloReport | None = None
    chart_note: str = ""
    alerts: Sequence[Mapping[str, str]] | None = None
    alerts_note: str = ""


def rule_names(resource: slo.ServiceLevelObjective) -> list[tuple[str, list[str], list[str]]]:
    """(group, recorded series, alert names) of the SLO's generated rules, in rule order."""
    found = []
    for group in render.render_rule_groups(resource):
        records: list[str] = []
        alerts: list[str] = []
        for rule in group.rules:
            if isinstance(rule, rules_model.RecordingRule):
                if rule.record not in records:
                    records.append(rule.record)
            elif rule.alert not in alerts:
                alerts.append(rule.alert)
        found.append((group.name, records, alerts))
    return found


def _objectives_table(resource: slo.ServiceLevelObjective, status: Mapping[str, Any]) -> str:
    measured = {o.get("name"): o for o in status.get("objectives") or []}
    rows = []
    for objective in resource.spec.objectives:
        found = measured.get(objective.name) or {}
        primary = objective.name == resource.spec.primary.name
        met = found.get("met")
        rows.append(
            f'<tr data-objective="{e(objective.name)}"><th scope="row">{e(objective.name)}'
            f"{' <span class=tag>primary</span>' if primary else ''}</th>"
            f'<td class="num" data-field="target">{number(objective.target)}%</td>'
            f"<td>{e(str(objective.threshold)) if objective.threshold else '—'}</td>"
            f'<td class="num" data-field="sli">{_percent(found.get("sli"))}</td>'
            f'<td data-field="met">{"—" if met is None else "yes" if met else "no"}</td>'
            f'<td class="num" data-field="budget">{_percent(found.get("errorBudgetRemainingPercent"))}</td>'
            f"<td>{charts.budget_bar(found.get('errorBudgetRemainingPercent'), objective.name + ' budget left')}</td>"
            f'<td class="num" data-field="remaining">{e(str(found.get("errorBudgetRemaining") or "—"))}</td></tr>'
        )
    return (
        '<table class="list" id="objectives"><thead><tr><th scope="col">Objective</th>'
        '<th scope="col" class="num">Target</th><th scope="col">Threshold</th>'
        '<th scope="col" class="num">SLI</th><th scope="col">Met</th>'
        '<th scope="col" class="num">Budget left</th><th scope="col">Budget</th>'
        f'<th scope="col" class="num">Left</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _burn_rates_now(status: Mapping[str, Any]) -> str:
    rates = status.get("burnRates") or {}
    if not rates:
        return '<p class="empty">No burn rates measured yet.</p>'
    cells = "".join(
        f'<tr data-window="{e(str(w))}"><th scope="row">{e(str(w))}</th>'
        f'<td class="num" data-field="burn">{number(v)}</td></tr>'
        for w, v in sorted(rates.items(), key=lambda item: common.parse_duration_seconds(item[0]))
    )
    return (
        '<table class="list compact" id="burn-rates"><thead><tr><th scope="col">Window</th>'
        f'<th scope="col" class="num">Burn rate</th></tr></thead><tbody>{cells}</tbody></table>'
    )


def _charts(extras: SloExtras) -> str:
    report = extras.report
    if report is None or not (report.budget_curves or report.burn_rates):
        note = extras.chart_note or (report.chart_note if report else "") or "no chart data"
        return f'<p class="note" id="chart-note">Charts unavailable: {e(note)}</p>'
    start = report.chart_start or 0.0
    parts = []
    if report.budget_curves:
        lines = [
            charts.Line(f"{c.objective} ({number(c.target)}%)", c.times, c.remaining_percent)
            for c in report.budget_curves
        ]
        parts.append(
            '<section class="chart-section" id="burn-down"><h3>Error budget left over the window</h3>'
            + charts.line_chart(
                "Error budget remaining, percent",
                lines,
                start=start,
                end=report.chart_end,
                unit="%",
                reference=0.0,
                reference_label="budget spent",
            )
            + "</section>"
        )
    if report.burn_rates:
        lines = [charts.Line(c.window, c.times, c.values) for c in report.burn_rates]
        parts.append(
            '<section class="chart-section" id="burn-rate-chart"><h3>Burn rate of the primary objective</h3>'
            + charts.line_chart(
                "Burn rate at the alert windows",
                lines,
                start=start,
                end=report.chart_end,
                unit="x",
                reference=1.0,
                reference_label="budget-neutral (1x)",
                y_from_zero=True,
            )
            + "</section>"
        )
    return "".join(parts)


def _alerts(extras: SloExtras) -> str:
    if extras.alerts is None:
        return f'<p class="note" id="alerts">Alerts unavailable: {e(extras.alerts_note or "no backend")}</p>'
    if not extras.alerts:
        return '<p class="empty" id="alerts">No alert of this SLO is firing.</p>'
    rows = "".join(
        f'<tr><th scope="row">{e(a.get("alertname", ""))}</th><td>{e(a.get("severity", ""))}</td>'
        f"<td>{e(a.get('slo_window', ''))}</td><td>{e(a.get('objective', '') or a.get('slo_threshold', ''))}</td></tr>"
        for a in extras.alerts
    )
    return (
        '<table class="list" id="alerts"><thead><tr><th scope="col">Alert</th><th scope="col">Severity</th>'
        f'<th scope="col">Window</th><th scope="col">Objective</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _groups(status: Mapping[str, Any], group_by: Sequence[str]) -> str:
    if not group_by:
        return '<p class="empty">Not grouped (no groupBy).</p>'
    groups = model.worst_groups_first(status.get("groups") or [])
    if not groups:
        return '<p class="empty" id="groups">No group measured yet.</p>'
    rows = "".join(
        f'<tr><th scope="row">{e(", ".join(f"{k}={v}" for k, v in (g.get("labels") or {}).items()))}</th>'
        f'<td class="num" data-field="sli">{_percent(g.get("sli"))}</td>'
        f'<td class="num" data-field="budget">{_percent(g.get("errorBudgetRemainingPercent"))}</td>'
        f"<td>{charts.budget_bar(g.get('errorBudgetRemainingPercent'), 'group budget left')}</td></tr>"
        for g in groups
    )
    return (
        f'<table class="list" id="groups"><caption>Worst groups first, by {e(", ".join(group_by))}</caption>'
        '<thead><tr><th scope="col">Group</th><th scope="col" class="num">SLI</th>'
        '<th scope="col" class="num">Budget left</th><th scope="col">Budget</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _policy(
    resource: slo.ServiceLevelObjective, status: Mapping[str, Any], extras: SloExtras
) -> str:
    steps = resource.spec.error_budget_policy
    if not steps:
        return '<p class="empty">No error budget policy.</p>'
    policy = status.get("policy") or {}
    active = set(policy.get("activeSteps") or [])
    reached_at = {}
    if extras.report is not None:
        reached_at = {p.name: p.reached_at for p in extras.report.policy_steps}
    rows = []
    for step in steps:
        when = reached_at.get(step.name)
        when_text = (
            times.format_timestamp(datetime.datetime.fromtimestamp(when, datetime.UTC))
            if when is not None
            else ""
        )
        actions = ", ".join(action.type.value for action in step.actions)
        rows.append(
            f'<tr data-step="{e(step.name)}"><th scope="row">{e(step.name)}</th>'
            f'<td class="num">{number(step.when_consumed_percent)}%</td><td>{e(actions)}</td>'
            f'<td data-field="active">{"active" if step.name in active else "—"}</td>'
            f"<td>{_time(when_text)}</td></tr>"
        )
    since = (
        f"<p>Highest active step since {_time(policy.get('since'))}.</p>"
        if policy.get("since")
        else ""
    )
    return (
        since + '<table class="list" id="policy"><thead><tr><th scope="col">Step</th>'
        '<th scope="col" class="num">When consumed</th><th scope="col">Actions</th>'
        '<th scope="col">Now</th><th scope="col">First reached in the window</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _rules(resource: slo.ServiceLevelObjective, status: Mapping[str, Any]) -> str:
    applied = status.get("rules") or {}
    head = (
        f'<p id="rule-object">{e(str(applied.get("kind")))} <code>{e(str(applied.get("name")))}</code>: '
        f"{applied.get('recordingRules')} recording and {applied.get('alertingRules')} alerting rules.</p>"
        if applied
        else '<p class="empty" id="rule-object">No rule object applied yet.</p>'
    )
    items = "".join(
        f"<li><code>{e(group)}</code><ul>"
        + "".join(f"<li><code>{e(r)}</code></li>" for r in records)
        + "".join(f'<li class="alert-name"><code>{e(a)}</code> (alert)</li>' for a in alerts)
        + "</ul></li>"
        for group, records, alerts in rule_names(resource)
    )
    return head + f'<ul class="rules" id="rule-names">{items}</ul>'


DETAIL_ROOT = "../../"
"""A detail page's way back to the overview (pages sit at `slo/<namespace>/<name>`)."""


def _detail_crumbs(namespace: str, name: str) -> list[tuple[str, str]]:
    """Overview, the overview filtered to the namespace, the object."""
    return [
        ("Overview", DETAIL_ROOT),
        (namespace, DETAIL_ROOT + "?" + urllib.parse.urlencode({"namespace": namespace})),
        (name, ""),
    ]


def _invalid_body(
    what: str,
    name: str,
    state: str,
    problems: Sequence[validation.Problem],
    body: Mapping[str, Any],
) -> str:
    """An object whose spec does not parse: the problems, its conditions and its manifest."""
    status = body.get("status") or {}
    listed = "".join(f"<li>{e(p.field)}: {e(p.message)}</li>" for p in problems)
    return (
        f'<h1>{e(name)} {_badge(state)}</h1><p class="error">This {what}\'s spec is invalid:</p>'
        f"<ul>{listed}</ul><h2>Conditions</h2>{_conditions(status)}{_manifest(body)}"
    )


def _slo_facts(spec: slo.ServiceLevelObjectiveSpec, status: Mapping[str, Any]) -> str:
    window = (
        f"{spec.calendar.period.value} in {spec.calendar.time_zone}"
        if spec.calendar
        else str(spec.window)
    )
    return _dl(
        [
            ("Service", e(spec.service)),
            ("Owner", e(spec.owner or "—")),
            ("Window", e(window)),
            ("Budgeting", e(spec.budgeting_method.value)),
            ("SLI (primary)", f'<span data-field="sli">{_percent(status.get("sli"))}</span>'),
            (
                "Budget left (primary)",
                f'<span data-field="budget">{_percent(status.get("errorBudgetRemainingPercent"))}</span>',
            ),
            ("Window start", _time(status.get("windowStart"))),
            ("Last evaluation", _time(status.get("lastEvaluationTime"))),
            ("Backend", e(spec.backend or "default")),
        ]
    )


def _sla_links(namespace: str, slas: Sequence[tuple[str, str]]) -> str:
    if not slas:
        return ""
    return (
        "<p>SLAs resting on this SLO: "
        + ", ".join(
            f'<a href="{_href(DETAIL_ROOT, "sla", namespace, n)}">{e(n)}</a>' for _, n in slas
        )
        + "</p>"
    )


def slo_page(
    body: Mapping[str, Any],
    resource: slo.ServiceLevelObjective | None,
    problems: Sequence[validation.Problem],
    extras: SloExtras,
    slas: Sequence[tuple[str, str]],
    *,
    scope: str,
) -> str:
    """One SLO: tiers, charts, alerts, groups, policy, conditions, rules, manifest."""
    metadata = body.get("metadata") or {}
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    status = body.get("status") or {}
    state = model.slo_state(status)
    title, crumbs = f"SLO {namespace}/{name}", _detail_crumbs(namespace, name)
    if resource is None:
        body_html = _invalid_body("SLO", name, state, problems, body)
        return layout(title, body_html, root=DETAIL_ROOT, crumbs=crumbs, scope=scope)
    spec = resource.spec
    body_html = f"""
<h1>{e(name)} {_badge(state)}</h1>
<p class="lead">{e(spec.description or "")}</p>
{_slo_facts(spec, status)}
{_sla_links(namespace, slas)}
<section><h2 id="tiers">Objectives</h2>{_objectives_table(resource, status)}</section>
<section><h2>Burn rates now</h2>{_burn_rates_now(status)}</section>
<section class="charts"><h2>Charts</h2>{_charts(extras)}</section>
<section><h2>Firing alerts</h2>{_alerts(extras)}</section>
<section><h2>Groups</h2>{_groups(status, spec.group_by)}</section>
<section><h2>Error budget policy</h2>{_policy(resource, status, extras)}</section>
<section><h2>Conditions</h2>{_conditions(status)}</section>
<section><h2>Generated rules</h2>{_rules(resource, status)}</section>
{_manifest(body)}
"""
    return layout(title, body_html, root=DETAIL_ROOT, crumbs=crumbs, scope=scope)


# --- SLA detail ---------------------------------------------------------------------------


def _parse_time(text: Any) -> datetime.datetime | None:
    return times.parse_timestamp(str(text)) if text else None


def _commitments(
    resource: sla.ServiceLevelAgreement,
    current: Mapping[str, Any],
    slo_specs: Mapping[str, slo.ServiceLevelObjectiveSpec],
    root: str,
) -> str:
    measured = {c.get("name"): c for c in current.get("commitments") or []}
    rows = []
    for commitment in resource.spec.commitments:
        backing = sla_conditions.resolve(commitment, slo_specs.get(commitment.slo_ref.name))
        found = measured.get(commitment.name) or {}
        if backing.objective is None:
            backed = f'<span class="cond-False">{e(backing.problem or "not found")}</span>'
            slo_target = "—"
        elif commitment.target < backing.objective.target:
            backed = '<span class="cond-True">backed</span>'
            slo_target = f"{number(backing.objective.target)}% ({e(backing.objective.name)})"
        else:
            backed = '<span class="cond-False">unbacked: the SLO is not stricter</span>'
            slo_target = f"{number(backing.objective.target)}% ({e(backing.objective.name)})"
        projected = found.get("projected")
        at_risk = projected is not None and float(projected) < commitment.target
        met = found.get("met")
        slo_link = f'<a href="{_href(root, "slo", resource.namespace, commitment.slo_ref.name)}">{e(commitment.slo_ref.name)}</a>'
        groups = ", ".join(f"{k}={v}" for k, v in commitment.group_labels.items())
        rows.append(
            f'<tr data-commitment="{e(commitment.name)}"><th scope="row">{e(commitment.name)}</th>'
            f"<td>{slo_link}{(' <span class=sub>' + e(groups) + '</span>') if groups else ''}</td>"
            f'<td class="num" data-field="target">{number(commitment.target)}%</td>'
            f'<td class="num">{slo_target}</td><td data-field="backed">{backed}</td>'
            f'<td class="num" data-field="attainment">{_percent(found.get("attainment"))}</td>'
            f'<td class="num" data-field="projected">{_percent(projected)}</td>'
            f'<td class="num" data-field="coverage">{_percent(found.get("coverage"))}</td>'
            f'<td data-field="met">{"—" if met is None else "yes" if met else "no"}</td>'
            f'<td data-field="at-risk">{"at risk" if at_risk else "—"}</td></tr>'
        )
    return (
        '<table class="list" id="commitments"><thead><tr><th scope="col">Commitment</th>'
        '<th scope="col">SLO</th><th scope="col" class="num">SLA target</th>'
        '<th scope="col" class="num">SLO target</th><th scope="col">Backing</th>'
        '<th scope="col" class="num">Attainment</th><th scope="col" class="num">Projected</th>'
        '<th scope="col" class="num">Coverage</th>'
        '<th scope="col">Met</th><th scope="col">Risk</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _exclusions(
    resource: sla.ServiceLevelAgreement, current: Mapping[str, Any], now: datetime.datetime
) -> str:
    start, end = _parse_time(current.get("start")), _parse_time(current.get("end"))
    listed = "".join(
        f"<li><strong>{e(x.name)}</strong>: "
        + (
            f"<code>{e(x.schedule or '')}</code> for {e(str(x.duration))}"
            if x.schedule
            else f"{_time(x.start.isoformat() if x.start else '')} &ndash; {_time(x.end.isoformat() if x.end else '')}"
        )
        + "</li>"
        for x in resource.spec.exclusions
    )
    if start is None or end is None:
        return f'<ul id="exclusions">{listed}</ul><p class="empty">No period evaluated yet.</p>'
    windows = exclusions.excluded_intervals(
        resource.spec.exclusions, resource.spec.time_zone, intervals.Interval(start, end)
    )
    spans = [
        charts.Span(
            w.start.timestamp(), w.end.timestamp(), f"{w.start.isoformat()} to {w.end.isoformat()}"
        )
        for w in windows
    ]
    excluded_hours = sum(w.seconds for w in windows) / 3600
    summary = f'<p id="excluded">{len(windows)} maintenance window(s) in this period, {excluded_hours:g} hours not counted.</p>'
    return (
        (
            f'<ul id="exclusions">{listed}</ul>'
            if listed
            else '<p class="empty" id="exclusions">No maintenance exclusions.</p>'
        )
        + summary
        + charts.timeline(start.timestamp(), end.timestamp(), now.timestamp(), spans)
    )


def _period_commitments(period: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{c.get('name')}: {_percent(c.get('attainment'))}" for c in period.get("commitments") or []
    )


def _low_coverage(period: Mapping[str, Any]) -> str:
    if not period.get("lowCoverage"):
        return ""
    return ' <span class="cond-False" data-field="low-coverage">low: numbers rest on part of the period</span>'


def _history(status: Mapping[str, Any]) -> str:
    history = status.get("history") or []
    if not history:
        return '<p class="empty" id="history">No closed period yet.</p>'
    rows = "".join(
        f'<tr><th scope="row">{_time(p.get("start"))} &ndash; {_time(p.get("end"))}</th>'
        f"<td>{e(_period_commitments(p))}</td>"
        f'<td class="num" data-field="attainment">{_percent(p.get("attainment"))}</td>'
        f'<td class="num" data-field="credit">{_percent(p.get("creditPercent"))}</td>'
        f'<td class="num" data-field="coverage">{_percent(p.get("coverage"))}'
        f"{_low_coverage(p)}</td></tr>"
        for p in history
    )
    return (
        '<table class="list" id="history"><thead><tr><th scope="col">Period</th>'
        '<th scope="col">Commitments</th><th scope="col" class="num">Worst attainment</th>'
        '<th scope="col" class="num">Credit</th><th scope="col" class="num">Coverage</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _sla_facts(spec: sla.ServiceLevelAgreementSpec, status: Mapping[str, Any]) -> str:
    current = status.get("currentPeriod") or {}
    return _dl(
        [
            ("Customer", e(spec.customer)),
            ("Period", e(f"{spec.period.value} in {spec.time_zone}")),
            (
                "Current period",
                f"{_time(current.get('start'))} &ndash; {_time(current.get('end'))}",
            ),
            (
                "Attainment (worst commitment)",
                f'<span data-field="attainment">{_percent(current.get("attainment"))}</span>',
            ),
            (
                "Credit owed so far",
                f'<span data-field="credit">{_percent(current.get("creditPercent"))}</span>',
            ),
            (
                "Coverage (time with data)",
                f'<span data-field="coverage">{_percent(current.get("coverage"))}</span>'
                + _low_coverage(current),
            ),
            (
                "At risk",
                e(str((model.condition(status, model.Type.AT_RISK) or {}).get("message") or "—")),
            ),
        ]
    )


def _credits_table(spec: sla.ServiceLevelAgreementSpec) -> str:
    credits = "".join(
        f'<tr><th scope="row">below {number(c.below)}%</th><td class="num">{number(c.credit_percent)}%</td></tr>'
        for c in spec.credits
    )
    if not credits:
        return '<p class="empty" id="credits">No credit schedule.</p>'
    return (
        '<table class="list compact" id="credits"><thead><tr><th scope="col">Attainment</th>'
        f'<th scope="col" class="num">Credit</th></tr></thead><tbody>{credits}</tbody></table>'
    )


def sla_page(
    body: Mapping[str, Any],
    resource: sla.ServiceLevelAgreement | None,
    problems: Sequence[validation.Problem],
    slo_specs: Mapping[str, slo.ServiceLevelObjectiveSpec],
    now: datetime.datetime,
    *,
    scope: str,
) -> str:
    """One SLA: current period, commitments and their SLOs, exclusions, history, credits."""
    metadata = body.get("metadata") or {}
    namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
    status = body.get("status") or {}
    state = model.sla_state(status)
    title, crumbs = f"SLA {namespace}/{name}", _detail_crumbs(namespace, name)
    if resource is None:
        body_html = _invalid_body("SLA", name, state, problems, body)
        return layout(title, body_html, root=DETAIL_ROOT, crumbs=crumbs, scope=scope)
    current = status.get("currentPeriod") or {}
    body_html = f"""
<h1>{e(name)} {_badge(state)}</h1>
{_sla_facts(resource.spec, status)}
<section><h2>Commitments</h2>{_commitments(resource, current, slo_specs, DETAIL_ROOT)}</section>
<section><h2>Maintenance exclusions</h2>{_exclusions(resource, current, now)}</section>
<section><h2>Closed periods</h2>{_history(status)}</section>
<section><h2>Credit schedule</h2>{_credits_table(resource.spec)}</section>
<section><h2>Conditions</h2>{_conditions(status)}</section>
{_manifest(body)}
"""
    return layout(title, body_html, root=DETAIL_ROOT, crumbs=crumbs, scope=scope)
