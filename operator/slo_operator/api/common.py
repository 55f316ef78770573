"""Building blocks shared by the SLO and SLA models: the base model, durations, selectors, names.

Everything here is pure: parsing and formatting, no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import zoneinfo
from typing import Annotated, Any

import promql_parser
import pydantic
from pydantic import alias_generators

from .. import errors

DURATION_PATTERN = r"^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"
"""A Prometheus duration such as `30d`, `1h30m` or `150ms` (units in decreasing order)."""

LABEL_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
"""A Prometheus label name."""

OBJECT_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS-1123 label, used for objective, commitment, step and exclusion names."""

_METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_STRING = r"(\"([^\"\\]|\\.)*\"|'([^'\\]|\\.)*'|`[^`]*`)"
_MATCHER = _LABEL_NAME + r"\s*(=~|!~|!=|=)\s*" + _STRING
SELECTOR_SHAPE_PATTERN = (
    r"^\s*"
    + _METRIC_NAME
    + r"\s*(\{\s*("
    + _MATCHER
    + r"\s*(,\s*"
    + _MATCHER
    + r"\s*)*(,\s*)?)?\})?\s*$"
)
"""The grammar of a plain selector: a metric name, then optional `{label op "value", ...}`.

The CRD schema enforces it, so the apiserver rejects `sum(...)`, `x or vector(1)` and unclosed
braces by itself. The models run the PromQL parser first (its messages carry a column) and then
this pattern, so nothing the apiserver rejects passes `slo-operator validate`. What the pattern
cannot see (an invalid regular expression after `=~`, a reserved word as metric name) is left to
the parser, that is to the admission webhook.
"""

_UNIT_SECONDS = {
    "y": 365 * 86400,
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
    "ms": 0.001,
}
_DURATION_PART = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")


WIRE_CONFIG = pydantic.ConfigDict(
    alias_generator=alias_generators.to_camel,
    populate_by_name=True,
    extra="forbid",
    use_attribute_docstrings=True,
)
"""The pydantic configuration of every model of a Kubernetes object or file: camelCase on the
wire (snake_case in Python), unknown fields rejected, attribute docstrings as descriptions."""


class Model(pydantic.BaseModel):
    """Base of every API model: `WIRE_CONFIG`, and immutable."""

    model_config = pydantic.ConfigDict(**WIRE_CONFIG, frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The manifest form: camelCase keys, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@functools.lru_cache(maxsize=4096)
def parse_duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration; raises ValueError for anything else or zero."""
    if not text or not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"{text!r} is not a Prometheus duration (examples: 30d, 1h30m, 5m, 150ms)")
    seconds = sum(
        int(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text)
    )
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return seconds


# Cached: rule generation formats the same few windows hundreds of thousands of times.
@functools.lru_cache(maxsize=4096)
def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration of whole milliseconds: 5400 -> `1h30m`."""
    millis = round(seconds * 1000)
    if millis <= 0:
        raise ValueError(f"duration must be positive, got {seconds}")
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, millis = divmod(millis, size)
        if count:
            parts.append(f"{count}{unit}")
    if millis:
        parts.append(f"{millis}ms")
    return "".join(parts)


def _check_duration(text: str) -> str:
    parse_duration_seconds(text)
    return text


Duration = Annotated[
    str,
    pydantic.AfterValidator(_check_duration),
    # The pattern goes into the JSON schema (so the CRD carries it) but is not checked by
    # pydantic: `_check_duration` judges first, with a message that shows examples.
    pydantic.Field(min_length=2, max_length=32, json_schema_extra={"pattern": DURATION_PATTERN}),
]
"""A Prometheus duration string, validated and kept as written."""

LIST_MAP_BY_NAME: dict[str, Any] = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
}
"""For the CRD: a list whose items are identified by `name`. The apiserver rejects duplicate
names, and server-side apply merges items by name instead of replacing the whole list."""

LIST_SET: dict[str, Any] = {"x-kubernetes-list-type": "set"}
"""For the CRD: a list of unique scalars, enforced by the apiserver."""

LabelName = Annotated[str, pydantic.Field(pattern=LABEL_NAME_PATTERN, max_length=128)]
ObjectName = Annotated[str, pydantic.Field(pattern=OBJECT_NAME_PATTERN, max_length=63)]
Percent = Annotated[float, pydantic.Field(gt=0, lt=100)]
"""A target percent, strictly between 0 and 100."""


def _check_label_map(labels: dict[str, str]) -> dict[str, str]:
    for name in labels:
        if not re.fullmatch(LABEL_NAME_PATTERN, name):
            raise errors.FieldProblem(
                (name,), f"{name!r} is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
            )
        if name.startswith("__"):
            raise errors.FieldProblem((name,), f"{name!r}: names starting with __ are reserved")
    return labels


LABEL_NAME_KEYS_CEL: dict[str, Any] = {
    "x-kubernetes-validations": [
        {
            "rule": "self.all(k, k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$') && !k.startsWith('__'))",
            "message": "names must match [a-zA-Z_][a-zA-Z0-9_]* and must not start with __",
        }
    ]
}
"""The CRD's form of `_check_label_map`: map keys are Prometheus label names."""

LabelMap = Annotated[
    dict[str, str],
    # The bound lets the apiserver's CEL cost estimator price the key check.
    pydantic.Field(max_length=32, json_schema_extra=LABEL_NAME_KEYS_CEL),
    pydantic.AfterValidator(_check_label_map),
]
"""Prometheus labels: valid names, any string values (escaped wherever they are rendered)."""


def _check_time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        # OSError: a folder of the database (`America`, IsADirectoryError) or a name longer
        # than a file name can be.
        raise ValueError(
            f"{name!r} is not an IANA time zone (examples: UTC, Europe/Berlin)"
        ) from error
    return name


TimeZone = Annotated[
    str,
    pydantic.Field(min_length=1, max_length=64),
    pydantic.AfterValidator(_check_time_zone),
]


# --- selectors -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Matcher:
    """One label matcher of a selector, with its value unescaped."""

    name: str
    op: str
    """One of `=`, `!=`, `=~`, `!~`."""
    value: str

    def render(self) -> str:
        return f"{self.name}{self.op}{quote_promql_string(self.value)}"


@dataclasses.dataclass(frozen=True)
class Selector:
    """A parsed vector selector: a metric name and label matchers. Rendered, never pasted."""

    metric: str
    matchers: tuple[Matcher, ...]

    def render(self, metric: str | None = None, extra: tuple[Matcher, ...] = ()) -> str:
        """PromQL for this selector, optionally for another metric name or with more matchers."""
        all_matchers = self.matchers + extra
        inner = ",".join(matcher.render() for matcher in all_matchers)
        return f"{metric or self.metric}{{{inner}}}" if inner else (metric or self.metric)

    def with_suffix(self, suffix: str) -> str:
        """The selector for a derived series, e.g. `_bucket` or `_count` of a histogram."""
        return self.render(metric=self.metric + suffix)


_OPS = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}


@functools.lru_cache(maxsize=65_536)
def quote_promql_string(value: str) -> str:
    """A PromQL double-quoted string literal for any text: no value can escape its quotes."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def _unbalanced_brace_column(text: str) -> int | None:
    """1-based column of a `{` that is never closed (outside quotes), or None."""
    open_at: int | None = None
    quote: str | None = None
    escaped = False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'`":
            quote = char
        elif char == "{":
            open_at = index
        elif char == "}":
            open_at = None
    if quote is not None:
        return None
    return None if open_at is None else open_at + 1


_EXPRESSION_KINDS = {
    "AggregateExpr": "an aggregation such as sum(...)",
    "BinaryExpr": "a binary expression such as `a or b`",
    "Call": "a function call",
    "MatrixSelector": "a range selector [..]",
    "SubqueryExpr": "a subquery",
    "NumberLiteral": "a number",
    "StringLiteral": "a string",
    "ParenExpr": "a parenthesised expression",
    "UnaryExpr": "a unary expression",
}


@functools.lru_cache(maxsize=4096)
def parse_selector(text: str) -> Selector:
    """Parse a plain vector selector; ValueError with a column for anything else.

    Only `metric{label="value", ...}` is accepted: rules compose the PromQL around it, so a
    selector can never smuggle in `sum(...)`, `or vector(1)` or an offset.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError("selector is empty; write a metric name, e.g. http_requests_total")
    column = _unbalanced_brace_column(stripped)
    if column is not None:
        raise ValueError(f"column {column}: '{{' is never closed in {stripped!r}")
    try:
        expression = promql_parser.parse(stripped)
    except ValueError as error:
        raise ValueError(f"column 1: cannot parse {stripped!r}: {error}") from error
    if not isinstance(expression, promql_parser.VectorSelector):
        kind = type(expression).__name__
        found = _EXPRESSION_KINDS.get(kind, kind)
        position = _first_column_of_extra_syntax(stripped)
        raise ValueError(
            f'column {position}: expected a plain selector like metric{{label="value"}}, '
            f"found {found} in {stripped!r}"
        )
    if expression.offset is not None or expression.at is not None:
        raise ValueError(
            f"column {_first_column_of_extra_syntax(stripped)}: "
            f"offset and @ modifiers are not allowed in {stripped!r}"
        )
    if not expression.name:
        raise ValueError(
            f"column 1: selector {stripped!r} has no metric name; "
            'write it before the braces, e.g. http_requests_total{job="api"}'
        )
    if expression.matchers.or_matchers:
        raise ValueError(f"column 1: `or` inside braces is not supported in {stripped!r}")
    matchers = tuple(
        Matcher(name=m.name, op=_OPS[str(m.op)], value=m.value)
        for m in expression.matchers.matchers
        if m.name != "__name__"
    )
    return Selector(metric=expression.name, matchers=matchers)


def _first_column_of_extra_syntax(text: str) -> int:
    """Where a text stops being `name{...}`: the 1-based column a reader should look at."""
    match = re.match(r"\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{[^}]*\})?", text)
    if not match:
        return 1
    end = match.end()
    if end < len(text) and text[end] == "(":
        return 1
    return end + 1 if end < len(text) else 1


def _check_selector(text: str) -> str:
    parse_selector(text)
    # The parser accepts a little more than the CRD's pattern (comments, quoted UTF-8 label
    # names that rules could not render unquoted); refuse it here too, so the CLI, the webhook
    # and the apiserver agree.
    if not re.fullmatch(SELECTOR_SHAPE_PATTERN, text):
        raise ValueError(
            f"column {_first_column_of_extra_syntax(text.strip())}: {text.strip()!r} is not a "
            'plain selector metric{label="value", ...} (label names [a-zA-Z_][a-zA-Z0-9_]*, '
            "no comments)"
        )
    return text


SelectorText = Annotated[
    str,
    # The length first: the parser takes seconds on a megabyte of selector.
    pydantic.Field(
        min_length=1, max_length=1024, json_schema_extra={"pattern": SELECTOR_SHAPE_PATTERN}
    ),
    pydantic.AfterValidator(_check_selector),
]
"""A metric name with optional label matchers, e.g. `http_requests_total{job="api",code=~"5.."}`."""
