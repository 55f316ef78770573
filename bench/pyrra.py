"""Pyrra's rules for an SLO, reproduced from its documented output.

Pyrra's Go module is not served by the module proxy this project can reach, so its generator
cannot be built here (``bench/install-peers.sh`` tries and records why). This module writes the
rule shapes Pyrra documents for its ``kubernetes`` and ``filesystem`` modes — the expected
ConfigMap of its controller test ``Test_makeConfigMap`` (in Pyrra's own repository):

* ``<slo>-increase`` group, interval by window (2m30s for 28-34 days): per series grouping
  (the labels the errors selector adds, plus regex-matched labels), ``increase(total[W])`` over
  the whole SLO window, one rule per metric, and ``SLOMetricAbsent`` alerts;
* ``<slo>`` group, interval 30s: ``<metric>:burnrate<w>`` ratios of ``rate()`` over the raw
  series for every window of its four multiwindow alerts, and the ``ErrorBudgetBurn`` alerts.

Pyrra scales its 28-day windows (5m/1h, 30m/6h, 2h/1d, 6h/4d) by ``W / 28d`` rounded to the
minute, so a 30-day SLO burns over 5m, 32m, 1h4m, 2h9m, 6h26m, 1d1h43m and 4d6h51m.
``tests/integration/test_bench_smoke.py`` checks that this reproduces the test's expected
output for its input exactly.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import promql_parser

from slo_operator.api import common

MINUTE_MS = 60_000
DAY_MS = 86_400_000
PREFIX = "pyrra.dev/"


@dataclasses.dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def render(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


@dataclasses.dataclass(frozen=True)
class Selector:
    name: str
    matchers: tuple[Matcher, ...]

    def render(self, name: str | None = None) -> str:
        inner = ",".join(m.render() for m in self.matchers)
        return f"{name or self.name}{{{inner}}}"

    @property
    def equal_labels(self) -> dict[str, str]:
        return {m.name: m.value for m in self.matchers if m.op == "="}


_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


def parse(selector: str) -> Selector:
    node = promql_parser.parse(selector)
    if not isinstance(node, promql_parser.VectorSelector):
        raise ValueError(f"not a selector: {selector}")
    matchers = tuple(
        Matcher(m.name, _OPS[str(m.op)], m.value)
        for m in node.matchers.matchers
        if m.name != "__name__"
    )
    return Selector(node.name or "", matchers)


def duration_text(ms: int) -> str:
    """Prometheus' ``model.Duration`` text: years and weeks only when exact (``4w``, ``30d``)."""
    if ms == 0:
        return "0s"
    text = ""
    for unit, size, exact in (
        ("y", 365 * DAY_MS, True),
        ("w", 7 * DAY_MS, True),
        ("d", DAY_MS, False),
        ("h", 3_600_000, False),
        ("m", MINUTE_MS, False),
        ("s", 1000, False),
        ("ms", 1, False),
    ):
        if exact and ms % size:
            continue
        if count := ms // size:
            text += f"{count}{unit}"
            ms -= count * size
    return text


def go_duration_text(ms: int) -> str:
    """Go's ``time.Duration.String`` for whole seconds: ``2m0s``, ``1h4m0s``."""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def _round_minute(ms: float) -> int:
    """Go's ``Duration.Round(time.Minute)``: halves away from zero."""
    return int((ms + MINUTE_MS / 2) // MINUTE_MS) * MINUTE_MS


@dataclasses.dataclass(frozen=True)
class Window:
    severity: str
    for_ms: int
    long_ms: int
    short_ms: int
    factor: int


def windows(window_ms: int) -> list[Window]:
    """The four alert windows, 28-day values scaled to the SLO window."""
    scale = window_ms / (28 * DAY_MS)
    hour = 3_600_000

    def scaled(ms: float) -> int:
        return _round_minute(ms * scale)

    return [
        Window("critical", scaled(2 * MINUTE_MS), scaled(hour), scaled(5 * MINUTE_MS), 14),
        Window("critical", scaled(15 * MINUTE_MS), scaled(6 * hour), scaled(30 * MINUTE_MS), 7),
        Window("warning", scaled(hour), scaled(24 * hour), scaled(2 * hour), 2),
        Window("warning", scaled(3 * hour), scaled(96 * hour), scaled(6 * hour), 1),
    ]


def increase_interval(window_ms: int) -> str:
    days = window_ms / DAY_MS
    for limit, seconds in ((7, 30), (14, 60), (21, 90), (28, 120), (35, 150), (42, 180), (49, 210)):
        if days < limit:
            return duration_text(seconds * 1000)
    return "4m"


def _trim(name: str) -> str:
    for suffix in ("_total", "_count", "_bucket"):
        name = name.removesuffix(suffix)
    return name


def _by(grouping: list[str], inner: str) -> str:
    return f"sum by ({', '.join(grouping)}) ({inner})" if grouping else f"sum({inner})"


def rules(slo: dict[str, Any]) -> dict[str, Any]:
    """The rule file (``groups:``) Pyrra writes for one ServiceLevelObjective (ratio or
    latency indicator) with default alerting (burn rates and absent alerts)."""
    metadata = slo["metadata"]
    spec = slo["spec"]
    name = metadata["name"]
    window_ms = round(common.parse_duration_seconds(spec["window"]) * 1000)
    target = float(spec["target"]) / 100
    labels = {"slo": name}
    for key, value in (metadata.get("labels") or {}).items():
        if key.startswith(PREFIX):
            labels[key.removeprefix(PREFIX)] = value
    annotations = {
        key.removeprefix(PREFIX): value
        for key, value in (metadata.get("annotations") or {}).items()
        if key.startswith(PREFIX)
    }
    indicator = spec["indicator"]
    if "ratio" in indicator:
        kind = "ratio"
        total = parse(indicator["ratio"]["total"]["metric"])
        other = parse(indicator["ratio"]["errors"]["metric"])
        grouping_spec = list(indicator["ratio"].get("grouping") or [])
    else:
        kind = "latency"
        total = parse(indicator["latency"]["total"]["metric"])
        other = parse(indicator["latency"]["success"]["metric"])
        grouping_spec = list(indicator["latency"].get("grouping") or [])

    rule_labels = {**labels, **total.equal_labels}
    total_names = {m.name for m in total.matchers}
    grouping = set(grouping_spec)
    grouping |= {m.name for m in other.matchers if m.name not in total_names}
    grouping |= {m.name for m in total.matchers if m.op in ("=~", "!~")}
    for label in grouping:
        rule_labels.pop(label, None)
    by = sorted(grouping)
    window_text = duration_text(window_ms)
    absent_for = duration_text(_round_minute(6 * MINUTE_MS * window_ms / (28 * DAY_MS)))
    absent_labels = dict(sorted({**rule_labels, "severity": "critical"}.items()))

    def absent(selector: Selector) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "alert": "SLOMetricAbsent",
            "expr": f"absent({selector.render()}) == 1",
            "for": absent_for,
            "labels": absent_labels,
        }
        if annotations:
            rule["annotations"] = dict(annotations)
        return rule

    increase_rules: list[dict[str, Any]] = []
    if kind == "ratio":
        increase_rules.append(
            {
                "record": f"{_trim(total.name)}:increase{window_text}",
                "expr": _by(by, f"increase({total.render()}[{window_text}])"),
                "labels": dict(sorted(rule_labels.items())),
            }
        )
        increase_rules.append(absent(total))
        if other.name != total.name:
            increase_rules.append(
                {
                    "record": f"{_trim(other.name)}:increase{window_text}",
                    "expr": _by(by, f"increase({other.render()}[{window_text}])"),
                    "labels": dict(sorted(rule_labels.items())),
                }
            )
            increase_rules.append(absent(other))
    else:
        le = next((m.value for m in other.matchers if m.name == "le"), "")
        for selector, extra in ((total, {}), (other, {"le": le})):
            increase_rules.append(
                {
                    "record": f"{_trim(selector.name)}:increase{window_text}",
                    "expr": _by(by, f"increase({selector.render()}[{window_text}])"),
                    "labels": dict(sorted({**rule_labels, **extra}.items())),
                }
            )
        increase_rules += [absent(total), absent(other)]

    burn_labels = {**labels, **total.equal_labels}
    for label in grouping_spec:
        burn_labels.pop(label, None)
    alert_windows = windows(window_ms)
    burnrate_windows = sorted(
        {w.short_ms for w in alert_windows} | {w.long_ms for w in alert_windows}
    )
    metric = _trim(total.name)
    burn_rules: list[dict[str, Any]] = []
    for window in burnrate_windows:
        text = duration_text(window)
        errors_rate = f"sum(rate({other.render()}[{text}]))"
        total_rate = f"sum(rate({total.render()}[{text}]))"
        if kind == "ratio":
            expr = f"{errors_rate} / {total_rate}"
        else:
            expr = f"({total_rate} - {errors_rate}) / {total_rate}"
        burn_rules.append(
            {
                "record": f"{metric}:burnrate{text}",
                "expr": expr,
                "labels": dict(sorted(burn_labels.items())),
            }
        )
    alert_matchers = [
        m.render() for m in total.matchers if m.op in ("=", "!=") or m.name in grouping_spec
    ]
    alert_matchers.append(f'slo="{name}"')
    matchers = ",".join(sorted(alert_matchers))
    target_text = repr(target)
    for window in alert_windows:
        threshold = f"({window.factor} * (1-{target_text}))"
        short = f"{metric}:burnrate{duration_text(window.short_ms)}{{{matchers}}}"
        long = f"{metric}:burnrate{duration_text(window.long_ms)}{{{matchers}}}"
        alert_labels = {
            **burn_labels,
            "exhaustion": duration_text(round(window_ms / window.factor / 1000) * 1000),
            "long": duration_text(window.long_ms),
            "severity": window.severity,
            "short": duration_text(window.short_ms),
        }
        rule = {
            "alert": "ErrorBudgetBurn",
            "expr": f"{short} > {threshold} and {long} > {threshold}",
            "for": go_duration_text(window.for_ms),
            "labels": dict(sorted(alert_labels.items())),
        }
        if annotations:
            rule["annotations"] = dict(annotations)
        burn_rules.append(rule)

    return {
        "groups": [
            {
                "interval": increase_interval(window_ms),
                "name": f"{name}-increase",
                "rules": increase_rules,
            },
            {"interval": "30s", "name": name, "rules": burn_rules},
        ]
    }
