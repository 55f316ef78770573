"""The report's pure half: gathered data -> PNG charts, HTML and Markdown text.

Nothing here reads or writes files or talks to a server: `charts` returns PNG bytes by file name,
`render_html` embeds them (base64, no external asset), `render_markdown` links them by name; the
caller writes what it wants. matplotlib is imported lazily (the `report` extra) with the Agg
backend, so other verbs neither need it nor pay for it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import html
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..api import conditions, times
from ..api import status as status_api
from . import model

_text = status_api.as_text
"""Status values as the status holds them (the same text `evaluate` prints)."""

CHART_WIDTH_PIXELS = 800
CHART_HEIGHT_PIXELS = 320
_DPI = 100
AT_RISK_REMAINING_PERCENT = 25.0
"""An objective with less budget left than this (or none) counts as at risk in the summary."""
# Colour-blind safe (Okabe-Ito); on white, and still distinct when dark mode inverts the image.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


@dataclasses.dataclass(frozen=True)
class Summary:
    slos: int
    slos_met: int
    """SLOs all of whose measured objectives are met."""
    at_risk: tuple[str, ...]
    """`namespace/name objective (remaining%)` of every objective under the at-risk line."""
    credits: tuple[str, ...]
    """`namespace/name from <period start>: N% (customer)` of every SLA owing a credit in its
    current period, and in the periods closed within the report's span when one was asked for."""


def summarize(data: model.ReportData) -> Summary:
    met = 0
    at_risk = []
    for item in data.slos:
        objectives = item.status.get("objectives") or []
        if objectives and all(o.get("met") is True for o in objectives):
            met += 1
        for objective in objectives:
            remaining = objective.get("errorBudgetRemainingPercent")
            if remaining is not None and remaining < AT_RISK_REMAINING_PERCENT:
                at_risk.append(
                    f"{item.namespace}/{item.name} {objective.get('name')} ({_text(remaining)}%)"
                )
    credits = []
    for agreement in data.slas:
        owed = [agreement.status.get("currentPeriod") or {}]
        if data.requested_start is not None:
            # A report over a past span (`--period last-month`): the periods it closed count too.
            start = times.format_timestamp(data.requested_start)
            owed.extend(
                period
                for period in agreement.status.get("history") or []
                if str(period.get("start", "")) >= start
            )
        for period in owed:
            credit = period.get("creditPercent")
            if credit:
                credits.append(
                    f"{agreement.namespace}/{agreement.name} from {_text(period.get('start'))}: "
                    f"{_text(credit)}% ({agreement.customer})"
                )
    return Summary(len(data.slos), met, tuple(at_risk), tuple(credits))


def _stamp(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# --- charts ------------------------------------------------------------------------------------


def chart_names(item: model.SloReport) -> tuple[str, str]:
    """File names of the burn-down and burn-rate charts of one SLO."""
    stem = f"{item.namespace}-{item.name}"
    return f"{stem}-budget.png", f"{stem}-burn-rate.png"


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import figure

    # A Figure without pyplot: no global state, nothing left open between charts.
    return figure.Figure(
        figsize=(CHART_WIDTH_PIXELS / _DPI, CHART_HEIGHT_PIXELS / _DPI),
        dpi=_DPI,
        layout="constrained",
    )


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, facecolor="white")
    return buffer.getvalue()


def _dates(times: Iterable[float]) -> list[datetime.datetime]:
    return [datetime.datetime.fromtimestamp(t, datetime.UTC) for t in times]


def burn_down_chart(item: model.SloReport) -> bytes:
    """Budget remaining (%) over the span, one line per objective, a line at 0."""
    fig = _figure()
    axes = fig.add_subplot()
    for index, curve in enumerate(item.budget_curves):
        axes.plot(
            _dates(curve.times),
            curve.remaining_percent,
            color=_COLOURS[index % len(_COLOURS)],
            linewidth=1.8,
            label=f"{curve.objective} ({curve.target}%)",
        )
    axes.axhline(0, color="black", linewidth=1.2, linestyle="--")
    axes.set_ylabel("error budget remaining (%)")
    axes.set_title(f"{item.namespace}/{item.name}: error budget burn-down", loc="left")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize="small")
    fig.autofmt_xdate()
    return _png(fig)


def burn_rate_chart(item: model.SloReport) -> bytes:
    """Burn rate of the primary objective at each alert window, a line at 1 (budget-neutral)."""
    fig = _figure()
    axes = fig.add_subplot()
    for index, curve in enumerate(item.burn_rates):
        axes.plot(
            _dates(curve.times),
            curve.values,
            color=_COLOURS[index % len(_COLOURS)],
            linewidth=1.2,
            label=curve.window,
        )
    axes.axhline(1, color="#777777", linewidth=1.0, linestyle="--")
    # Linear up to 1 (the budget-neutral rate), logarithmic above: a 1000x outage and a 0.5x
    # steady state both stay readable.
    axes.set_yscale("symlog", linthresh=1)
    axes.set_ylim(bottom=0)
    axes.set_ylabel("burn rate (x budget)")
    axes.set_title(
        f"{item.namespace}/{item.name}: burn rate of {item.primary_objective}", loc="left"
    )
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize="small", ncol=4)
    fig.autofmt_xdate()
    return _png(fig)


def charts(data: model.ReportData) -> dict[str, bytes]:
    """Every chart of the report as PNG, by file name (SLOs without data have none)."""
    drawn: dict[str, bytes] = {}
    for item in data.slos:
        budget_name, rate_name = chart_names(item)
        if item.budget_curves:
            drawn[budget_name] = burn_down_chart(item)
        if item.burn_rates:
            drawn[rate_name] = burn_rate_chart(item)
    return drawn


# --- tables (shared by HTML and Markdown) ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def objectives_table(item: model.SloReport) -> Table:
    rows = []
    for objective in item.status.get("objectives") or []:
        rows.append(
            (
                _text(objective.get("name")),
                _text(objective.get("target")),
                _text(objective.get("sli")),
                _text(objective.get("met")),
                _text(objective.get("errorBudgetRemainingPercent")),
                _text(objective.get("errorBudgetRemaining")),
            )
        )
    header = ("Objective", "Target %", "SLI %", "Met", "Budget remaining %", "Budget remaining")
    return Table(header, tuple(rows))


def policy_table(item: model.SloReport) -> Table:
    policy = item.status.get("policy") or {}
    active = set(policy.get("activeSteps") or [])
    rows = tuple(
        (
            step.name,
            _text(step.when_consumed_percent),
            _stamp(step.reached_at),
            "yes" if step.name in active else "no",
        )
        for step in item.policy_steps
    )
    return Table(("Policy step", "At consumed %", "Reached (in chart span)", "Active now"), rows)


def _group_name(group: Mapping[str, Any]) -> str:
    name = ", ".join(f"{k}={v}" for k, v in sorted((group.get("labels") or {}).items()))
    if group.get("noData"):
        # Its numbers (if any) are the last measured ones: traffic stopped since.
        name += f" (no data since {group.get('noDataSince', '?')})"
    return name


def groups_table(item: model.SloReport) -> Table:
    rows = tuple(
        (
            _group_name(group),
            _text(group.get("sli")),
            _text(group.get("errorBudgetRemainingPercent")),
        )
        for group in item.worst_groups
    )
    return Table(("Worst groups", "SLI %", "Budget remaining %"), rows)


def _period_rows(periods: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], ...]:
    rows = []
    for period in periods:
        for commitment in period.get("commitments") or []:
            rows.append(
                (
                    f"{_text(period.get('start'))} - {_text(period.get('end'))}",
                    _text(commitment.get("name")),
                    _text(commitment.get("target")),
                    _text(commitment.get("attainment")),
                    _text(commitment.get("projected")),
                    _text(commitment.get("met")),
                    _text(period.get("creditPercent")),
                )
            )
    return tuple(rows)


_PERIOD_HEADER = (
    "Period",
    "Commitment",
    "Target %",
    "Attainment %",
    "Projected %",
    "Met",
    "Credit %",
)


def sla_tables(item: model.SlaReport) -> tuple[Table, Table]:
    current = item.status.get("currentPeriod")
    history = item.status.get("history") or []
    return (
        Table(_PERIOD_HEADER, _period_rows([current] if current else [])),
        Table(_PERIOD_HEADER, _period_rows(history)),
    )


def _condition(status: Mapping[str, Any], type_: conditions.ConditionType) -> Mapping[str, Any]:
    return conditions.get_condition(status.get("conditions") or [], type_) or {}


def backing_text(item: model.SlaReport) -> str:
    """Whether every commitment is backed by a stricter SLO (the Unbacked condition)."""
    unbacked = _condition(item.status, conditions.ConditionType.UNBACKED)
    if not unbacked:
        return "not evaluated"
    if unbacked.get("status") == "False":
        return "every commitment is backed by a stricter SLO objective"
    return f"UNBACKED: {unbacked.get('message') or unbacked.get('reason')}"


def _ready_text(status: Mapping[str, Any]) -> str:
    ready = _condition(status, conditions.ConditionType.READY)
    if not ready:
        return "-"
    message = ready.get("message") or ""
    return f"{ready.get('reason')}" + (f": {message}" if message else "")


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #ffffff; --muted: #5a5a5a;
        --line: #d0d0d0; --bad: #b00020; --good: #0a7d32; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8e8; --bg: #161616; --muted: #a8a8a8; --line: #3a3a3a;
          --bad: #ff6b81; --good: #5fd38d; }
  /* Charts are drawn on white; inverted with hues kept, they read on a dark page. */
  img.chart { filter: invert(1) hue-rotate(180deg); }
}
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #333; --line: #999; }
  img.chart { filter: none; }
  section { break-inside: avoid; }
}
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg);
       max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.bad { color: var(--bad); font-weight: 600; }
img.chart { max-width: 100%; height: auto; display: block; margin: .5rem 0; }
"""


def _html_table(table: Table) -> str:
    if not table.rows:
        return ""
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in table.header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(cell)}</td>'
            if cell[:1].isdigit() or cell[:1] == "-"
            else f"<td>{html.escape(cell)}</td>"
            for cell in row
        )
        + "</tr>"
        for row in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_image(name: str, png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    encoded = base64.b64encode(png).decode("ascii")
    return (
        f'<img class="chart" alt="{html.escape(alt)}" width="{CHART_WIDTH_PIXELS}" '
        f'height="{CHART_HEIGHT_PIXELS}" data-name="{html.escape(name)}" '
        f'src="data:image/png;base64,{encoded}">'
    )


def _span_text(data: model.ReportData) -> str:
    at = times.format_timestamp(data.at)
    if data.requested_start is None:
        return f"evaluated at {at}; charts over each SLO's own window"
    start = times.format_timestamp(data.requested_start)
    return f"evaluated at {at}; charts from {start}"


def render_html(data: model.ReportData, drawn: Mapping[str, bytes]) -> str:
    """One self-contained page: styles inline, charts as base64 PNG, no external asset."""
    summary = summarize(data)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>SLO report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>SLO and SLA report</h1>",
        f'<p class="muted">{html.escape(_span_text(data))}</p>',
        "<h2>Summary</h2><ul>",
        f"<li>SLOs met: {summary.slos_met} of {summary.slos}</li>",
        f"<li>Budgets at risk (under {_text(AT_RISK_REMAINING_PERCENT)}% left): "
        + (html.escape("; ".join(summary.at_risk)) if summary.at_risk else "none")
        + "</li>",
        "<li>Credits owed this period: "
        + (html.escape("; ".join(summary.credits)) if summary.credits else "none")
        + "</li></ul>",
    ]
    for item in data.slos:
        budget_name, rate_name = chart_names(item)
        parts.append(
            f"<section><h2>SLO {html.escape(item.namespace)}/{html.escape(item.name)}</h2>"
        )
        parts.append(
            f'<p class="muted">service {html.escape(item.service)}, window '
            f"{html.escape(item.window)}, window start "
            f"{html.escape(_text(item.status.get('windowStart')))}; Ready: "
            f"{html.escape(_ready_text(item.status))}</p>"
        )
        parts.append(_html_table(objectives_table(item)))
        if item.chart_note:
            parts.append(f'<p class="muted">{html.escape(item.chart_note)}</p>')
        parts.append(_html_image(budget_name, drawn.get(budget_name), "error budget burn-down"))
        parts.append(_html_image(rate_name, drawn.get(rate_name), "burn rate"))
        parts.append(_html_table(policy_table(item)))
        parts.append(_html_table(groups_table(item)))
        parts.append("</section>")
    for agreement in data.slas:
        current, history = sla_tables(agreement)
        backing = backing_text(agreement)
        css = ' class="bad"' if backing.startswith("UNBACKED") else ""
        parts.append(
            f"<section><h2>SLA {html.escape(agreement.namespace)}/"
            f"{html.escape(agreement.name)} ({html.escape(agreement.customer)})</h2>"
        )
        parts.append("<h3>Current period</h3>" + (_html_table(current) or "<p>not measured</p>"))
        parts.append("<h3>History</h3>" + (_html_table(history) or "<p>no closed period</p>"))
        parts.append(f"<p{css}>Backing: {html.escape(backing)}</p></section>")
    parts.append("</body></html>")
    return "\n".join(part for part in parts if part) + "\n"


# --- Markdown ----------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    if not table.rows:
        return ""
    lines = [
        "| " + " | ".join(table.header) + " |",
        "|" + "|".join("---" for _ in table.header) + "|",
    ]
    lines.extend("| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in table.rows)
    return "\n".join(lines) + "\n"


def render_markdown(data: model.ReportData, drawn: Mapping[str, bytes]) -> str:
    """The same report in Markdown; charts are linked by file name (written next to it)."""
    summary = summarize(data)
    parts = [
        "# SLO and SLA report\n",
        f"_{_span_text(data)}_\n",
        "## Summary\n",
        f"- SLOs met: {summary.slos_met} of {summary.slos}",
        f"- Budgets at risk (under {_text(AT_RISK_REMAINING_PERCENT)}% left): "
        + ("; ".join(summary.at_risk) if summary.at_risk else "none"),
        "- Credits owed this period: "
        + ("; ".join(summary.credits) if summary.credits else "none")
        + "\n",
    ]
    for item in data.slos:
        budget_name, rate_name = chart_names(item)
        parts.append(f"## SLO {item.namespace}/{item.name}\n")
        parts.append(
            f"service {item.service}, window {item.window}, window start "
            f"{_text(item.status.get('windowStart'))}; Ready: {_ready_text(item.status)}\n"
        )
        parts.append(_md_table(objectives_table(item)))
        if item.chart_note:
            parts.append(f"_{item.chart_note}_\n")
        if budget_name in drawn:
            parts.append(f"![error budget burn-down]({budget_name})\n")
        if rate_name in drawn:
            parts.append(f"![burn rate]({rate_name})\n")
        parts.append(_md_table(policy_table(item)))
        parts.append(_md_table(groups_table(item)))
    for agreement in data.slas:
        current, history = sla_tables(agreement)
        parts.append(f"## SLA {agreement.namespace}/{agreement.name} ({agreement.customer})\n")
        parts.append("### Current period\n")
        parts.append(_md_table(current) or "not measured\n")
        parts.append("### History\n")
        parts.append(_md_table(history) or "no closed period\n")
        parts.append(f"Backing: {backing_text(agreement)}\n")
    return "\n".join(part for part in parts if part)
