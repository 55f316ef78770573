"""Every PromQL expression of the generated dashboards, with template variables substituted.

Shared by the unit tests (each expression parses) and the integration test (each returns data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from slo_operator.dashboards import grafana

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace `$var` and `${var}` as Grafana would for single values."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no example value for template variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(replace, expr)


def panel_queries(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expression) of every target of every panel."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def variable_selectors(dashboard: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(variable name, the series selector inside its `label_values(...)` query)."""
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = _LABEL_VALUES.match(variable["query"]["query"])
        assert match, f"variable {variable['name']}: not a label_values() query"
        yield variable["name"], match["selector"]


def example_values(**overrides: str) -> dict[str, str]:
    values = grafana.used_template_variables()
    values.update(overrides)
    return values
