"""Backfilled synthetic data on a real Prometheus 2.42 equals its ground truth, exactly.

The truth comes from the generator's increments (`synthetic.SyntheticData`), never from
Prometheus. Where windows start and end on sample times, `increase()` sees a sample on each
edge of its (closed) range and does not extrapolate, so every comparison here is exact.
The rule-backfill tests prove that dependent recording rules see their inputs, and document
what promtool does on its own.
"""

from __future__ import annotations

import bisect
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit import backfill, prometheus, synthetic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

DAY = synthetic.DAY
HOUR = synthetic.HOUR


def windows(scenario: synthetic.Scenario) -> list[tuple[str, int, int]]:
    """(name, end, seconds): the full month, a day with a reset, the bursts, short windows."""
    incidents = {incident.name: incident for incident in scenario.incidents}
    reset_at = scenario.resets[0].at
    peak = incidents["burst-at-peak"]
    trough = incidents["burst-at-trough"]
    return [
        ("30d", scenario.end, 30 * DAY),
        ("1d-over-reset", reset_at + 12 * HOUR, DAY),
        ("1h-burst-at-peak", peak.end, HOUR),
        ("1h-burst-at-trough", trough.end, HOUR),
        ("5m-at-reset", reset_at + 150, 300),
        ("1m", scenario.start + 7 * DAY + 60, 60),
    ]


SELECTORS = [
    'http_requests_total{job="checkout"}',
    'http_requests_total{job="checkout",code=~"5.."}',
    'http_requests_total{job="chatbot",tenant="acme",code="200"}',
    'http_request_duration_seconds_bucket{job="chatbot",le="0.2"}',
    'http_request_duration_seconds_bucket{job="chatbot",tenant="acme",le="0.15"}',
    'http_request_duration_seconds_count{job="chatbot"}',
]


def test_increase_over_aligned_windows_equals_truth_exactly(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    checked = 0
    for name, end, seconds in windows(synthetic_data.scenario):
        for selector in SELECTORS:
            truth = synthetic_data.increase(selector, end - seconds, end)
            measured = synthetic_prometheus.query_value(
                f"sum(increase({selector}[{seconds}s]))", end
            )
            assert measured == truth, (name, selector)
            checked += 1
    assert checked == 36


def test_grouped_increase_equals_truth_per_tenant(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    end = synthetic_data.scenario.end
    selector = 'http_requests_total{job="checkout",code=~"5.."}'
    truth = synthetic_data.increase_by(selector, ["tenant"], end - 30 * DAY, end)
    result = synthetic_prometheus.query(f"sum by (tenant) (increase({selector}[30d]))", end)
    measured = {(sample.labels["tenant"],): sample.value for sample in result}
    assert measured == truth
    assert len(truth) == 3


def test_histogram_sum_matches_truth(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    """`_sum` is a float counter (milliseconds / 1000): equal up to float rounding."""
    end = synthetic_data.scenario.end
    selector = 'http_request_duration_seconds_sum{job="chatbot"}'
    truth = synthetic_data.increase(selector, end - 30 * DAY, end)
    measured = synthetic_prometheus.query_value(f"sum(increase({selector}[30d]))", end)
    assert measured == pytest.approx(truth, rel=1e-12)


def test_every_series_has_every_sample(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    scenario = synthetic_data.scenario
    span = scenario.end - scenario.start
    names = {series.name for series in (*synthetic_data.counters, *synthetic_data.gauges)}
    series_seen = 0
    for name in sorted(names):
        result = synthetic_prometheus.query(f"count_over_time({name}[{span}s])", scenario.end)
        assert {sample.value for sample in result} == {scenario.sample_count}, name
        series_seen += len(result)
    assert series_seen == synthetic_data.series_count


def test_counters_reset_where_the_scenario_says(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    scenario = synthetic_data.scenario
    span = scenario.end - scenario.start
    result = synthetic_prometheus.query(f"resets(http_requests_total[{span}s])", scenario.end)
    measured = {
        (sample.labels["job"], sample.labels["tenant"], sample.labels["code"]): sample.value
        for sample in result
    }
    for series in synthetic_data.select_counters("http_requests_total"):
        labels = series.label_map
        expected = len(series.resets)
        assert measured[(labels["job"], labels["tenant"], labels["code"])] == expected, labels
    for reset in scenario.resets:
        tenants = "|".join(reset.tenants) or ".*"
        at_reset = synthetic_prometheus.query(
            f'http_requests_total{{job="{reset.job}",tenant=~"{tenants}"}}', reset.at
        )
        assert at_reset and all(sample.value == 0 for sample in at_reset)


def test_probe_samples_equal_truth_with_both_ends_included(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    scenario = synthetic_data.scenario
    outage = next(i for i in scenario.incidents if i.name == "checkout-outage")
    for end, seconds in [(scenario.end, 30 * DAY), (outage.end + HOUR, 2 * HOUR)]:
        truth = synthetic_data.gauge_counts("probe_success", end - seconds, end, closed="both")
        ones = synthetic_prometheus.query_value(
            f"sum(sum_over_time(probe_success[{seconds}s]))", end
        )
        samples = synthetic_prometheus.query_value(
            f"sum(count_over_time(probe_success[{seconds}s]))", end
        )
        assert (ones, samples) == (truth.good, truth.total)
    assert truth.bad >= outage.end // 30 - outage.start // 30


def test_timeslices_of_one_minute_equal_truth(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    """Per-minute good/total over the peak burst, from `increase(x[1m])` at minute ends."""
    burst = next(i for i in synthetic_data.scenario.incidents if i.name == "burst-at-peak")
    total = 'http_requests_total{job="checkout"}'
    bad = 'http_requests_total{job="checkout",code=~"5.."}'
    truth = synthetic_data.slice_counts(total, burst.start, burst.end, 60, bad=bad)
    step = 60
    totals = synthetic_prometheus.query_range(
        f"sum(increase({total}[1m]))", burst.start + step, burst.end, step
    )
    bads = synthetic_prometheus.query_range(
        f"sum(increase({bad}[1m]))", burst.start + step, burst.end, step
    )
    measured = [
        synthetic.Counts(int(t - b), int(t))
        for t, b in zip(totals[0].values, bads[0].values, strict=True)
    ]
    assert measured == truth
    assert len(truth) == 60


def test_extrapolation_model_matches_prometheus_off_the_sample_grid(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    """At a rule group's offset (here 17.845s past the minute) Prometheus extrapolates;
    `prometheus_increase`/`prometheus_rate` reproduce it bit for bit, resets included, and the
    truth differs — that difference is Prometheus' estimation error."""
    scenario = synthetic_data.scenario
    reset_at = scenario.resets[0].at
    selector = 'http_requests_total{job="checkout"}'
    times = [reset_at - 120 + 17.845 + 60 * k for k in range(6)]
    times += [scenario.end - DAY + 17.845 + 60 * k for k in range(60)]
    differs = 0
    for at in times:
        for function, model in (
            ("increase", synthetic_data.prometheus_increase),
            ("rate", synthetic_data.prometheus_rate),
        ):
            for seconds in (60, 300):
                result = synthetic_prometheus.query(f"{function}({selector}[{seconds}s])", at)
                measured = {tuple(sorted(s.labels.items())): s.value for s in result}
                expected = {
                    tuple(sorted(labels)): value
                    for labels, value in model(selector, at, seconds).items()
                }
                assert measured == expected, (function, seconds, at)
        extrapolated = sum(synthetic_data.prometheus_increase(selector, at, 60).values())
        differs += extrapolated != synthetic_data.increase(selector, at - 60, at)
    assert differs > len(times) // 2


def test_lookback_finds_the_last_sample_for_five_minutes_inclusive(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    end = synthetic_data.scenario.end
    selector = 'http_requests_total{job="checkout",tenant="acme",code="200"}'
    assert len(synthetic_prometheus.query(selector, end + 300)) == 1
    assert synthetic_prometheus.query(selector, end + 300.001) == []
    # A range selector includes both ends: 1h at 30s holds 121 samples.
    assert synthetic_prometheus.query_value(f"count_over_time({selector}[1h])", end) == 121


def test_query_stats_count_the_samples_read(
    synthetic_data: synthetic.SyntheticData,
    synthetic_prometheus: prometheus.PrometheusServer,
) -> None:
    end = synthetic_data.scenario.end
    one = synthetic_prometheus.query_stats(
        'count_over_time(http_requests_total{job="checkout",tenant="acme",code="200"}[1h])', end
    )
    assert one.total_queryable_samples == 121
    series = len(synthetic_data.select_counters('http_requests_total{job="checkout"}'))
    rates = synthetic_prometheus.query_stats(
        'sum(rate(http_requests_total{job="checkout"}[5m]))', end
    )
    assert rates.total_queryable_samples == series * 11
    assert rates.peak_samples >= 11
    assert len(rates.result) == 1


def test_old_blocks_survive_restarts_next_to_live_rule_evaluation(
    synthetic_data: synthetic.SyntheticData,
    prometheus_factory: Callable[..., prometheus.PrometheusServer],
    tmp_path: Path,
) -> None:
    """The month lies far behind the wall clock; a server that also writes live samples (a
    rule evaluated every second) keeps the old blocks, across a restart too."""
    rules = tmp_path / "live.yml"
    rules.write_text(
        "groups:\n- name: live\n  interval: 1s\n  rules:\n"
        "  - record: live:heartbeat\n    expr: vector(1)\n"
    )
    server = prometheus_factory(rule_files=[rules], evaluation_interval="1s")
    end = synthetic_data.scenario.end
    month = "sum(increase(http_requests_total[30d]))"
    truth = synthetic_data.increase("http_requests_total", end - 30 * DAY, end)
    assert server.query_value(month, end) == truth

    def heartbeats() -> float:
        found = server.query("count_over_time(live:heartbeat[1m])", time.time())
        return found[0].value if found else 0

    deadline = time.monotonic() + 30
    while heartbeats() < 2:
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.2)
    # The live server evaluates the group at the offset `rule_group_offset` predicts, too.
    offset = backfill.rule_group_offset("live", str(rules.resolve()), 1)
    (live,) = server.query_matrix("live:heartbeat[1m]", time.time())
    assert {round(timestamp % 1, 3) for timestamp in live.timestamps} == {
        round(offset - offset % 0.001, 3)
    }
    port = server.port
    server.restart()
    assert server.port == port
    assert server.query_value(month, end) == truth
    assert heartbeats() >= 2


RULES = """\
groups:
- name: test/levels
  interval: 1m
  rules:
  - record: test:requests:increase1m
    expr: sum by (job, tenant) (increase(http_requests_total[1m]))
  - record: test:requests:sum1h
    expr: sum_over_time(test:requests:increase1m[1h])
  - record: test:requests:sum1h_doubled
    expr: 2 * test:requests:sum1h
- name: test/other-group
  interval: 1m
  rules:
  - record: test:requests:sum1h_total
    expr: sum(test:requests:sum1h)
"""


def test_rule_backfill_runs_dependent_rules_level_by_level(
    synthetic_data: synthetic.SyntheticData,
    prometheus_factory: Callable[..., prometheus.PrometheusServer],
    tmp_path: Path,
) -> None:
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(RULES)
    server = prometheus_factory()
    end = synthetic_data.scenario.end
    start = end - 2 * DAY
    report = backfill.backfill_rules([rule_file], start, end, server, work_dir=tmp_path)
    assert report.levels == (
        ("test:requests:increase1m",),
        ("test:requests:sum1h",),
        ("test:requests:sum1h_doubled", "test:requests:sum1h_total"),
    )

    level0 = server.query_matrix('test:requests:increase1m{job="checkout",tenant="acme"}[2d]', end)[
        0
    ]
    level1 = server.query_matrix('test:requests:sum1h{job="checkout",tenant="acme"}[2d]', end)[0]
    doubled = server.query_matrix(
        'test:requests:sum1h_doubled{job="checkout",tenant="acme"}[2d]', end
    )[0]
    # One evaluation per minute over the two days, at the group's offset (not on the minute).
    assert len(level0.samples) in (2 * 1440, 2 * 1440 + 1)
    offsets = {round(timestamp % 60, 3) for timestamp in level0.timestamps}
    assert len(offsets) == 1
    assert level1.timestamps == level0.timestamps == doubled.timestamps

    # Each level saw its input: sum1h at t is the sum of the level-0 samples in [t - 1h, t].
    times, inputs = level0.timestamps, level0.values
    for timestamp, value in level1.samples[60:]:
        first = bisect.bisect_left(times, timestamp - HOUR)
        last = bisect.bisect_right(times, timestamp)
        assert value == pytest.approx(sum(inputs[first:last]), rel=1e-12)
    assert [2 * v for v in level1.values] == list(doubled.values)

    # And level 0 is what the server itself evaluates at those times.
    for timestamp, value in level0.samples[:: 7 * 60]:
        expected = server.query_value(
            "sum by (job, tenant) "
            '(increase(http_requests_total{job="checkout",tenant="acme"}[1m]))',
            timestamp,
        )
        assert value == expected

    other_group = server.query_matrix("test:requests:sum1h_total[10m]", end)
    assert other_group and other_group[0].samples


def test_promtool_alone_leaves_dependent_rules_empty(
    synthetic_data: synthetic.SyntheticData,
    prometheus_factory: Callable[..., prometheus.PrometheusServer],
    tmp_path: Path,
) -> None:
    """Why `backfill_rules` runs levels: one `create-blocks-from rules` run evaluates every
    rule against the server as it is, so a rule reading another rule's output finds nothing."""
    rule_file = tmp_path / "rules.yml"
    rule_file.write_text(RULES)
    server = prometheus_factory()
    end = synthetic_data.scenario.end
    output = tmp_path / "blocks"
    subprocess.run(
        [
            backfill.promtool_binary(),
            "tsdb",
            "create-blocks-from",
            "rules",
            f"--url={server.url}",
            f"--start={end - 6 * HOUR}",
            f"--end={end}",
            f"--output-dir={output}",
            str(rule_file),
        ],
        check=True,
        capture_output=True,
    )
    backfill.move_blocks(output, server.tsdb_dir)
    server.restart()
    assert server.series_count("test:requests:increase1m", end - 6 * HOUR, end) == 6
    assert server.series_count("test:requests:sum1h", end - 6 * HOUR, end) == 0
    assert server.series_count("test:requests:sum1h_total", end - 6 * HOUR, end) == 0


def test_rule_backfill_keeps_the_slot_before_each_block_boundary(
    synthetic_data: synthetic.SyntheticData,
    prometheus_factory: Callable[..., prometheus.PrometheusServer],
    tmp_path: Path,
) -> None:
    """promtool 2.42 alone drops the evaluation in the last second before a block boundary for
    groups whose offset is that late; `backfill_rules` keeps it. `rule_group_offset` predicts
    each group's offset, which picks late groups and is itself checked against the server."""
    levels_dir = tmp_path / "levels"
    promtool_path = str(levels_dir / "00-slots.yml")
    offsets = {f"g{n}": backfill.rule_group_offset(f"g{n}", promtool_path, 60) for n in range(999)}
    late = [name for name, offset in offsets.items() if offset > 59][:3]
    on_time = [name for name, offset in offsets.items() if offset < 59][:3]
    assert len(late) == 3
    rule_file = tmp_path / "slots.yml"
    rule_file.write_text(
        "groups:\n"
        + "".join(
            f"- name: {name}\n  interval: 1m\n  rules:\n  - record: test:slot\n"
            f"    expr: vector(1)\n    labels:\n      g: {name}\n"
            for name in late + on_time
        )
    )
    block_seconds = backfill.rule_block_ms(backfill.recording_rules([rule_file]), 60) // 1000
    scenario = synthetic_data.scenario
    boundary = scenario.end - scenario.end % block_seconds
    assert boundary - 600 > scenario.start
    server = prometheus_factory()
    report = backfill.backfill_rules(
        [rule_file], boundary - 600, boundary + 600, server, rule_dir=levels_dir
    )
    assert report.rule_paths == (promtool_path,)
    found = server.query_matrix("test:slot[30m]", boundary + 900)
    assert {series.labels["g"]: len(series.samples) for series in found} == dict.fromkeys(
        late + on_time, 20
    )
    for series in found:
        observed = {round(timestamp % 60, 3) for timestamp in series.timestamps}
        assert observed == {round(offsets[series.labels["g"]], 3)}, series.labels
