"""What a PromQL expression reads, from the real parser's syntax tree (`promql-parser`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import promql_parser

OPS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}


@dataclasses.dataclass(frozen=True)
class Read:
    """One series selector in an expression and how far back it reads."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...]
    """(label, op, value) with values unescaped, as Prometheus sees them."""
    range_seconds: float | None
    """Range of a `[range]` selector; None for an instant selector."""
    subquery: tuple[float, float] | None
    """(range, step) in seconds of the innermost subquery around it, if any."""
    offset_seconds: float = 0.0
    """Its `offset` modifier."""

    @property
    def raw(self) -> bool:
        """Whether this reads a scraped series rather than one the rules record."""
        return not self.metric.startswith("slo:")

    def equal(self, label: str) -> str | None:
        for name, op, value in self.matchers:
            if name == label and op == "=":
                return value
        return None


def _selector(node: Any, range_seconds: float | None, subquery: Any) -> Read:
    matchers = tuple(
        (m.name, OPS[str(m.op)], m.value) for m in node.matchers.matchers if m.name != "__name__"
    )
    offset = node.offset.total_seconds() if node.offset is not None else 0.0
    return Read(node.name, matchers, range_seconds, subquery, offset)


def reads(expr: str) -> list[Read]:
    """Every selector in `expr`, in order; raises ValueError when it does not parse."""
    found: list[Read] = []

    def walk(node: Any, subquery: tuple[float, float] | None) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(_selector(node, None, subquery))
        elif isinstance(node, promql_parser.MatrixSelector):
            seconds = node.range.total_seconds()
            found.append(_selector(node.vector_selector, seconds, subquery))
        elif isinstance(node, promql_parser.SubqueryExpr):
            step = node.step.total_seconds() if node.step else 0.0
            walk(node.expr, (node.range.total_seconds(), step))
        elif isinstance(node, promql_parser.Call):
            for argument in node.args:
                walk(argument, subquery)
        elif isinstance(node, promql_parser.BinaryExpr):
            walk(node.lhs, subquery)
            walk(node.rhs, subquery)
        elif isinstance(node, promql_parser.AggregateExpr):
            walk(node.expr, subquery)
            if node.param is not None:
                walk(node.param, subquery)
        elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
            walk(node.expr, subquery)

    walk(promql_parser.parse(expr), None)
    return found


_WRAPPERS = (
    promql_parser.AggregateExpr,
    promql_parser.ParenExpr,
    promql_parser.UnaryExpr,
    promql_parser.SubqueryExpr,
)


def functions(expr: str) -> set[str]:
    """Names of the functions called in `expr`."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.Call):
            names.add(str(node.func.name))
            for argument in node.args:
                walk(argument)
        elif isinstance(node, promql_parser.BinaryExpr):
            walk(node.lhs)
            walk(node.rhs)
        elif isinstance(node, _WRAPPERS):
            walk(node.expr)

    walk(promql_parser.parse(expr))
    return names
