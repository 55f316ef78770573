"""`slo-operator report` on a real Prometheus: its numbers are `evaluate`'s, its charts are the
synthetic data's.

The standard synthetic month is backfilled with promtool, then the rules of the SLOs below over
the 7 days and 4 hours before AT. The 7d window (7 January 00:00 to 14 January 00:00) holds
checkout's 30-minute outage of 12 January 09:00, which spends the whole budget of the 99.9%
objective; what is left of the 99.5% one is what the data says. Truth is computed here from the
synthetic counters alone, never from the code under test.

- The HTML and Markdown written by the verb (subprocess) hold `evaluate --at`'s numbers for the
  same instant, cell for cell.
- The data behind the burn-down chart (`gather`, in process) starts at 100%, follows the synthetic
  cumulative bad events hour by hour (bracketed by two minutes either side: the level-1 rules
  count each rule-group minute exactly, but their minutes are the group's phase), ends on the
  status' remaining budget, and crosses zero in the hour the truth does.
- Every chart is a PNG of the documented size; `--update-golden` writes the burn-down chart to
  docs/report-example.png for review.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import pathlib
import re
import struct
import subprocess
import sys
from typing import Any

import pytest
import yaml

from slo_operator.api import validation
from slo_operator.budget import rounding
from slo_operator.report import gather, model, render
from slo_operator.rules import render as rules_render
from support import paths
from testkit import backfill, prometheus, synthetic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

NAMESPACE = "rep"
AT = datetime.datetime(2026, 1, 14, 0, 20, tzinfo=datetime.UTC)
HOUR = 3600
DAY = 86400
WINDOW_END = datetime.datetime(2026, 1, 14, tzinfo=datetime.UTC).timestamp()
WINDOW_START = WINDOW_END - 7 * DAY
TOTAL = 'http_requests_total{job="checkout"}'
BAD = 'http_requests_total{job="checkout",code=~"5.."}'
SLACK = 120
"""Seconds either side of an hour boundary within which the rules' minutes may fall."""
SLO_NAMES = ("checkout-availability", "chatbot-latency", "probe-slices")
GOLDEN_PNG = paths.REPO / "docs" / "report-example.png"

SLO = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "checkout-availability", "namespace": NAMESPACE},
    "spec": {
        "service": "checkout",
        "indicator": {"ratio": {"errors": BAD, "total": TOTAL}},
        "window": "7d",
        "objectives": [
            {"name": "strict", "target": 99.9},
            {"name": "standard", "target": 99.5},
        ],
        "groupBy": ["tenant"],
        "errorBudgetPolicy": [
            {"name": "warn", "whenConsumedPercent": 50, "actions": [{"type": "Event"}]},
            {"name": "freeze", "whenConsumedPercent": 100, "actions": [{"type": "ReleaseFreeze"}]},
        ],
    },
}
LATENCY = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "chatbot-latency", "namespace": NAMESPACE},
    "spec": {
        "service": "chatbot",
        "indicator": {"latency": {"metric": 'http_request_duration_seconds{job="chatbot"}'}},
        "window": "1d",
        "objectives": [{"name": "standard", "target": 99, "threshold": "200ms"}],
    },
}
PROBE_SLICES = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "probe-slices", "namespace": NAMESPACE},
    "spec": {
        "service": "checkout",
        "indicator": {
            "boolGauge": {
                "metric": 'probe_success{job="blackbox",target="https://checkout.shop.example/healthz"}'
            }
        },
        "window": "7d",
        "budgetingMethod": "Timeslices",
        "timeslice": {"duration": "1m", "target": 95},
        "objectives": [{"name": "standard", "target": 99.9}],
    },
}
SLA = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelAgreement",
    "metadata": {"name": "acme-store", "namespace": NAMESPACE},
    "spec": {
        "customer": "acme",
        "period": "Month",
        "timeZone": "UTC",
        "commitments": [
            {"name": "checkout", "sloRef": {"name": "checkout-availability"}, "target": 99.5}
        ],
        "credits": [{"below": 99.9, "creditPercent": 10}, {"below": 99.5, "creditPercent": 25}],
    },
}


@pytest.fixture(scope="module")
def server(
    synthetic_data: synthetic.SyntheticData,
    synthetic_tsdb: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    folder = tmp_path_factory.mktemp("report")
    resources = [validation.parse_resource(body) for body in (SLO, LATENCY, PROBE_SLICES)]
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(rules_render.render_rule_file(resources), sort_keys=False))
    running = prometheus.PrometheusServer(synthetic_tsdb(), work_dir=folder / "prometheus")
    running.start()
    backfill.backfill_rules(
        [rule_file], AT.timestamp() - 7 * DAY - 4 * HOUR, AT.timestamp(), running
    )
    (folder / "manifests.yaml").write_text(yaml.safe_dump_all([SLO, LATENCY, PROBE_SLICES, SLA]))
    running.folder = folder  # type: ignore[attr-defined]
    yield running
    running.stop()


def _cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "slo-operator"), *arguments],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return completed


@pytest.fixture(scope="module")
def evaluated(server: Any) -> dict[str, dict[str, Any]]:
    completed = _cli(
        "evaluate", "-f", str(server.folder / "manifests.yaml"),
        "--prometheus-url", server.url, "--at", AT.isoformat(), "-o", "json",
    )  # fmt: skip
    return {item["name"]: item["status"] for item in json.loads(completed.stdout)}


@pytest.fixture(scope="module")
def written(server: Any) -> tuple[str, str, pathlib.Path]:
    out = server.folder / "out"
    _cli(
        "report", "-f", str(server.folder / "manifests.yaml"),
        "--prometheus-url", server.url, "--to", AT.isoformat(),
        "--html", str(out / "report.html"), "--markdown", str(out / "md" / "report.md"),
    )  # fmt: skip
    return (
        (out / "report.html").read_text(),
        (out / "md" / "report.md").read_text(),
        out / "md",
    )


@pytest.fixture(scope="module")
def data(server: Any) -> model.ReportData:
    resources = [validation.parse_resource(body) for body in (SLO, LATENCY, PROBE_SLICES, SLA)]
    return asyncio.run(gather.gather(resources, server.url, AT))  # type: ignore[arg-type]


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _cells(objective: dict[str, Any]) -> list[str]:
    met = {True: "yes", False: "no", None: "-"}[objective.get("met")]
    return [
        objective["name"],
        str(objective["target"]),
        str(objective["sli"]),
        met,
        str(objective["errorBudgetRemainingPercent"]),
        objective["errorBudgetRemaining"],
    ]


def _html_rows(page: str) -> list[list[str]]:
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", page):
        rows.append(
            [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>.*?</td>", row)]
        )
    return rows


def _markdown_rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ")
    ]


def test_numbers_are_evaluates_for_the_same_instant(
    evaluated: dict[str, dict[str, Any]], written: tuple[str, str, pathlib.Path]
) -> None:
    page, markdown, _ = written
    html_rows = _html_rows(page)
    markdown_rows = _markdown_rows(markdown)
    for name in SLO_NAMES:
        for objective in evaluated[name]["objectives"]:
            assert _cells(objective) in html_rows, (name, objective)
            assert _cells(objective) in markdown_rows, (name, objective)
    for group in evaluated["checkout-availability"]["groups"][:5]:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(group["labels"].items()))
        cells = [labels, str(group["sli"]), str(group["errorBudgetRemainingPercent"])]
        assert cells in html_rows and cells in markdown_rows
    period = evaluated["acme-store"]["currentPeriod"]
    for commitment in period["commitments"]:
        expected = [str(commitment["attainment"]), str(commitment["projected"])]
        assert any(row[3:5] == expected for row in html_rows)
        assert any(row[3:5] == expected for row in markdown_rows)
    met = sum(all(o["met"] for o in evaluated[name]["objectives"]) for name in SLO_NAMES)
    assert f"SLOs met: {met} of 3" in page and f"SLOs met: {met} of 3" in markdown
    unbacked = next(c for c in evaluated["acme-store"]["conditions"] if c["type"] == "Unbacked")
    backed = "every commitment is backed" in page
    assert backed is (unbacked["status"] == "False")


def test_charts_are_self_contained_pngs_of_the_documented_size(
    written: tuple[str, str, pathlib.Path],
) -> None:
    page, markdown, folder = written
    # No external asset: every src is inline data, no stylesheet link, no script.
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []
    assert "<link" not in page and "<script" not in page
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == 6  # burn-down and burn rate of every SLO
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(linked) == 6
    for png in [base64.b64decode(item) for item in embedded] + [
        (folder / name).read_bytes() for name in linked
    ]:
        assert _png_size(png) == (render.CHART_WIDTH_PIXELS, render.CHART_HEIGHT_PIXELS)
    assert "prefers-color-scheme: dark" in page and "@media print" in page


def _truth_bad(data: synthetic.SyntheticData, start: float, end: float) -> int:
    return data.counts(TOTAL, start, end, bad=BAD).bad


def test_burn_down_follows_the_data_and_crosses_zero_where_it_says(
    data: model.ReportData,
    evaluated: dict[str, dict[str, Any]],
    synthetic_data: synthetic.SyntheticData,
    update_golden: bool,
) -> None:
    item = next(s for s in data.slos if s.name == "checkout-availability")
    assert item.chart_start == WINDOW_START and item.chart_end == WINDOW_END
    curves = {curve.objective: curve for curve in item.budget_curves}
    statuses = {o["name"]: o for o in evaluated["checkout-availability"]["objectives"]}
    whole = synthetic_data.counts(TOTAL, WINDOW_START, WINDOW_END, bad=BAD)
    for name, target in (("strict", 99.9), ("standard", 99.5)):
        curve = curves[name]
        assert curve.times[0] == WINDOW_START and curve.times[-1] == WINDOW_END
        assert len(curve.times) == 7 * 24 + 1
        assert curve.remaining_percent[0] == 100.0
        # Bracketed hour by hour by the synthetic counters.
        for moment, bad in zip(curve.times[1:], curve.bad[1:], strict=True):
            low = _truth_bad(synthetic_data, WINDOW_START + SLACK, moment - SLACK)
            high = _truth_bad(synthetic_data, WINDOW_START - SLACK, moment + SLACK)
            assert low <= bad <= high, (name, moment, low, bad, high)
        # It ends exactly on the status' number (which is rounded down).
        assert (
            rounding.budget_percent(curve.remaining_percent[-1])
            == statuses[name]["errorBudgetRemainingPercent"]
        )
        # Where the truth spends the budget: the first minute the synthetic bad events exceed it.
        allowed = (1 - target / 100) * whole.total
        truth_crossing = None
        for hour in range(1, 7 * 24 + 1):
            end = WINDOW_START + hour * HOUR
            if _truth_bad(synthetic_data, WINDOW_START, end) > allowed:
                for minute in range(60, HOUR + 1, 60):
                    if _truth_bad(synthetic_data, WINDOW_START, end - HOUR + minute) > allowed:
                        truth_crossing = end - HOUR + minute
                        break
                break
        measured = curve.zero_crossing()
        print(f"{name}: truth crosses zero at {truth_crossing}, chart at {measured}")
        if truth_crossing is None:
            assert measured is None
            assert curve.remaining_percent[-1] > 0
            continue
        expected_hour = truth_crossing + (-truth_crossing) % HOUR
        assert (
            measured == expected_hour
            or (
                # within the rules' phase of an hour boundary, either side is right
                abs(truth_crossing - (expected_hour - HOUR)) <= SLACK
                and measured == expected_hour - HOUR
            )
            or (expected_hour - truth_crossing <= SLACK and measured == expected_hour + HOUR)
        )
    assert curves["strict"].zero_crossing() is not None, "the outage spends the strict budget"
    outage = datetime.datetime(2026, 1, 12, 9, tzinfo=datetime.UTC).timestamp()
    assert outage < curves["strict"].zero_crossing() <= outage + HOUR  # type: ignore[operator]
    # Policy steps are read off the primary (first) objective's curve.
    steps = {step.name: step for step in item.policy_steps}
    assert steps["freeze"].reached_at == curves["strict"].zero_crossing()
    assert steps["warn"].reached_at is not None
    assert steps["warn"].reached_at <= steps["freeze"].reached_at  # type: ignore[operator]
    # Burn rates at every alert window, aggregated over tenants: the outage burns 1000x.
    rates = {curve.window: curve for curve in item.burn_rates}
    assert "5m" in rates and max(rates["5m"].values) > 500
    png = render.burn_down_chart(item)
    assert _png_size(png) == (render.CHART_WIDTH_PIXELS, render.CHART_HEIGHT_PIXELS)
    if update_golden:
        GOLDEN_PNG.write_bytes(png)
    assert _png_size(GOLDEN_PNG.read_bytes()) == _png_size(png)


def test_short_window_is_charted_from_five_minute_steps(data: model.ReportData) -> None:
    item = next(s for s in data.slos if s.name == "chatbot-latency")
    (curve,) = item.budget_curves
    assert item.chart_start is not None
    assert curve.times[1] - curve.times[0] == 300
    assert curve.remaining_percent[0] == 100.0
    assert item.status["objectives"][0]["errorBudgetRemainingPercent"] == pytest.approx(
        curve.remaining_percent[-1], abs=1.0
    )


def test_timeslices_are_charted_in_slices_and_end_on_the_status(
    data: model.ReportData, evaluated: dict[str, dict[str, Any]]
) -> None:
    item = next(s for s in data.slos if s.name == "probe-slices")
    (curve,) = item.budget_curves
    assert curve.times[0] == WINDOW_START and curve.times[-1] == WINDOW_END
    assert curve.remaining_percent[0] == 100.0
    # Units are 1m slices with probe samples: one per minute of the window.
    assert curve.total == 7 * 1440
    status = evaluated["probe-slices"]["objectives"][0]
    assert (
        rounding.budget_percent(curve.remaining_percent[-1])
        == (status["errorBudgetRemainingPercent"])
    )
    # The checkout outage (probe 0 for 30 minutes) is 30 bad slices in one hour.
    outage = datetime.datetime(2026, 1, 12, 9, tzinfo=datetime.UTC).timestamp()
    index = curve.times.index(outage + HOUR)
    assert curve.bad[index] - curve.bad[index - 1] >= 30


def test_from_starts_the_charts_there_and_keeps_evaluates_tables(
    server: Any, evaluated: dict[str, dict[str, Any]]
) -> None:
    resources = [validation.parse_resource(body) for body in (SLO, SLA)]
    since = datetime.datetime(2026, 1, 11, tzinfo=datetime.UTC)
    data = asyncio.run(gather.gather(resources, server.url, AT, since))  # type: ignore[arg-type]
    (item,) = data.slos
    assert item.status == evaluated["checkout-availability"]
    for curve in item.budget_curves:
        assert curve.times[0] == since.timestamp() and curve.times[-1] == WINDOW_END
        assert curve.remaining_percent[0] == 100.0
    assert all(curve.times[0] > since.timestamp() for curve in item.burn_rates)
