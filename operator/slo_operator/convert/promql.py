"""Which imported PromQL queries mean a counter we can measure, judged by the real parser.

Our indicators are selectors, not free PromQL: the rules build every query around a parsed
selector. An imported query is accepted when it is one of the shapes that only *aggregates*
a counter the way our level-1 rules do anyway, so the selector (and the `by` labels) carry its
whole meaning:

- `SELECTOR`
- `rate(SELECTOR[range])` or `increase(SELECTOR[range])`
- `sum(...)` or `sum by (label, ...) (...)` around either

The `range` is not kept: level 1 reads raw series over its own range (docs/rules.md).
Anything else is refused with a message naming what was found.
"""

from __future__ import annotations

import dataclasses

import promql_parser

from ..api import common

_MATCH_OPS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}
_COUNTER_FUNCTIONS = ("rate", "increase")
ACCEPTED_SHAPES = (
    "sum [by (labels)] (rate(SELECTOR[range])), rate(SELECTOR[range]) or a plain SELECTOR"
)


class UnsupportedQuery(ValueError):
    """A query that is more than an aggregated selector; the message says what was found."""


@dataclasses.dataclass(frozen=True)
class CounterQuery:
    """What an accepted query measures: a counter's selector, summed by some labels."""

    selector: common.Selector
    group_by: tuple[str, ...]
    """Labels of `sum by (...)`, in the query's order; empty for a plain sum or no sum."""

    @property
    def selector_text(self) -> str:
        """The selector as our manifests write it (every value quoted and escaped)."""
        return self.selector.render()


def _describe(node: object) -> str:
    """A reader's name for an expression the accepted shapes do not allow."""
    if isinstance(node, promql_parser.AggregateExpr):
        return f"the aggregation {node.op}(...)"
    if isinstance(node, promql_parser.Call):
        return f"the function {node.func.name}(...)"
    if isinstance(node, promql_parser.BinaryExpr):
        return "a binary expression (arithmetic, comparison or and/or/unless)"
    if isinstance(node, promql_parser.SubqueryExpr):
        return "a subquery"
    if isinstance(node, promql_parser.MatrixSelector):
        return "a range selector outside rate()"
    if isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return "a literal"
    if isinstance(node, promql_parser.UnaryExpr):
        return "a unary minus"
    return type(node).__name__


def _unwrap(node: object) -> object:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def selector_of(vector: promql_parser.VectorSelector, text: str) -> common.Selector:
    """Our selector for a parsed vector selector; UnsupportedQuery for modifiers we cannot keep."""
    if vector.offset is not None or vector.at is not None:
        raise UnsupportedQuery(f"offset and @ modifiers cannot be converted in {text!r}")
    if vector.matchers.or_matchers:
        raise UnsupportedQuery(f"`or` inside braces cannot be converted in {text!r}")
    if not vector.name:
        raise UnsupportedQuery(f"the selector in {text!r} has no metric name")
    matchers = tuple(
        common.Matcher(name=matcher.name, op=_MATCH_OPS[str(matcher.op)], value=matcher.value)
        for matcher in vector.matchers.matchers
        if matcher.name != "__name__"
    )
    return common.Selector(metric=vector.name, matchers=matchers)


def _counter_selector(node: object, text: str) -> common.Selector:
    node = _unwrap(node)
    if isinstance(node, promql_parser.VectorSelector):
        return selector_of(node, text)
    if isinstance(node, promql_parser.Call) and node.func.name in _COUNTER_FUNCTIONS:
        (argument,) = node.args
        argument = _unwrap(argument)
        if isinstance(argument, promql_parser.MatrixSelector):
            return selector_of(argument.vector_selector, text)
        raise UnsupportedQuery(
            f"{node.func.name}() must read a range selector like x[5m], found "
            f"{_describe(argument)} in {text!r}"
        )
    raise UnsupportedQuery(f"expected {ACCEPTED_SHAPES}; found {_describe(node)} in {text!r}")


def parse_counter_query(text: str) -> CounterQuery:
    """The counter and grouping of an accepted query; UnsupportedQuery for any other PromQL."""
    stripped = text.strip()
    if not stripped:
        raise UnsupportedQuery("the query is empty")
    try:
        node = _unwrap(promql_parser.parse(stripped))
    except ValueError as error:
        raise UnsupportedQuery(f"not valid PromQL: {error}") from error
    if isinstance(node, promql_parser.AggregateExpr):
        if str(node.op) != "sum":
            raise UnsupportedQuery(
                f"expected {ACCEPTED_SHAPES}; found {_describe(node)} in {stripped!r} (only sum "
                "keeps a ratio of counters exact)"
            )
        group_by: tuple[str, ...] = ()
        if node.modifier is not None:
            if str(node.modifier.type) != "AggModifierType.By":
                raise UnsupportedQuery(
                    f"sum without (...) cannot be converted in {stripped!r}: name the labels "
                    "to keep with sum by (...)"
                )
            group_by = tuple(node.modifier.labels)
        return CounterQuery(_counter_selector(node.expr, stripped), group_by)
    return CounterQuery(_counter_selector(node, stripped), ())
