"""Hypothesis strategies for hostile manifests: whole SLOs, SLAs and OpenSLO documents whose free
text, names and selectors are drawn from injection attempts, control and unicode characters and
lengths at (and one past) the API's limits.

Unlike `manifest_strategies` (a valid base with one value replaced by anything), every document
here has the right shape, so a good share of them is accepted and the rules generated for them
can be checked: `tests/faults/test_fuzz_manifests.py` (validate, convert) and
`tests/faults/test_admission_webhook.py` (the operator's webhook over HTTPS).
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies

INJECTIONS = [
    '"} or vector(1) #',
    '"}) or up{job=~".+"',
    "{{ $value }}",
    "{{ .Labels }}",
    "'; DROP TABLE slo; --",
    "a\nb\r\nc",
    "\\",
    '\\"',
    "`",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "\u202eevil",
    "ü€😀",
    "\ufeff",
    "${HOME}",
    "$(id)",
    "</script><script>alert(1)</script>",
    "",
    " ",
]
"""Text that tries to leave a PromQL string, a Go template, YAML, HTML or a shell."""

LIMITS = (1, 62, 63, 64, 128, 129, 252, 253, 254)
"""Lengths around the API's limits: 63 (DNS label), 128 (label name), 253 (object name)."""


def hostile_text(max_size: int = 40) -> strategies.SearchStrategy[str]:
    """Free text: an injection, arbitrary unicode (control characters included), or both."""
    return strategies.one_of(
        strategies.sampled_from(INJECTIONS),
        strategies.text(max_size=max_size),
        strategies.text(strategies.characters(max_codepoint=0x1F), max_size=8),
        strategies.tuples(strategies.text(max_size=8), strategies.sampled_from(INJECTIONS)).map(
            "".join
        ),
    )


@strategies.composite
def dns_names(draw: strategies.DrawFn, *, dots: bool = False, valid: bool = False) -> str:
    """A DNS-1123 name (subdomain when `dots`) of a length near a limit; unless `valid`,
    sometimes with characters or a length the API refuses."""
    limit = 253 if dots else 63
    lengths = [n for n in LIMITS if n <= limit] if valid else list(LIMITS)
    length = draw(strategies.sampled_from(lengths))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-" + ("." if dots else "")
    body = draw(strategies.text(alphabet, min_size=length, max_size=length))
    name = "a" + body[1:-1].replace("-.", "-a").replace(".-", "a-").replace("..", "a.") + "z"
    name = name[:length] if length > 1 else "a"
    if valid:
        return name
    return draw(strategies.sampled_from([name, name, body, name.upper()]))


KEYWORDS = ["sum", "by", "offset", "bool", "inf", "nan", "on", "or", "and", "without", "group"]
PLAIN_LABEL_NAMES = strategies.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name not in KEYWORDS
)
LABEL_NAMES = strategies.one_of(
    PLAIN_LABEL_NAMES,
    strategies.sampled_from(
        ["__name__", "__x", "le", "slo", "slo_namespace", "objective", "tenant", "9x", "a-b", "é"]
    ),
    strategies.integers(min_value=127, max_value=129).map(lambda n: "l" * n),
)
"""Label names: plain, reserved by Prometheus or by our rules, invalid, at the 128 limit."""

PLAIN_METRIC_NAMES = strategies.from_regex(r"[a-z_:][a-z0-9_:]{0,12}", fullmatch=True).filter(
    lambda name: name not in KEYWORDS and not name.startswith("slo:")
)
METRIC_NAMES = strategies.one_of(
    PLAIN_METRIC_NAMES,
    strategies.sampled_from([*KEYWORDS, "up", "slo:sli_error:ratio", "9lives", "a.b", "é", ""]),
)
"""Metric names: plain, PromQL keywords, one of our recorded series, invalid."""


def _quote(value: str, style: str) -> str:
    if style == "double":
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if style == "single":
        escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
        return f"'{escaped}'"
    if style == "backtick":
        return "`" + value + "`"
    return '"' + value + '"'  # pasted unescaped: the injection attempt itself


@strategies.composite
def selectors(draw: strategies.DrawFn, *, valid: bool = False) -> str:
    """A selector: a metric and matchers whose values are hostile text quoted in every PromQL
    way; unless `valid`, also pasted unescaped, with bad names, or with PromQL appended (`or`,
    a range, an offset, a comment)."""
    metric = draw(PLAIN_METRIC_NAMES if valid else METRIC_NAMES)
    matchers = []
    for _ in range(draw(strategies.integers(min_value=0, max_value=3))):
        name = draw(PLAIN_LABEL_NAMES if valid else LABEL_NAMES)
        op = draw(strategies.sampled_from(["=", "!=", "=~", "!~"]))
        value = draw(hostile_text(20))
        if op in ("=~", "!~"):
            value = (
                re.escape(value)
                if valid
                else draw(strategies.sampled_from([value, ".+", ".*", "5..", "(", "[z-a]"]))
            )
        styles = ["double", "single", "backtick"] if valid else ["double", "pasted"]
        style = draw(strategies.sampled_from(styles))
        if style == "backtick" and "`" in value:
            style = "double"
        matchers.append(f"{name}{op}{_quote(value, style)}")
    text = metric + (
        "{" + ",".join(matchers) + "}" if matchers or draw(strategies.booleans()) else ""
    )
    if valid:
        return text
    tail = draw(
        strategies.sampled_from(
            ["", "", " or vector(1)", "[5m]", " offset 1h", " @ 0", " # c", "\n", ") or (up"]
        )
    )
    return text + tail


PROMQL_ALPHABET = "abcxyz_:{}()[]=!~\"'`,.+*-/ 0159\\\n#@"
"""Characters of PromQL's grammar, for selectors typed at random."""

SELECTORS = strategies.one_of(
    selectors(), strategies.text(PROMQL_ALPHABET, min_size=1, max_size=40)
)
TIME_ZONES = strategies.sampled_from(
    ["UTC", "Europe/Berlin", "Asia/Kolkata", "../etc/passwd", "America", "Etc", "x" * 300, ""]
)
"""IANA names, and names that are folders of the database, paths, or too long for a file."""
VALID_WINDOWS = strategies.sampled_from(["1h", "1d", "7d", "28d", "30d"])
DURATIONS = strategies.sampled_from(["5m", "1h", "1d", "0s", "1y", "-1d", "1.5h", ""])
VALID_LABEL_MAPS = strategies.dictionaries(PLAIN_LABEL_NAMES, hostile_text(), max_size=3)
LABEL_MAPS = strategies.dictionaries(LABEL_NAMES, hostile_text(), max_size=3)


class _Fields:
    """Draws each field from its valid strategy, except the fields chosen to be hostile."""

    def __init__(self, draw: strategies.DrawFn, names: list[str]) -> None:
        self.draw = draw
        how = draw(strategies.sampled_from(["valid", "valid", "one", "one", "all"]))
        if how == "all":
            self.hostile = set(names)
        elif how == "one":
            self.hostile = {draw(strategies.sampled_from(names))}
        else:
            self.hostile = set()

    def __call__(
        self,
        name: str,
        valid: strategies.SearchStrategy[Any],
        hostile: strategies.SearchStrategy[Any],
    ) -> Any:
        return self.draw(hostile if name in self.hostile else valid)


SLO_FIELDS = [
    "calendar",
    "name",
    "namespace",
    "selector",
    "objective",
    "target",
    "window",
    "labels",
    "groupBy",
    "alerting",
    "noData",
]


@strategies.composite
def hostile_slos(draw: strategies.DrawFn) -> dict[str, Any]:
    """A ServiceLevelObjective whose free text is hostile everywhere (valid as text), and whose
    other fields are valid at their limits except none, one or all of them."""
    field = _Fields(draw, SLO_FIELDS)

    def selector() -> str:
        return str(field("selector", selectors(valid=True), SELECTORS))

    kind = draw(strategies.sampled_from(["errors", "good", "latency", "boolGauge"]))
    indicator: dict[str, Any]
    if kind in ("errors", "good"):
        indicator = {"ratio": {kind: selector(), "total": selector()}}
    elif kind == "latency":
        indicator = {"latency": {"metric": selector()}}
    else:
        indicator = {"boolGauge": {"metric": selector()}}
    objectives = []
    for index in range(draw(strategies.integers(min_value=1, max_value=3))):
        objective: dict[str, Any] = {
            # Unique names: the index replaces the first character.
            "name": "abc"[index] + field("objective", dns_names(valid=True), dns_names())[1:],
            "target": field(
                "target",
                strategies.sampled_from([99.0, 99.9, 90.0, 99.99999999, 1e-9]),
                strategies.sampled_from([0.0, 100.0, -1.0, 1e309]),
            ),
        }
        if kind == "latency":
            objective["threshold"] = draw(strategies.sampled_from(["100ms", "0.25s", "1s"]))
        objectives.append(objective)
    spec: dict[str, Any] = {
        "service": draw(hostile_text(80)),
        "description": draw(hostile_text(200)),
        "owner": draw(hostile_text()),
        "labels": field("labels", VALID_LABEL_MAPS, LABEL_MAPS),
        "indicator": indicator,
        "window": field("window", VALID_WINDOWS, DURATIONS),
        "calendar": {
            "period": draw(strategies.sampled_from(["Week", "Month", "Quarter", "Year"])),
            "timeZone": field("calendar", strategies.just("Europe/Berlin"), TIME_ZONES),
        },
        "objectives": objectives,
        "groupBy": field(
            "groupBy",
            strategies.lists(PLAIN_LABEL_NAMES, max_size=2, unique=True),
            strategies.lists(LABEL_NAMES, max_size=2),
        ),
        "alerting": {
            "labels": field("alerting", VALID_LABEL_MAPS, LABEL_MAPS),
            "annotations": field("alerting", VALID_LABEL_MAPS, LABEL_MAPS),
            "page": {"labels": field("alerting", VALID_LABEL_MAPS, LABEL_MAPS)},
            "noData": {"for": field("noData", strategies.sampled_from(["5m", "1h"]), DURATIONS)},
        },
    }
    # A rolling window or a calendar (both when the window is the hostile field).
    if "window" not in field.hostile:
        del spec[draw(strategies.sampled_from(["window", "calendar"]))]
    metadata = {
        "name": field("name", dns_names(dots=True, valid=True), dns_names(dots=True)),
        "namespace": field("namespace", dns_names(valid=True), dns_names()),
    }
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": metadata,
        "spec": spec,
    }


@strategies.composite
def hostile_slas(draw: strategies.DrawFn) -> dict[str, Any]:
    """A ServiceLevelAgreement of the right shape with hostile names, text and schedules."""
    commitment = {
        "name": draw(dns_names()),
        "sloRef": {"name": draw(dns_names(dots=True))},
        "target": draw(strategies.sampled_from([99.5, 99.0, 100.0, 0.0])),
        "groupLabels": draw(LABEL_MAPS),
    }
    exclusion = draw(
        strategies.sampled_from(
            [
                {"name": "weekly", "schedule": "0 2 * * SUN", "duration": "2h"},
                {"name": "bad", "schedule": draw(hostile_text(20)), "duration": "1h"},
                {"name": "range", "start": "2026-12-24T00:00:00Z", "end": draw(hostile_text())},
            ]
        )
    )
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelAgreement",
        "metadata": {"name": draw(dns_names(dots=True)), "namespace": draw(dns_names())},
        "spec": {
            "customer": draw(hostile_text(80)),
            "period": draw(strategies.sampled_from(["Month", "Week", "Quarter", "Year", "Day"])),
            "timeZone": draw(TIME_ZONES),
            "commitments": [commitment],
            "credits": [{"below": 99.5, "creditPercent": 10}],
            "exclusions": [exclusion],
        },
    }


HOSTILE_MANIFESTS = hostile_slos() | hostile_slas()


OPENSLO_FIELDS = ["name", "query", "window", "target"]


@strategies.composite
def hostile_openslo(draw: strategies.DrawFn) -> dict[str, Any]:
    """An OpenSLO v1 SLO with a ratio indicator: hostile free text everywhere, and none, one or
    all of its name, queries, time window and target hostile too."""
    field = _Fields(draw, OPENSLO_FIELDS)

    def query() -> str:
        inner = field("query", selectors(valid=True), SELECTORS)
        shape = draw(
            strategies.sampled_from(
                ["{}", "sum(rate({}[5m]))", "sum by (job) (increase({}[1h]))", "rate({}[5m])"]
            )
        )
        return str(shape.replace("{}", inner))

    def source() -> dict[str, Any]:
        return {"metricSource": {"type": "Prometheus", "spec": {"query": query()}}}

    return {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {
            "name": field("name", dns_names(dots=True, valid=True), dns_names(dots=True)),
            "displayName": draw(hostile_text()),
        },
        "spec": {
            "description": draw(hostile_text(200)),
            "service": draw(hostile_text(80)),
            "indicator": {
                "metadata": {"name": draw(dns_names(valid=True))},
                "spec": {"ratioMetric": {"counter": True, "good": source(), "total": source()}},
            },
            "timeWindow": [
                {"duration": field("window", VALID_WINDOWS, DURATIONS), "isRolling": True}
            ],
            "budgetingMethod": "Occurrences",
            "objectives": [
                {
                    "displayName": draw(hostile_text()),
                    "target": field(
                        "target",
                        strategies.sampled_from([0.99, 0.999, 0.9]),
                        strategies.sampled_from([1.0, 0.0, 99.0, -0.5]),
                    ),
                }
            ],
        },
    }
