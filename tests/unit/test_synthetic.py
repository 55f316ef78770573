"""The synthetic data generator and its ground truth, without Prometheus.

The truth answers are checked against properties that hold by construction of the data — sums
over slices, per-group sums, the histogram's internal consistency — and against the scenario's
own promises (10x diurnal swing, bursts where they were placed), never against a second copy of
the same arithmetic. Agreement with a real Prometheus is tests/integration/'s job.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re

import pytest

from testkit import backfill, synthetic

DAY = synthetic.DAY
HOUR = synthetic.HOUR
END = 1_769_904_000  # 2026-02-01T00:00:00Z, a Sunday midnight


def small_scenario(**changes: object) -> synthetic.Scenario:
    """Two days of one service and two tenants with one burst, one outage and one reset."""
    start = END - 2 * DAY
    scenario = synthetic.Scenario(
        start=start,
        end=END,
        interval=30,
        seed=7,
        services=(synthetic.Service("shop", peak_requests_per_second=10.0),),
        tenants=(synthetic.Tenant("a", 0.7), synthetic.Tenant("b", 0.3)),
        probes=(synthetic.Probe("blackbox", "https://shop/health", "shop"),),
        incidents=(
            synthetic.Incident.error_burst("burst", start + 15 * HOUR, HOUR, 0.25),
            synthetic.Incident.outage("down", start + DAY + 6 * HOUR, 600, jobs=("shop",)),
        ),
        resets=(synthetic.CounterReset(start + DAY, "shop", ("a",)),),
    )
    return dataclasses.replace(scenario, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def scenario() -> synthetic.Scenario:
    return small_scenario()


@pytest.fixture(scope="module")
def data(scenario: synthetic.Scenario) -> synthetic.SyntheticData:
    return synthetic.generate(scenario)


@pytest.mark.parametrize(
    ("bound", "label"),
    [
        (0.05, "0.05"),
        (0.1, "0.1"),
        (0.15, "0.15"),
        (0.2, "0.2"),
        (0.3, "0.3"),
        (0.5, "0.5"),
        (1.0, "1"),
        (math.inf, "+Inf"),
        (2.5, "2.5"),
        (10.0, "10"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (0.0, "0"),
    ],
)
def test_le_labels_are_formatted_like_the_go_client(bound: float, label: str) -> None:
    assert synthetic.format_le(bound) == label


def test_same_scenario_same_data_other_seed_other_data(scenario: synthetic.Scenario) -> None:
    first = synthetic.generate(scenario)
    second = synthetic.generate(scenario)
    reseeded = synthetic.generate(small_scenario(seed=8))
    assert [s.cumulative for s in first.counters] == [s.cumulative for s in second.counters]
    assert [s.values for s in first.gauges] == [s.values for s in second.gauges]
    assert [s.cumulative for s in first.counters] != [s.cumulative for s in reseeded.counters]
    assert scenario.fingerprint() == small_scenario().fingerprint()
    assert scenario.fingerprint() != small_scenario(seed=8).fingerprint()


def test_a_new_tenant_leaves_the_others_data_alone(data: synthetic.SyntheticData) -> None:
    scenario = data.scenario
    wider = synthetic.generate(
        dataclasses.replace(scenario, tenants=(*scenario.tenants, synthetic.Tenant("c", 0.1)))
    )
    selector = 'http_requests_total{tenant=~"a|b"}'
    assert [s.cumulative for s in wider.select_counters(selector)] == [
        s.cumulative for s in data.select_counters(selector)
    ]


def test_series_and_labels(data: synthetic.SyntheticData) -> None:
    names = {(series.name, tuple(k for k, _ in series.labels)) for series in data.counters}
    assert names == {
        ("http_requests_total", ("job", "tenant", "code")),
        ("http_request_duration_seconds_bucket", ("job", "tenant", "le")),
        ("http_request_duration_seconds_count", ("job", "tenant")),
        ("http_request_duration_seconds_sum", ("job", "tenant")),
    }
    les = [s.label_map["le"] for s in data.select_counters('{__name__=~".*_bucket",tenant="a"}')]
    assert les == ["0.05", "0.1", "0.15", "0.2", "0.3", "0.5", "1", "+Inf"]
    # 2 tenants x (4 codes + 8 buckets + count + sum) + 1 probe
    assert data.series_count == 2 * 14 + 1
    assert data.sample_count == data.series_count * (2 * DAY // 30 + 1)


def test_histogram_count_equals_inf_bucket_equals_all_codes(
    data: synthetic.SyntheticData,
) -> None:
    start, end = data.scenario.start, data.scenario.end
    for tenant in ("a", "b"):
        requests = data.increase(f'http_requests_total{{tenant="{tenant}"}}', start, end)
        count = data.increase(
            f'http_request_duration_seconds_count{{tenant="{tenant}"}}', start, end
        )
        inf = data.increase(
            f'http_request_duration_seconds_bucket{{tenant="{tenant}",le="+Inf"}}', start, end
        )
        assert requests == count == inf > 0
        buckets = [
            data.increase(
                f'http_request_duration_seconds_bucket{{tenant="{tenant}",le="{le}"}}', start, end
            )
            for le in synthetic.LatencyProfile().labels
        ]
        assert buckets == sorted(buckets)


def test_truth_is_additive_over_ranges_slices_and_groups(data: synthetic.SyntheticData) -> None:
    start, end = data.scenario.start, data.scenario.end
    middle = start + DAY + 30 * 17
    selector = 'http_requests_total{code=~"5.."}'
    whole = data.increase(selector, start, end)
    assert whole == data.increase(selector, start, middle) + data.increase(selector, middle, end)
    assert sum(data.increase_slices(selector, start, end, 3600)) == whole
    by_tenant = data.increase_by(selector, ["tenant"], start, end)
    assert set(by_tenant) == {("a",), ("b",)}
    assert sum(by_tenant.values()) == whole
    counts = data.counts("http_requests_total", start, end, bad='http_requests_total{code=~"5.."}')
    assert counts.bad == whole
    assert counts == sum(
        data.slice_counts(
            "http_requests_total", start, end, 60, bad='http_requests_total{code=~"5.."}'
        ),
        synthetic.Counts(0, 0),
    )
    grouped = data.counts_by(
        ["tenant"], "http_requests_total", start, end, bad='http_requests_total{code=~"5.."}'
    )
    assert grouped[("a",)] + grouped[("b",)] == counts


def test_range_semantics_are_left_open_right_closed(data: synthetic.SyntheticData) -> None:
    """Events stamped at t belong to (t - interval, t]; a range of one interval holds one
    sample's events, an empty range none, and a non-aligned bound falls back to the sample
    before it."""
    series = data.select_counters('http_requests_total{tenant="a",code="200"}')[0]
    start = data.scenario.start
    k = 1000
    at = start + k * 30
    one_step = series.cumulative[k] - series.cumulative[k - 1]
    selector = 'http_requests_total{tenant="a",code="200"}'
    assert data.increase(selector, at - 30, at) == one_step > 0
    assert data.increase(selector, at, at) == 0
    assert data.increase(selector, at + 0.5, at + 29.999) == 0
    assert data.increase(selector, at - 29.5, at + 29.999) == one_step
    assert data.increase(selector, at - 30.001, at) == (
        series.cumulative[k] - series.cumulative[k - 2]
    )


def test_gauge_closed_both_counts_the_left_edge_sample(data: synthetic.SyntheticData) -> None:
    start = data.scenario.start + HOUR
    right = data.gauge_counts("probe_success", start, start + HOUR)
    both = data.gauge_counts("probe_success", start, start + HOUR, closed="both")
    assert right.total == 120
    assert both.total == 121
    slices = data.gauge_slice_counts("probe_success", start, start + HOUR, 300)
    assert sum(slices, synthetic.Counts(0, 0)) == right


def test_times_outside_the_data_and_ragged_slices_are_refused(
    data: synthetic.SyntheticData,
) -> None:
    start, end = data.scenario.start, data.scenario.end
    with pytest.raises(ValueError, match="outside the data"):
        data.increase("http_requests_total", start - 30, end)
    with pytest.raises(ValueError, match="outside the data"):
        data.increase("http_requests_total", start, end + 30)
    with pytest.raises(ValueError, match="whole number"):
        data.increase_slices("http_requests_total", start, start + 90, 60)
    with pytest.raises(ValueError, match="exactly one"):
        data.counts("http_requests_total", start, end)
    with pytest.raises(ValueError, match="plain vector selector"):
        data.increase("sum(http_requests_total)", start, end)


def test_selectors_follow_prometheus_matching(data: synthetic.SyntheticData) -> None:
    codes = {s.label_map["code"] for s in data.select_counters('http_requests_total{code=~"5.."}')}
    assert codes == {"500", "503"}
    assert not data.select_counters('http_requests_total{code=~"5"}')  # anchored
    others = data.select_counters('http_requests_total{code!~"5..",tenant!="b"}')
    assert {s.label_map["code"] for s in others} == {"200", "404"}
    assert all(s.label_map["tenant"] == "a" for s in others)
    assert data.select_counters('http_requests_total{missing=""}')  # absent label == ""


def test_traffic_swings_at_least_tenfold_between_peak_and_trough(
    data: synthetic.SyntheticData,
) -> None:
    scenario = data.scenario
    hours = data.increase_slices("http_requests_total", scenario.start, scenario.start + DAY, HOUR)
    assert max(hours) >= 10 * min(hours)
    busiest = hours.index(max(hours))
    quietest = hours.index(min(hours))
    assert busiest in (14, 15)  # the hour ending at 15:00 or 16:00 UTC
    assert quietest in (2, 3)


def test_incidents_happen_where_they_were_placed(data: synthetic.SyntheticData) -> None:
    scenario = data.scenario
    burst, outage = scenario.incidents
    during = data.counts(
        "http_requests_total", burst.start, burst.end, bad='http_requests_total{code=~"5.."}'
    )
    assert 0.2 < 1 - during.ratio < 0.3
    before = data.counts(
        "http_requests_total",
        burst.start - HOUR,
        burst.start,
        bad='http_requests_total{code=~"5.."}',
    )
    assert 1 - before.ratio < 0.01
    down = data.counts(
        "http_requests_total", outage.start, outage.end, bad='http_requests_total{code=~"5.."}'
    )
    assert down.good == 0 < down.total
    probe = data.gauge_counts("probe_success", outage.start, outage.end)
    assert probe.good == 0 and probe.total == 20


def test_counter_reset_reads_zero_and_serves_nothing_in_its_interval(
    data: synthetic.SyntheticData,
) -> None:
    (reset,) = data.scenario.resets
    index = (reset.at - data.scenario.start) // data.scenario.interval
    reset_series = data.select_counters('{tenant="a"}')
    assert reset_series
    for series in reset_series:
        assert series.resets == (index,)
        values = list(series.exposed_values(index - 1, index + 2))
        assert values[1] == 0
        assert values[0] > 0 or series.name.endswith("_bucket")
        assert values[2] >= 0
    untouched = data.select_counters('http_requests_total{tenant="b",code="200"}')[0]
    assert untouched.resets == ()
    assert data.increase('http_requests_total{tenant="a"}', reset.at - 30, reset.at) == 0


def test_exposed_counters_only_fall_at_resets_and_windows_concatenate(
    data: synthetic.SyntheticData,
) -> None:
    count = data.scenario.sample_count
    for series in data.counters:
        values = list(series.exposed_values(0, count))
        falls = [k for k in range(1, count) if values[k] < values[k - 1]]
        assert set(falls) <= set(series.resets)
        pieces = [
            *series.exposed_values(0, 100),
            *series.exposed_values(100, 2881),
            *series.exposed_values(2881, count),
        ]
        assert pieces == values


_LINE = re.compile(r"^(?P<series>[a-z_]+\{[^}]*\}) (?P<value>\S+) (?P<ts>\d+)$")


def test_openmetrics_text_is_grouped_by_family_ascending_and_ends_with_eof(
    data: synthetic.SyntheticData,
) -> None:
    text = io.StringIO()
    written = backfill.write_openmetrics(data, text)
    lines = text.getvalue().splitlines()
    assert lines[-1] == "# EOF"
    assert written == data.sample_count
    assert [line for line in lines if line.startswith("# TYPE")] == [
        "# TYPE http_requests counter",
        "# TYPE http_request_duration_seconds histogram",
        "# TYPE probe_success gauge",
    ]
    last_time: dict[str, int] = {}
    for line in lines:
        if line.startswith("#"):
            continue
        match = _LINE.match(line)
        assert match, line
        series, timestamp = match["series"], int(match["ts"])
        assert timestamp > last_time.get(series, -1)
        last_time[series] = timestamp
    assert len(last_time) == data.series_count


def test_openmetrics_windows_partition_the_samples(data: synthetic.SyntheticData) -> None:
    scenario = data.scenario
    windows = backfill.block_windows(scenario.start, scenario.end, 6 * 3_600_000)
    assert windows[0][0] <= scenario.start < windows[0][1]
    assert windows[-1][0] <= scenario.end < windows[-1][1]
    total = 0
    for window_start, window_end in windows:
        text = io.StringIO()
        total += backfill.write_openmetrics(data, text, start=window_start, end=window_end)
        stamps = {
            int(line.rsplit(" ", 1)[1])
            for line in text.getvalue().splitlines()[:-1]
            if not line.startswith("#")
        }
        assert all(window_start <= stamp < window_end for stamp in stamps)
    assert total == data.sample_count


def test_standard_scenario_places_bursts_at_peak_and_trough() -> None:
    scenario = synthetic.standard_scenario()
    assert scenario.end - scenario.start == 30 * DAY
    incidents = {incident.name: incident for incident in scenario.incidents}
    peak = incidents["burst-at-peak"]
    trough = incidents["burst-at-trough"]
    assert (peak.start + peak.end) // 2 == scenario.peak_time(3)
    assert (trough.start + trough.end) // 2 == scenario.trough_time(6)
    diurnal = scenario.diurnal
    assert diurnal.factor(scenario.peak_time(3)) >= 10 * diurnal.factor(scenario.trough_time(3))
    with pytest.raises(ValueError, match="day 23"):
        synthetic.standard_scenario(days=7)


def test_scenario_rejects_unaligned_times() -> None:
    with pytest.raises(ValueError, match="multiples"):
        small_scenario(start=END - 2 * DAY + 1)
    with pytest.raises(ValueError, match="sample times"):
        small_scenario(incidents=(synthetic.Incident.error_burst("x", END - DAY + 7, 60, 0.1),))
    with pytest.raises(ValueError, match="not a sample time"):
        small_scenario(resets=(synthetic.CounterReset(END - 2 * DAY, "shop"),))


def test_latency_selectors_follow_the_histogram_naming(data: synthetic.SyntheticData) -> None:
    good, total = synthetic.latency_selectors('http_request_duration_seconds{tenant="a"}', 0.15)
    assert good == 'http_request_duration_seconds_bucket{tenant="a",le="0.15"}'
    assert total == 'http_request_duration_seconds_count{tenant="a"}'
    start, end = data.scenario.start, data.scenario.end
    counts = data.counts(total, start, end, good=good)
    assert 0.8 < counts.ratio < 0.95
    with pytest.raises(ValueError, match="histogram selector"):
        synthetic.latency_selectors('{job="x"}', 0.1)
