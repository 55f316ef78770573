"""The cost bar of docs/rules.md: one SLO over 100 raw series reads ~21k samples per minute."""

from __future__ import annotations

import importlib.util
import sys

from slo_operator.rules import render
from support import paths, slo_factory

_spec = importlib.util.spec_from_file_location("rule_cost", paths.REPO / "bench" / "rule_cost.py")
assert _spec is not None and _spec.loader is not None
rule_cost = importlib.util.module_from_spec(_spec)
sys.modules["rule_cost"] = rule_cost
_spec.loader.exec_module(rule_cost)


def samples_per_minute(rule_file: dict[str, object], **model: int) -> tuple[float, float]:
    costs = rule_cost.rule_costs(rule_file, rule_cost.Model(**model))
    return sum(c.per_minute for c in costs), sum(c.raw_per_minute for c in costs)


GAP_BLIND_COST = 15_234
"""The same SLO with level 1 as `x - x offset 1m` (before gaps were counted, docs/rules.md)."""


def test_a_30d_slo_over_100_raw_series_reads_about_21k_samples_per_minute() -> None:
    rule_file = render.render_rule_file([slo_factory.build(window="rolling-30d")])
    total, raw = samples_per_minute(rule_file)
    assert total < 22_000
    # Counting the events of a scrape gap costs less than twice the gap-blind level 1.
    assert total < 2 * GAP_BLIND_COST
    # Two rules (total and errors) read each raw series three times now and twice the previous
    # sample: one instant a minute ago plus 15 one-minute steps of the fallback subquery.
    assert raw == 2 * 100 * (3 + 2 * (1 + 15))


def test_cost_grows_with_raw_series_only_at_level1() -> None:
    rule_file = render.render_rule_file([slo_factory.build(window="rolling-30d")])
    small, small_raw = samples_per_minute(rule_file, raw_series=100)
    large, large_raw = samples_per_minute(rule_file, raw_series=10_000)
    assert large - small == large_raw - small_raw


def test_tiers_do_not_multiply_the_cost() -> None:
    one = render.render_rule_file([slo_factory.build(indicator="latency", tiers=1)])
    three = render.render_rule_file([slo_factory.build(indicator="latency", tiers=3)])
    # Three tiers on two thresholds cost one more bad-event series, not three SLOs.
    assert samples_per_minute(three)[0] < 2.1 * samples_per_minute(one)[0]
