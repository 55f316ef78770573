"""The queries that find hours without a tile in tiled windows and sum them from 1m points.

Parsed with the real PromQL parser (`promql-parser`); what they return is checked on a real
Prometheus in tests/faults/test_scrape_gap.py.
"""

from __future__ import annotations

import datetime

from slo_operator.api import slo
from slo_operator.backends import client
from slo_operator.evaluation import registry, results, slo_evaluator, slo_queries
from slo_operator.rules import series
from support import promql_reads, slo_factory

UTC = datetime.UTC
AT = datetime.datetime(2026, 11, 27, 10, 17, tzinfo=UTC)
HOUR_END = int(datetime.datetime(2026, 11, 27, 10, tzinfo=UTC).timestamp())
KOLKATA = slo.Calendar(period=slo.CalendarPeriod.MONTH, time_zone="Asia/Kolkata")


def _slo(name: str, window: str = "7d", **spec: object) -> slo.ServiceLevelObjective:
    body = slo_factory.job_availability(name, "checkout", window, **spec)
    body["metadata"]["namespace"] = "shop"
    return slo.ServiceLevelObjective.model_validate(body)


def test_a_tiled_rolling_window_checks_its_tiles_at_the_steps_its_sums_read() -> None:
    plan = slo_queries.plan(_slo("a").spec, AT)
    assert plan.tiles == series.TileSteps(span="6d23h30m", anchor=HOUR_END, shift=0, steps=168)
    assert plan.tile_check is not None and plan.tile_check in plan.queries
    text = plan.tile_check.promql
    assert f"[6d23h30m:1h] @ {HOUR_END}" in text
    assert {"count_over_time", "min_over_time", "timestamp"} <= promql_reads.functions(text)
    reads = promql_reads.reads(text)
    assert [read.metric for read in reads] == [series.TOTAL_TILE] * 2
    # Rolling SLOs' tiles: those without a calendar.
    assert all((series.LABEL_CALENDAR, "=", "") in read.matchers for read in reads)
    assert all(read.subquery == (168 * 3600 - 1800, 3600) for read in reads)


def test_windows_of_1m_points_send_no_tile_check() -> None:
    plan = slo_queries.plan(_slo("a", "1d").spec, AT)
    assert plan.tiles is None and plan.tile_check is None


def test_a_half_hour_zone_checks_the_tiles_its_calendar_query_reads() -> None:
    body = slo_factory.job_availability("a", "checkout", "7d")
    del body["spec"]["window"]
    body["spec"]["calendar"] = {"period": "Month", "timeZone": "Asia/Kolkata"}
    at = datetime.datetime(2026, 11, 1, 2, 29, tzinfo=UTC)  # 7 whole hours into the month
    plan = slo_queries.plan(slo.ServiceLevelObjective.model_validate(body).spec, at)
    assert plan.tiles is not None and plan.tile_check is not None
    assert plan.tiles.steps == 7 and plan.tiles.shift == 1800
    assert plan.calendar_total is not None
    assert f"@ {plan.tiles.anchor})" in plan.calendar_total.promql
    for read in promql_reads.reads(plan.tile_check.promql):
        assert read.offset_seconds == 1800
        assert (series.LABEL_CALENDAR, "=", "Month/Asia/Kolkata") in read.matchers


def _check(read: float | None, first: float | None) -> list[client.Sample]:
    found = []
    if read is not None:
        found.append(client.Sample({slo_queries.TILES_LABEL: "read"}, read))
    if first is not None:
        found.append(client.Sample({slo_queries.TILES_LABEL: "first"}, first))
    return found


def test_tiles_expected_are_every_step_of_a_whole_window_and_those_since_a_young_ones_first() -> (
    None
):
    steps = series.TileSteps(span="6d23h30m", anchor=HOUR_END, shift=0, steps=168)
    first = HOUR_END - 167 * 3600
    assert slo_queries.tiles_expected(_check(168, first), steps, True) == (168, 168)
    assert slo_queries.tiles_expected(_check(167, first), steps, True) == (167, 168)
    # The first step missing too: only a whole window knows it was expected.
    assert slo_queries.tiles_expected(_check(166, first + 3600), steps, True) == (166, 168)
    young_first = HOUR_END - 29 * 3600
    assert slo_queries.tiles_expected(_check(30, young_first), steps, False) == (30, 30)
    assert slo_queries.tiles_expected(_check(29, young_first), steps, False) == (29, 30)
    # No tile at all: nothing to repair (no data).
    assert slo_queries.tiles_expected(_check(None, None), steps, False) == (0, 0)
    assert slo_queries.tiles_expected(_check(float("nan"), float("nan")), steps, True) == (0, 0)


def test_the_last_steps_end_at_the_same_anchor() -> None:
    steps = series.TileSteps(span="6d23h30m", anchor=HOUR_END, shift=0, steps=168)
    assert steps.last(30) == series.TileSteps(span="1d5h30m", anchor=HOUR_END, shift=0, steps=30)
    assert steps.last(500) == steps
    assert steps.last(0).steps == 1


def test_the_repair_sums_level1_points_of_the_hours_without_a_tile() -> None:
    steps = series.TileSteps(span="6d23h30m", anchor=HOUR_END, shift=0, steps=168)
    keep = slo_queries.keep_labels([])
    text = slo_queries.tile_repair_query(
        {series.LABEL_CALENDAR: ""}, steps, ["b.x", "a"], None, keep
    )
    reads = promql_reads.reads(text)
    level1 = [read for read in reads if read.metric != series.TOTAL_TILE]
    tiles = [read for read in reads if read.metric == series.TOTAL_TILE]
    assert len(level1) == 2 and all(read.metric is None for read in level1)
    for names in (series.LEVEL1_BAD_NAMES, series.LEVEL1_TOTAL_NAMES):
        assert f'__name__=~"{"|".join(names)}"' in text
    # The points of the hour ending at each step, (h - 1h, h], each step of the window.
    assert all(read.range_seconds == 3600 - 0.001 for read in level1)
    assert all(read.subquery == (168 * 3600 - 1800, 3600) for read in reads)
    for read in reads:
        assert (series.LABEL_SLO, "=~", r"a|b\.x") in read.matchers
    assert len(tiles) == 2 and " unless on (slo_namespace, slo) " in text
    assert f'"{slo_queries.SUM_LABEL}", "bad"' in text and '"total"' in text


def test_the_repair_of_timeslices_reads_the_slices_a_tile_holds() -> None:
    steps = series.TileSteps(span="6h30m", anchor=HOUR_END + 1800, shift=1800, steps=7)
    text = slo_queries.tile_repair_query(
        {series.LABEL_CALENDAR: "Month/Asia/Kolkata"}, steps, ["a"], "5m", "slo"
    )
    slices = [read for read in promql_reads.reads(text) if read.metric == series.SLICE_ERROR]
    assert len(slices) == 2
    # Steps h - 1h ... h - 5m: one hour of slices read 1ms before the (shifted) boundary.
    assert all(read.subquery == (3600, 300) for read in slices)
    assert "offset 30m1ms" in text
    assert {"count_over_time", "sum_over_time"} <= promql_reads.functions(text)


def _evaluator(
    resources: list[slo.ServiceLevelObjective],
) -> tuple[slo_evaluator.SloEvaluator, list[tuple[slo_evaluator.SloFacts, slo_queries.Plan]]]:
    evaluator = slo_evaluator.SloEvaluator()
    facts = [evaluator.facts(resource) for resource in resources]
    evaluator.begin(AT, facts)
    return evaluator, [(item, evaluator.plan(item)) for item in facts]


def _answers(
    work: list[tuple[slo_evaluator.SloFacts, slo_queries.Plan]], read: dict[str, float]
) -> dict[client.Query, list[client.Sample]]:
    found: dict[client.Query, list[client.Sample]] = {}
    for facts, plan in work:
        assert plan.tile_check is not None and plan.presence is not None
        identity = {series.LABEL_NAMESPACE: facts.namespace, series.LABEL_SLO: facts.name}
        found.setdefault(plan.presence, []).append(client.Sample(identity, 1))
        check = found.setdefault(plan.tile_check, [])
        for tag, value in (("read", read[facts.name]), ("first", HOUR_END - 167 * 3600)):
            check.append(client.Sample({**identity, slo_queries.TILES_LABEL: tag}, value))
    return found


def _entry(name: str) -> registry.Entry:
    ref = registry.ObjectRef(slo_evaluator.KIND, "shop", name)
    return registry.Entry(ref, {"metadata": {"name": name, "namespace": "shop", "uid": name}})


def test_no_second_round_when_every_tile_was_read() -> None:
    evaluator, work = _evaluator([_slo("a"), _slo("b", "30d")])
    assert evaluator.follow_up(work, results.Results(_answers(work, {"a": 168, "b": 720}))) == []


def test_one_repair_per_window_and_slice_length_for_the_slos_short_of_tiles() -> None:
    sliced = _slo("c", budgetingMethod="Timeslices", timeslice={"duration": "5m", "target": 95})
    evaluator, work = _evaluator([_slo("a"), _slo("b"), sliced, _slo("d", "30d")])
    read = {"a": 167, "b": 168, "c": 167, "d": 720}
    found = evaluator.follow_up(work, results.Results(_answers(work, read)))
    assert len(found) == 2
    events, slices = found
    assert 'slo=~"a"' in events.promql and series.SLICE_ERROR not in events.promql
    assert 'slo=~"c"' in slices.promql and "[1h:5m]" in slices.promql
    assert all(query.at == AT for query in found)


def test_a_young_slo_is_repaired_from_its_first_tile_on() -> None:
    evaluator, work = _evaluator([_slo("a")])
    [(_, plan)] = work
    assert plan.tile_check is not None and plan.presence is not None
    identity = {series.LABEL_NAMESPACE: "shop", series.LABEL_SLO: "a"}
    answers = results.Results(
        {
            plan.presence: [],
            plan.tile_check: [
                client.Sample({**identity, slo_queries.TILES_LABEL: "read"}, 29),
                client.Sample({**identity, slo_queries.TILES_LABEL: "first"}, HOUR_END - 29 * 3600),
            ],
        }
    )
    [repair] = evaluator.follow_up(work, answers)
    assert f"[1d5h30m:1h] @ {HOUR_END}" in repair.promql


def test_the_tile_check_is_sent_once_per_hour_and_when_an_slo_appears() -> None:
    evaluator, work = _evaluator([_slo("a")])
    [(facts, plan)] = work
    assert plan.tile_check is not None
    answers = _answers(work, {"a": 167})
    [repair] = evaluator.follow_up(work, results.Results(answers))
    identity = {series.LABEL_NAMESPACE: "shop", series.LABEL_SLO: "a"}
    hour = [
        client.Sample({**identity, slo_queries.SUM_LABEL: "total"}, 100),
        client.Sample({**identity, slo_queries.SUM_LABEL: "bad"}, 1),
    ]
    sums = [
        client.Sample({**identity, slo_queries.SUM_LABEL: "total"}, 1000),
        client.Sample({**identity, slo_queries.SUM_LABEL: "bad"}, 9),
    ]
    assert plan.sums is not None
    found = results.Results({**answers, repair: hour, plan.sums: sums})
    entry = _entry("a")
    outcome = evaluator.evaluate(entry, facts, plan, found)
    assert outcome.primary is not None
    assert outcome.primary.sli == 100 * (1 - 10 / 1100)
    # Later in the same hour: no check, no repair, the hour remembered.
    later = AT + datetime.timedelta(minutes=30)
    evaluator.begin(later, [facts])
    plan = evaluator.plan(facts)
    assert plan.tile_check is None
    assert evaluator.follow_up([(facts, plan)], results.Results({plan.sums: sums})) == []
    outcome = evaluator.evaluate(entry, facts, plan, results.Results({plan.sums: sums}))
    assert outcome.primary is not None and outcome.primary.sli == 100 * (1 - 10 / 1100)
    # A new SLO of the window: checked alone; its answer leaves the first one's hour as it was.
    other = evaluator.facts(_slo("b"))
    evaluator.begin(later, [facts, other])
    plan = evaluator.plan(facts)
    assert plan.tile_check is not None and 'slo=~"b"' in plan.tile_check.promql
    assert plan.checks_tiles_of("b") and not plan.checks_tiles_of("a")
    found = results.Results({**_answers([(other, plan)], {"b": 168}), plan.sums: sums})
    assert evaluator.follow_up([(facts, plan), (other, plan)], found) == []
    outcome = evaluator.evaluate(entry, facts, plan, found)
    assert outcome.primary is not None and outcome.primary.sli == 100 * (1 - 10 / 1100)
    # The next hour: all of them again.
    evaluator.begin(AT + datetime.timedelta(hours=1), [facts, other])
    plan = evaluator.plan(facts)
    assert plan.tile_check is not None and plan.tile_check_names is None
