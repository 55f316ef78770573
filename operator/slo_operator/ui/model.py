"""What the pages show, from object bodies as the watch delivers them: no I/O.

The overview reads the raw bodies (parsing 1,000 manifests with pydantic on every page view would
cost more than the page); the detail pages parse the one object they show.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ..api import conditions

SloState = Literal["stalled", "nodata", "exhausted", "burning", "ok", "pending"]
SlaState = Literal["stalled", "breached", "at-risk", "ok", "pending"]
State = SloState | SlaState
SortKey = Literal["budget", "burn", "name"]

STATES: dict[str, str] = {
    "exhausted": "Budget exhausted",
    "burning": "Burning (burn rate above 1)",
    "nodata": "No data",
    "stalled": "Stalled",
    "breached": "SLA breached",
    "at-risk": "SLA at risk",
    "ok": "OK",
    "pending": "Not evaluated yet",
}
"""Every state a filter may ask for, with its label."""
SORTS: dict[str, str] = {
    "budget": "Remaining budget (lowest first)",
    "burn": "Burn rate (highest first)",
    "name": "Namespace and name",
}


class BadQuery(ValueError):
    """A query parameter the overview cannot use; names the parameter."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"query parameter {parameter!r}: {reason}")
        self.parameter = parameter


Type = conditions.ConditionType


def condition(
    status: Mapping[str, Any], type_: conditions.ConditionType
) -> Mapping[str, Any] | None:
    return conditions.get_condition(status.get("conditions") or [], type_)


def _is_true(status: Mapping[str, Any], type_: conditions.ConditionType) -> bool:
    found = condition(status, type_)
    return found is not None and found.get("status") == "True"


def slo_state(status: Mapping[str, Any]) -> SloState:
    """One state per SLO, the most urgent first: Stalled, NoData, exhausted, burning, ok.

    Burning: the primary objective spends its budget faster than the window allows at some
    alert window (a burn rate above 1), before any alert needs to fire.
    """
    if _is_true(status, Type.STALLED):
        return "stalled"
    ready = condition(status, Type.READY)
    if ready is not None and ready.get("reason") == conditions.Reason.NO_DATA:
        return "nodata"
    if _is_true(status, Type.ERROR_BUDGET_EXHAUSTED):
        return "exhausted"
    if status.get("sli") is None:
        return "pending"
    if max_burn_rate(status) > 1:
        return "burning"
    return "ok"


def sla_state(status: Mapping[str, Any]) -> SlaState:
    """Stalled, breached (not Compliant), at risk (projected below a target), ok."""
    if _is_true(status, Type.STALLED):
        return "stalled"
    compliant = condition(status, Type.COMPLIANT)
    if compliant is not None and compliant.get("status") == "False":
        return "breached"
    if _is_true(status, Type.AT_RISK):
        return "at-risk"
    if compliant is None or compliant.get("status") != "True":
        return "pending"
    return "ok"


def max_burn_rate(status: Mapping[str, Any]) -> float:
    rates = [float(v) for v in (status.get("burnRates") or {}).values() if v is not None]
    return max(rates, default=0.0)


def number(value: Any) -> str:
    """A status number as written in status (99.412, 41.2, -30); an em dash when absent."""
    if value is None:
        return "—"
    number_value = float(value)
    if math.isnan(number_value):
        return "—"
    text = repr(number_value)
    return text[:-2] if text.endswith(".0") else text


@dataclasses.dataclass(frozen=True)
class ObjectiveBar:
    name: str
    target: float | None
    sli: float | None
    remaining_percent: float | None
    primary: bool


@dataclasses.dataclass(frozen=True)
class SloRow:
    namespace: str
    name: str
    service: str
    description: str
    owner: str
    state: SloState
    sli: float | None
    target: float | None
    remaining_percent: float | None
    max_burn_rate: float | None
    objectives: tuple[ObjectiveBar, ...]
    window: str
    last_evaluation: str | None

    @property
    def text(self) -> str:
        return " ".join(
            (self.namespace, self.name, self.service, self.description, self.owner)
        ).lower()


@dataclasses.dataclass(frozen=True)
class SlaRow:
    namespace: str
    name: str
    customer: str
    period: str
    state: SlaState
    attainment: float | None
    credit_percent: float | None
    commitments: int
    slo_names: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join((self.namespace, self.name, self.customer, *self.slo_names)).lower()


def _window(spec: Mapping[str, Any]) -> str:
    calendar = spec.get("calendar")
    if calendar:
        return f"{calendar.get('period')} ({calendar.get('timeZone') or 'UTC'})"
    return str(spec.get("window") or "")


def slo_row(body: Mapping[str, Any]) -> SloRow:
    """The overview's row of one SLO body (as the watch delivers it)."""
    metadata = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    objectives = spec.get("objectives") or []
    primary = spec.get("primaryObjective") or (objectives[0].get("name") if objectives else None)
    measured = {o.get("name"): o for o in status.get("objectives") or []}
    bars = []
    for objective in objectives:
        found = measured.get(objective.get("name")) or {}
        bars.append(
            ObjectiveBar(
                name=str(objective.get("name")),
                target=objective.get("target"),
                sli=found.get("sli"),
                remaining_percent=found.get("errorBudgetRemainingPercent"),
                primary=objective.get("name") == primary,
            )
        )
    rates = status.get("burnRates") or {}
    return SloRow(
        namespace=str(metadata.get("namespace") or "default"),
        name=str(metadata.get("name")),
        service=str(spec.get("service") or ""),
        description=str(spec.get("description") or ""),
        owner=str(spec.get("owner") or ""),
        state=slo_state(status),
        sli=status.get("sli"),
        target=status.get("target"),
        remaining_percent=status.get("errorBudgetRemainingPercent"),
        max_burn_rate=max_burn_rate(status) if rates else None,
        objectives=tuple(bars),
        window=_window(spec),
        last_evaluation=status.get("lastEvaluationTime"),
    )


def sla_row(body: Mapping[str, Any]) -> SlaRow:
    metadata = body.get("metadata") or {}
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    current = status.get("currentPeriod") or {}
    commitments = spec.get("commitments") or []
    return SlaRow(
        namespace=str(metadata.get("namespace") or "default"),
        name=str(metadata.get("name")),
        customer=str(spec.get("customer") or ""),
        period=f"{spec.get('period')} ({spec.get('timeZone') or 'UTC'})",
        state=sla_state(status),
        attainment=current.get("attainment"),
        credit_percent=current.get("creditPercent"),
        commitments=len(commitments),
        slo_names=tuple(str((c.get("sloRef") or {}).get("name")) for c in commitments),
    )


@dataclasses.dataclass(frozen=True)
class Filters:
    """The overview's filters and sort order, as in its URL (a deep link)."""

    namespace: str = ""
    service: str = ""
    state: str = ""
    text: str = ""
    sort: SortKey = "budget"
    page: int = 1
    """1-based page of `PAGE_SIZE` SLOs."""

    def query(self, **changes: str) -> dict[str, str]:
        """The URL query of these filters with `changes`, leaving out defaults.

        A change of anything but the page starts again at the first page.
        """
        values = {
            "namespace": self.namespace,
            "service": self.service,
            "state": self.state,
            "q": self.text,
            "sort": self.sort,
            "page": str(self.page) if "page" in changes or not changes else "1",
        }
        values.update(changes)
        defaults = {"sort": "budget", "page": "1"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}

    @property
    def active(self) -> bool:
        return bool(self.namespace or self.service or self.state or self.text)


MAX_TEXT = 200
PAGE_SIZE = 100
"""SLOs per overview page: 1,000 rows of budget bars are a slow page to build and to read."""


def parse_filters(query: Mapping[str, str]) -> Filters:
    """Filters from a URL query; BadQuery naming the parameter for a value it cannot use."""
    state = query.get("state", "")
    if state and state not in STATES:
        raise BadQuery("state", f"unknown state {state!r} (one of {', '.join(STATES)})")
    sort = query.get("sort", "") or "budget"
    if sort not in SORTS:
        raise BadQuery("sort", f"unknown sort {sort!r} (one of {', '.join(SORTS)})")
    text = query.get("q", "").strip()
    if len(text) > MAX_TEXT:
        raise BadQuery("q", f"longer than {MAX_TEXT} characters")
    page_text = query.get("page", "") or "1"
    if not page_text.isdigit() or int(page_text) < 1 or len(page_text) > 6:
        raise BadQuery("page", f"not a page number: {page_text!r}")
    return Filters(
        namespace=query.get("namespace", "").strip(),
        service=query.get("service", "").strip(),
        state=state,
        text=text,
        sort=sort,  # type: ignore[arg-type]
        page=int(page_text),
    )


def _budget_key(row: SloRow) -> tuple[int, float, str, str]:
    value = row.remaining_percent
    return (value is None, value if value is not None else 0.0, row.namespace, row.name)


def _burn_key(row: SloRow) -> tuple[int, float, str, str]:
    value = row.max_burn_rate
    return (value is None, -(value or 0.0), row.namespace, row.name)


@dataclasses.dataclass(frozen=True)
class Overview:
    slos: tuple[SloRow, ...]
    """The SLOs of the requested page among those the filters let through, in order."""
    matching_slos: int
    """SLOs the filters let through, on every page."""
    pages: int
    slas: tuple[SlaRow, ...]
    total_slos: int
    total_slas: int
    counts: Mapping[str, int]
    """SLOs and SLAs per state, of everything in scope (before filters)."""
    namespaces: tuple[str, ...]
    services: tuple[str, ...]
    filters: Filters


class RowCache:
    """Overview rows by object, rebuilt only for a body the watch replaced.

    The registry stores a new body object for every change, so the body's identity says whether
    the row is current; the cache holds the body it was built from, which keeps that identity
    meaningful. Objects that left the registry are dropped at the next call.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str, str], tuple[Mapping[str, Any], SloRow | SlaRow]] = {}

    def rows(self, kind: str, bodies: Iterable[Mapping[str, Any]]) -> list[Any]:
        build = slo_row if kind == "ServiceLevelObjective" else sla_row
        found = []
        seen = set()
        for body in bodies:
            metadata = body.get("metadata") or {}
            key = (kind, str(metadata.get("namespace")), str(metadata.get("name")))
            seen.add(key)
            cached = self._rows.get(key)
            if cached is None or cached[0] is not body:
                cached = (body, build(body))
                self._rows[key] = cached
            found.append(cached[1])
        for key in [k for k in self._rows if k[0] == kind and k not in seen]:
            del self._rows[key]
        return found


def overview(
    slo_rows: Sequence[SloRow],
    sla_rows: Sequence[SlaRow],
    filters: Filters,
) -> Overview:
    """The overview page's rows: filtered, sorted, paged, with the counts of all in scope."""
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for row in slo_rows:
        counts[row.state] += 1
    for sla in sla_rows:
        counts[sla.state] += 1
    namespaces = sorted({row.namespace for row in slo_rows} | {row.namespace for row in sla_rows})
    services = sorted({row.service for row in slo_rows})
    text = filters.text.lower()
    chosen = [
        row
        for row in slo_rows
        if (not filters.namespace or row.namespace == filters.namespace)
        and (not filters.service or row.service == filters.service)
        and (not filters.state or row.state == filters.state)
        and (not text or text in row.text)
    ]
    if filters.sort == "budget":
        chosen.sort(key=_budget_key)
    elif filters.sort == "burn":
        chosen.sort(key=_burn_key)
    else:
        chosen.sort(key=lambda row: (row.namespace, row.name))
    # SLAs have no service; a service filter keeps those resting on one of its SLOs.
    service_slos = {(r.namespace, r.name) for r in slo_rows if r.service == filters.service}
    chosen_slas = [
        row
        for row in sla_rows
        if (not filters.namespace or row.namespace == filters.namespace)
        and (
            not filters.service
            or any((row.namespace, name) in service_slos for name in row.slo_names)
        )
        and (not filters.state or row.state == filters.state)
        and (not text or text in row.text)
    ]
    chosen_slas.sort(key=lambda row: (row.namespace, row.name))
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    first = (min(filters.page, pages) - 1) * PAGE_SIZE
    return Overview(
        slos=tuple(chosen[first : first + PAGE_SIZE]),
        matching_slos=len(chosen),
        pages=pages,
        slas=tuple(chosen_slas),
        total_slos=len(slo_rows),
        total_slas=len(sla_rows),
        counts=counts,
        namespaces=tuple(namespaces),
        services=tuple(services),
        filters=filters,
    )


def worst_groups_first(groups: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Groups by remaining budget, lowest first; unmeasured ones last."""

    def key(group: Mapping[str, Any]) -> tuple[int, float]:
        value = group.get("errorBudgetRemainingPercent")
        return (value is None, float(value) if value is not None else 0.0)

    return sorted(groups, key=key)
