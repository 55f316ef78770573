"""Three Grafana dashboards: all SLOs, one SLO in detail, and the SLAs.

Every query reads either the recorded series of `rules.series` (what Prometheus itself keeps,
minute by minute) or the operator's own metrics (what the evaluation loop measured, per
objective). Template variables choose the namespace, SLO, objective and group; the manifests,
when given, add one row per SLA commitment with selectors built from the SLA and its SLO.

docs/dashboards.md lists the panels and the operator metrics assumed before they exist.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from ..api import sla, slo
from ..rules import series

SCHEMA_VERSION = 39
"""Grafana's dashboard JSON schema version these dashboards are written for (Grafana 10/11)."""
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TAGS = ["slo-operator"]

OVERVIEW_UID = "slo-operator-overview"
DETAIL_UID = "slo-operator-slo-detail"
SLA_UID = "slo-operator-sla-overview"

# The operator's own metrics. The first group is exported by `evaluation.metrics` and
# `kube.metrics`; `ASSUMED_METRICS` are not exported yet, and tests fail once one of them is,
# so the assumption gets checked and moved.
SLI_PERCENT = "slo_operator_slo_sli_percent"
BUDGET_REMAINING_PERCENT = "slo_operator_slo_error_budget_remaining_percent"
OBJECTIVE_MET = "slo_operator_slo_objective_met"
BURN_RATE = "slo_operator_slo_burn_rate"
EVALUATION_DURATION = "slo_operator_evaluation_duration_seconds"
EVALUATION_ERRORS = "slo_operator_evaluation_errors_total"
RECONCILES = "slo_operator_reconciles_total"
TARGET_PERCENT = "slo_operator_slo_target_percent"
SLA_ATTAINMENT = "slo_operator_sla_attainment_percent"
SLA_PROJECTED = "slo_operator_sla_projected_attainment_percent"
SLA_CREDIT = "slo_operator_sla_credit_percent"

OPERATOR_METRICS: dict[str, tuple[str, ...]] = {
    SLI_PERCENT: ("namespace", "name", "objective"),
    BUDGET_REMAINING_PERCENT: ("namespace", "name", "objective"),
    OBJECTIVE_MET: ("namespace", "name", "objective"),
    BURN_RATE: ("namespace", "name", "window"),
    EVALUATION_DURATION: (),
    EVALUATION_ERRORS: ("backend", "reason"),
    RECONCILES: ("kind", "outcome"),
    TARGET_PERCENT: ("namespace", "name", "objective"),
    SLA_ATTAINMENT: ("namespace", "name", "commitment"),
    SLA_PROJECTED: ("namespace", "name", "commitment"),
    SLA_CREDIT: ("namespace", "name"),
}
"""Every operator metric the dashboards read, with the labels they rely on."""
ASSUMED_METRICS: frozenset[str] = frozenset()
"""Read by the dashboards but not exported by the operator yet (see docs/dashboards.md)."""

GRID_WIDTH = 24


# --- building blocks ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Query:
    """One PromQL target of a panel."""

    expr: str
    legend: str = ""
    instant: bool = False

    def to_json(self, ref_id: str) -> dict[str, Any]:
        return {
            "refId": ref_id,
            "datasource": DATASOURCE,
            "expr": self.expr,
            "legendFormat": self.legend or "__auto",
            "instant": self.instant,
            "range": not self.instant,
            "format": "table" if self.instant else "time_series",
        }


def _thresholds(steps: Sequence[tuple[str, float | None]]) -> dict[str, Any]:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for color, value in steps],
    }


_BUDGET_STEPS = (("red", None), ("orange", 0.0), ("green", 25.0))


class _Layout:
    """Places panels left to right on Grafana's 24-column grid and numbers them."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self._x = 0
        self._y = 0
        self._row_height = 0

    def _place(self, width: int, height: int) -> dict[str, int]:
        if self._x + width > GRID_WIDTH:
            self._x = 0
            self._y += self._row_height
            self._row_height = 0
        position = {"x": self._x, "y": self._y, "w": width, "h": height}
        self._x += width
        self._row_height = max(self._row_height, height)
        return position

    def row(self, title: str) -> None:
        if self._x:
            self._x = 0
            self._y += self._row_height
            self._row_height = 0
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": self._place(GRID_WIDTH, 1),
                "panels": [],
            }
        )
        self._x = GRID_WIDTH

    def panel(
        self,
        kind: str,
        title: str,
        queries: Sequence[Query],
        *,
        description: str,
        width: int,
        height: int = 8,
        unit: str = "short",
        minimum: float | None = None,
        maximum: float | None = None,
        thresholds: Sequence[tuple[str, float | None]] = (("green", None),),
    ) -> None:
        defaults: dict[str, Any] = {"unit": unit, "thresholds": _thresholds(thresholds)}
        if minimum is not None:
            defaults["min"] = minimum
        if maximum is not None:
            defaults["max"] = maximum
        if kind == "stat":
            defaults["color"] = {"mode": "thresholds"}
        self.panels.append(
            {
                "id": len(self.panels) + 1,
                "type": kind,
                "title": title,
                "description": description,
                "datasource": DATASOURCE,
                "gridPos": self._place(width, height),
                "targets": [
                    query.to_json(chr(ord("A") + number)) for number, query in enumerate(queries)
                ],
                "fieldConfig": {"defaults": defaults, "overrides": []},
                "options": _options(kind),
            }
        )


def _options(kind: str) -> dict[str, Any]:
    if kind == "stat":
        return {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "area",
            "textMode": "auto",
        }
    if kind == "table":
        return {"showHeader": True, "cellHeight": "sm"}
    return {
        "legend": {"displayMode": "table", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }


def _datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "hide": 0,
        "current": {},
    }


def _query_variable(
    name: str, label: str, query: str, *, multi: bool = False, include_all: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": include_all,
        "hide": 0,
        "current": {},
    }


def _textbox_variable(name: str, label: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "description": description,
        "type": "textbox",
        "query": "",
        "hide": 0,
        "current": {"text": "", "value": ""},
    }


def _dashboard(
    uid: str,
    title: str,
    description: str,
    layout: _Layout,
    variables: list[dict[str, Any]],
    *,
    time_from: str = "now-24h",
    time_to: str = "now",
    timezone: str = "browser",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": TAGS,
        "timezone": timezone,
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "1m",
        "time": {"from": time_from, "to": time_to},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": [
            {
                "type": "dashboards",
                "title": "SLO dashboards",
                "tags": TAGS,
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "panels": layout.panels,
    }


def _sel(metric: str, *matchers: str) -> str:
    """`metric{m1,m2}` from already-rendered matchers (which may hold template variables)."""
    return f"{metric}{{{','.join(matchers)}}}"


# --- the overview of all SLOs ------------------------------------------------------------------

_NS_MULTI = f'{series.LABEL_NAMESPACE}=~"$namespace"'
_OP_NS_MULTI = 'namespace=~"$namespace"'
_TOTAL_LEVEL1 = f'__name__=~"{"|".join(series.LEVEL1_TOTAL_NAMES)}"'
_BAD_LEVEL1 = f'__name__=~"{"|".join(series.LEVEL1_BAD_NAMES)}"'


def overview_dashboard() -> dict[str, Any]:
    """Every SLO of the chosen namespaces: how many meet their objectives, budgets, burn rates."""
    layout = _Layout()
    layout.row("Objectives")
    # Level 1 is recorded for an SLO without traffic too (zero events), unlike its ratios.
    slos = f"{{{_TOTAL_LEVEL1},{_NS_MULTI}}}"
    layout.panel(
        "stat",
        "SLOs",
        [Query(f"count(count by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) ({slos}))")],
        description="SLOs whose rules Prometheus evaluates (recorded events per minute).",
        width=6,
        height=4,
    )
    met = _sel(OBJECTIVE_MET, _OP_NS_MULTI)
    layout.panel(
        "stat",
        "Objectives met",
        [Query(f"sum({met})")],
        description="Objectives whose SLI reaches the target over the window (operator).",
        width=6,
        height=4,
    )
    layout.panel(
        "stat",
        "Objectives missed",
        [Query(f"sum(1 - {met})")],
        description="Objectives whose SLI is below the target over the window (operator).",
        width=6,
        height=4,
        thresholds=(("green", None), ("red", 1.0)),
    )
    budget = _sel(BUDGET_REMAINING_PERCENT, _OP_NS_MULTI)
    layout.panel(
        "stat",
        "Budgets exhausted",
        [Query(f"count({budget} <= 0) or vector(0)")],
        description="Objectives that have spent their whole error budget (operator).",
        width=6,
        height=4,
        thresholds=(("green", None), ("red", 1.0)),
    )
    layout.panel(
        "table",
        "Objectives",
        [
            Query(f"{_sel(SLI_PERCENT, _OP_NS_MULTI)}", "SLI", instant=True),
            Query(f"{_sel(TARGET_PERCENT, _OP_NS_MULTI)}", "Target", instant=True),
            Query(f"{budget}", "Budget remaining", instant=True),
        ],
        description="SLI, target and error budget left of every objective, percent (operator).",
        width=24,
        height=9,
        unit="percent",
    )
    layout.row("Error budgets and burn")
    layout.panel(
        "timeseries",
        "Error budget remaining",
        [Query(budget, "{{namespace}}/{{name}} {{objective}}")],
        description="Percent of each objective's budget left; below zero it is overspent.",
        width=12,
        unit="percent",
        thresholds=_BUDGET_STEPS,
    )
    layout.panel(
        "timeseries",
        "Burn rate of the primary objective",
        [Query(_sel(BURN_RATE, _OP_NS_MULTI), "{{namespace}}/{{name}} {{window}}")],
        description="1 spends the budget exactly over the window; alerts fire far above 1.",
        width=12,
    )
    full_bad = _sel(series.BAD_SUM, _NS_MULTI)
    full_total = _sel(series.TOTAL_SUM, _NS_MULTI)
    layout.panel(
        "timeseries",
        "SLI over the window (rolling SLOs, recorded)",
        [
            Query(
                f"100 * (1 - {full_bad} / ignoring ({series.LABEL_THRESHOLD}) group_left () "
                f"({full_total} > 0))",
                "{{slo_namespace}}/{{slo}} {{slo_threshold}}",
            )
        ],
        description="From the recorded full-window sums; calendar SLOs are on the SLO page.",
        width=12,
        unit="percent",
    )
    layout.panel(
        "timeseries",
        "Events per minute",
        [
            Query(
                f"sum by ({series.LABEL_NAMESPACE}, {series.LABEL_SLO}) "
                f"({{{_TOTAL_LEVEL1},{_NS_MULTI}}})",
                "{{slo_namespace}}/{{slo}}",
            )
        ],
        description="Traffic each SLO counts (level-1 recorded rates; samples per minute for "
        "0/1 gauges).",
        width=12,
    )
    _operator_health(layout)
    return _dashboard(
        OVERVIEW_UID,
        "SLOs: overview",
        "Every SLO: objectives met, budgets, burn rates (slo-operator).",
        layout,
        [
            _datasource_variable(),
            _query_variable(
                "namespace",
                "Namespace",
                f"label_values({series.ERROR_RATIO}, {series.LABEL_NAMESPACE})",
                multi=True,
                include_all=True,
            ),
        ],
    )


def _operator_health(layout: _Layout) -> None:
    layout.row("Operator")
    layout.panel(
        "timeseries",
        "Evaluation cycle duration (p90)",
        [
            Query(
                f"histogram_quantile(0.9, sum by (le) (rate({EVALUATION_DURATION}_bucket"
                "[$__rate_interval])))",
                "p90",
            )
        ],
        description="Wall time of one evaluation cycle of all SLOs and SLAs.",
        width=8,
        unit="s",
    )
    layout.panel(
        "timeseries",
        "Evaluation errors",
        [
            Query(
                f"sum by (backend, reason) (increase({EVALUATION_ERRORS}[$__rate_interval])) "
                "or vector(0)",
                "{{backend}} {{reason}}",
            )
        ],
        description="Failed evaluations; a backend failing long enough sets Stalled.",
        width=8,
    )
    layout.panel(
        "timeseries",
        "Reconciles",
        [
            Query(
                f"sum by (kind, outcome) (increase({RECONCILES}[$__rate_interval]))",
                "{{kind}} {{outcome}}",
            )
        ],
        description="Reconciles of SLO and SLA objects by outcome.",
        width=8,
    )


# --- one SLO -------------------------------------------------------------------------------------

_ONE_SLO = (
    f'{series.LABEL_SLO}="$slo"',
    f'{series.LABEL_NAMESPACE}="$namespace"',
    # Extra label matchers for one group of a grouped SLO, e.g. tenant="acme"; empty for all.
    "$group",
)
_OP_ONE_OBJECTIVE = ('namespace="$namespace"', 'name="$slo"', 'objective="$objective"')


def detail_dashboard(group_labels: Iterable[str] = ()) -> dict[str, Any]:
    """One SLO: its objective's SLI and budget, the error ratio at each window, traffic, tiles."""
    layout = _Layout()
    layout.row("Objective $objective")
    layout.panel(
        "stat",
        "SLI",
        [Query(_sel(SLI_PERCENT, *_OP_ONE_OBJECTIVE))],
        description="The objective's SLI over the SLO window, as the operator measured it.",
        width=6,
        height=5,
        unit="percent",
    )
    layout.panel(
        "stat",
        "Target",
        [Query(_sel(TARGET_PERCENT, *_OP_ONE_OBJECTIVE))],
        description="The objective's target.",
        width=6,
        height=5,
        unit="percent",
    )
    layout.panel(
        "stat",
        "Error budget remaining",
        [Query(_sel(BUDGET_REMAINING_PERCENT, *_OP_ONE_OBJECTIVE))],
        description="Percent of the objective's budget left (negative when overspent).",
        width=6,
        height=5,
        unit="percent",
        thresholds=_BUDGET_STEPS,
    )
    layout.panel(
        "stat",
        "Objective met",
        [Query(_sel(OBJECTIVE_MET, *_OP_ONE_OBJECTIVE))],
        description="1 when the SLI reaches the target.",
        width=6,
        height=5,
        thresholds=(("red", None), ("green", 1.0)),
    )
    layout.panel(
        "timeseries",
        "Error budget burn-down",
        [Query(_sel(BUDGET_REMAINING_PERCENT, *_OP_ONE_OBJECTIVE), "{{objective}}")],
        description="Budget left over time: 100% at the window's start, 0% when spent.",
        width=12,
        unit="percent",
        thresholds=_BUDGET_STEPS,
    )
    layout.panel(
        "timeseries",
        "Burn rate at the alert windows",
        [Query(_sel(BURN_RATE, 'namespace="$namespace"', 'name="$slo"'), "{{window}}")],
        description="Burn rate of the primary objective's budget at each alert window.",
        width=12,
    )
    layout.row("Recorded series (all objectives: tiers share them, by slo_threshold)")
    layout.panel(
        "timeseries",
        "Error ratio at each window",
        [Query(_sel(series.ERROR_RATIO, *_ONE_SLO), "{{slo_window}} {{slo_threshold}}")],
        description="bad / total over every window the rules record (alert windows and the "
        "full rolling window).",
        width=12,
        unit="percentunit",
    )
    layout.panel(
        "timeseries",
        "SLI over the window (rolling SLOs)",
        [
            Query(
                f"100 * (1 - {_sel(series.BAD_SUM, *_ONE_SLO)} / ignoring "
                f"({series.LABEL_THRESHOLD}) group_left () "
                f"({_sel(series.TOTAL_SUM, *_ONE_SLO)} > 0))",
                "{{slo_threshold}}",
            )
        ],
        description="From the recorded full-window sums (tiles for windows of 7d and more).",
        width=12,
        unit="percent",
    )
    layout.panel(
        "timeseries",
        "Events: total and bad",
        [
            Query(f"{{{_TOTAL_LEVEL1},{','.join(_ONE_SLO)}}}", "total"),
            Query(f"{{{_BAD_LEVEL1},{','.join(_ONE_SLO)}}}", "bad {{slo_threshold}}"),
        ],
        description="Level-1 recorded events per minute (samples per minute for 0/1 gauges).",
        width=12,
    )
    layout.panel(
        "timeseries",
        "Hourly tiles",
        [
            Query(_sel(series.TOTAL_TILE, *_ONE_SLO), "total per hour"),
            Query(_sel(series.BAD_TILE, *_ONE_SLO), "bad per hour {{slo_threshold}}"),
        ],
        description="Events (or slices) per hour, from which long and calendar windows are "
        "summed; recorded for windows of 7d and more and for calendar SLOs.",
        width=12,
    )
    labels = ", ".join(sorted(set(group_labels))) or "the SLO's groupBy labels"
    return _dashboard(
        DETAIL_UID,
        "SLOs: one SLO",
        "One SLO and objective: SLI, budget burn-down, burn rates, recorded series.",
        layout,
        [
            _datasource_variable(),
            _query_variable(
                "namespace",
                "Namespace",
                f"label_values({series.ERROR_RATIO}, {series.LABEL_NAMESPACE})",
            ),
            _query_variable(
                "slo",
                "SLO",
                f'label_values({series.ERROR_RATIO}{{{series.LABEL_NAMESPACE}="$namespace"}}, '
                f"{series.LABEL_SLO})",
            ),
            _query_variable(
                "objective",
                "Objective",
                f'label_values({SLI_PERCENT}{{namespace="$namespace",name="$slo"}}, objective)',
            ),
            _textbox_variable(
                "group",
                "Group",
                f"Label matchers for one group of a grouped SLO ({labels}), e.g. "
                'tenant="acme"; empty shows every group.',
            ),
        ],
    )


# --- SLAs ----------------------------------------------------------------------------------------


_AFTER_START = " offset -1ms"
"""Moves a range 1ms later: it starts just after the period's start instead of at it."""
_TILES = f"[$__range:1h]{_AFTER_START}"


def _commitment_attainment(
    commitment: sla.Commitment,
    objective_slo: slo.ServiceLevelObjective,
) -> str:
    """PromQL for a commitment's attainment over the dashboard's range, before exclusions.

    Reads the SLO's hourly tiles where it records them, its slice errors for untiled timeslice
    SLOs, and its level-1 rates otherwise: each gives bad / total over the range. The range is
    shifted 1ms later (`_AFTER_START`) so the step at the range's start, whose tile or slice
    ends there and belongs to the previous period, is left out on Prometheus 2 too (its ranges
    include both ends; Prometheus 3's leave the start out).
    """
    spec = objective_slo.spec
    objective = next((o for o in spec.objectives if o.name == commitment.objective), spec.primary)
    labels = series.identity_labels(objective_slo)
    labels.update(commitment.group_labels)
    bad_labels = series.objective_labels(objective_slo, objective)
    bad_labels.update(commitment.group_labels)
    if series.needs_tiles(spec):
        bad = f"sum_over_time({series.selector(series.BAD_TILE, bad_labels)}{_TILES})"
        total = f"sum_over_time({series.selector(series.TOTAL_TILE, labels)}{_TILES})"
        return f"100 * (1 - sum({bad}) / (sum({total}) > 0))"
    if series.uses_slices(spec):
        assert spec.timeslice is not None
        step = spec.timeslice.duration
        errors = series.selector(series.SLICE_ERROR, bad_labels)
        slices = f"[$__range:{step}]{_AFTER_START}"
        return f"100 * (1 - avg(avg_over_time({errors}{slices})))"
    points = f"[$__range]{_AFTER_START}"
    bad = f"sum_over_time({series.selector(series.bad_level1(spec), bad_labels)}{points})"
    total = f"sum_over_time({series.selector(series.total_level1(spec), labels)}{points})"
    return f"100 * (1 - sum({bad}) / (sum({total}) > 0))"


def sla_dashboard(
    agreements: Sequence[sla.ServiceLevelAgreement],
    objectives: Sequence[slo.ServiceLevelObjective],
) -> dict[str, Any]:
    """The SLAs: attainment, projection and credits (operator), and one row per given SLA."""
    layout = _Layout()
    layout.row("All agreements (operator)")
    op_ns = 'namespace=~"$namespace"'
    layout.panel(
        "table",
        "Commitments this period",
        [
            Query(_sel(SLA_ATTAINMENT, op_ns), "Attainment", instant=True),
            Query(_sel(SLA_PROJECTED, op_ns), "Projected", instant=True),
        ],
        description="Attainment so far and projected to the period's end, per commitment.",
        width=16,
        height=8,
        unit="percent",
    )
    layout.panel(
        "stat",
        "Credits owed this period",
        [Query(_sel(SLA_CREDIT, op_ns), "{{namespace}}/{{name}}")],
        description="Service credit, percent of the period's fee, by the worst commitment.",
        width=8,
        height=8,
        unit="percent",
        thresholds=(("green", None), ("red", 0.001)),
    )
    by_key = {(resource.namespace, resource.name): resource for resource in objectives}
    zones = {agreement.spec.time_zone for agreement in agreements}
    periods = {agreement.spec.period for agreement in agreements}
    for agreement in agreements:
        namespace = agreement.metadata.namespace or "default"
        layout.row(f"{agreement.metadata.name} ({agreement.spec.customer})")
        for commitment in agreement.spec.commitments:
            target_slo = by_key.get((namespace, commitment.slo_ref.name))
            if target_slo is None:
                continue
            layout.panel(
                "stat",
                f"{commitment.name}: attainment (before exclusions)",
                [Query(_commitment_attainment(commitment, target_slo))],
                description=(
                    f"SLO {commitment.slo_ref.name} over the dashboard's range, from its "
                    f"recorded series; the contract's target is {commitment.target:g}%. "
                    "Maintenance exclusions are applied by the operator, not here."
                ),
                width=6,
                height=5,
                unit="percent",
                thresholds=(("red", None), ("green", commitment.target)),
            )
    period = periods.pop() if len(periods) == 1 else slo.CalendarPeriod.MONTH
    start = {
        slo.CalendarPeriod.WEEK: "now/w",
        slo.CalendarPeriod.MONTH: "now/M",
        slo.CalendarPeriod.QUARTER: "now/Q",
        slo.CalendarPeriod.YEAR: "now/y",
    }[period]
    return _dashboard(
        SLA_UID,
        "SLAs: overview",
        "Service level agreements: attainment, projection, credits (slo-operator).",
        layout,
        [
            _datasource_variable(),
            _query_variable(
                "namespace",
                "Namespace",
                f"label_values({series.ERROR_RATIO}, {series.LABEL_NAMESPACE})",
                multi=True,
                include_all=True,
            ),
        ],
        time_from=start,
        timezone=zones.pop() if len(zones) == 1 else "utc",
    )


def render_dashboards(
    resources: Iterable[slo.ServiceLevelObjective | sla.ServiceLevelAgreement],
) -> list[dict[str, Any]]:
    """The overview, detail and SLA dashboards; manifests refine the SLA and group panels."""
    resources = list(resources)
    objectives = [r for r in resources if isinstance(r, slo.ServiceLevelObjective)]
    agreements = [r for r in resources if isinstance(r, sla.ServiceLevelAgreement)]
    group_labels = {label for resource in objectives for label in resource.spec.group_by}
    return [
        overview_dashboard(),
        detail_dashboard(group_labels),
        sla_dashboard(agreements, objectives),
    ]


def used_template_variables() -> dict[str, str]:
    """Example values for every template variable, for tests and docs (`$var` -> value)."""
    return {
        "namespace": "shop",
        "slo": "checkout-availability",
        "objective": "standard",
        "group": 'tenant="acme"',
        "datasource": "prometheus",
        "__range": "1h",
        "__rate_interval": "5m",
    }
