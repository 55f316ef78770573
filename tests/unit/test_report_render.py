"""The report's pure half: summary, tables, escaping, chart sizes; and the verb's argument rules.

Numbers against a real Prometheus and `evaluate` are in tests/integration/test_report.py.
"""

from __future__ import annotations

import dataclasses
import datetime
import struct
from typing import Any

import pytest

from slo_operator import cli
from slo_operator.report import model, render

AT = datetime.datetime(2026, 1, 14, tzinfo=datetime.UTC)
START = AT.timestamp() - 3 * 3600


def _slo(name: str, objectives: list[dict[str, Any]], **extra: Any) -> model.SloReport:
    times = (START, START + 3600, START + 7200, START + 10800)
    curve = model.BudgetCurve(
        objective="standard",
        target=99.5,
        times=times,
        bad=(0.0, 10.0, 30.0, 60.0),
        total=10000.0,
        remaining_percent=(100.0, 80.0, 40.0, -20.0),
    )
    rates = (model.BurnRateCurve("5m", times[1:], (4.0, 8.0, 12.0)),)
    fields: dict[str, Any] = {
        "namespace": "shop",
        "name": name,
        "service": "checkout",
        "window": "7d",
        "primary_objective": "standard",
        "status": {"objectives": objectives, "windowStart": "2026-01-13T21:00:00Z"},
        "chart_start": START,
        "chart_end": times[-1],
        "budget_curves": (curve,),
        "burn_rates": rates,
        "policy_steps": (model.PolicyStepReached("freeze", 100.0, times[-1]),),
    }
    fields.update(extra)
    return model.SloReport(**fields)


def _objective(name: str, met: bool, remaining: float) -> dict[str, Any]:
    return {
        "name": name,
        "target": 99.5,
        "sli": 99.41,
        "met": met,
        "errorBudgetRemainingPercent": remaining,
        "errorBudgetRemaining": "12 events",
    }


SLA = model.SlaReport(
    "shop",
    "acme",
    "ACME <Corp>",
    {
        "conditions": [
            {"type": "Unbacked", "status": "True", "reason": "Unbacked", "message": "a<b | c"}
        ],
        "currentPeriod": {
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-02-01T00:00:00Z",
            "commitments": [
                {"name": "checkout", "target": 99.5, "attainment": 99.4, "projected": 99.3}
            ],
            "creditPercent": 10.0,
        },
    },
)


def _data() -> model.ReportData:
    slos = (
        _slo("good", [_objective("standard", True, 60.0)]),
        _slo("bad", [_objective("standard", False, -20.0), _objective("loose", True, 10.0)]),
        _slo("empty", [], budget_curves=(), burn_rates=(), chart_note="nothing to chart"),
    )
    return model.ReportData(AT, None, slos, (SLA,))


def test_summary_counts_met_slos_budgets_at_risk_and_credits() -> None:
    summary = render.summarize(_data())
    assert (summary.slos, summary.slos_met) == (3, 1)
    assert summary.at_risk == ("shop/bad standard (-20.0%)", "shop/bad loose (10.0%)")
    assert summary.credits == ("shop/acme from 2026-01-01T00:00:00Z: 10.0% (ACME <Corp>)",)


def test_a_report_over_a_past_span_counts_the_credits_of_periods_it_closed() -> None:
    history = [
        {"start": "2025-11-01T00:00:00Z", "end": "2025-12-01T00:00:00Z", "creditPercent": 25.0},
        {"start": "2025-12-01T00:00:00Z", "end": "2026-01-01T00:00:00Z", "creditPercent": 50.0},
    ]
    sla = model.SlaReport("shop", "acme", "acme", {**SLA.status, "history": history})
    december = datetime.datetime(2025, 12, 1, tzinfo=datetime.UTC)
    summary = render.summarize(model.ReportData(AT, december, (), (sla,)))
    assert summary.credits == (
        "shop/acme from 2026-01-01T00:00:00Z: 10.0% (acme)",
        "shop/acme from 2025-12-01T00:00:00Z: 50.0% (acme)",
    )


def test_zero_crossing_is_the_first_point_below_zero() -> None:
    (curve,) = _data().slos[0].budget_curves
    assert curve.zero_crossing() == START + 10800


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_charts_only_for_slos_with_data_and_of_the_documented_size() -> None:
    drawn = render.charts(_data())
    assert sorted(drawn) == [
        "shop-bad-budget.png",
        "shop-bad-burn-rate.png",
        "shop-good-budget.png",
        "shop-good-burn-rate.png",
    ]
    for png in drawn.values():
        assert _size(png) == (render.CHART_WIDTH_PIXELS, render.CHART_HEIGHT_PIXELS)


def test_html_escapes_what_users_wrote_and_embeds_charts() -> None:
    data = _data()
    page = render.render_html(data, render.charts(data))
    assert "ACME &lt;Corp&gt;" in page and "ACME <Corp>" not in page
    assert "UNBACKED: a&lt;b | c" in page
    assert page.count('src="data:image/png;base64,') == 4
    assert "nothing to chart" in page
    assert "2026-01-14 00:00 UTC" in page  # when the freeze step was reached


def test_markdown_escapes_pipes_in_cells_and_links_charts_by_name() -> None:
    data = _data()
    text = render.render_markdown(data, render.charts(data))
    assert "![error budget burn-down](shop-good-budget.png)" in text
    assert "shop-empty-budget.png" not in text
    assert "| standard | 99.5 | 99.41 | no | -20.0 | 12 events |" in text
    assert "Backing: UNBACKED: a<b | c" in text  # prose, not a table cell


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        ("2026-01-15T10:00:00+00:00", "2025-12-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        ("2026-03-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"),
    ],
)
def test_last_month_is_the_previous_calendar_month_in_utc(now: str, start: str, end: str) -> None:
    args = cli.build_parser().parse_args(
        ["report", "-f", "x", "--prometheus-url", "http://p", "--period", "last-month"]
    )
    span = cli.report.report_span(args, datetime.datetime.fromisoformat(now))
    assert span == (datetime.datetime.fromisoformat(start), datetime.datetime.fromisoformat(end))


@pytest.mark.parametrize(
    "arguments",
    [
        ["-f", "x", "--prometheus-url", "http://p"],
        ["-f", "x", "--prometheus-url", "http://p", "--html", "r.html", "--period", "last-month",
         "--from", "2026-01-01T00:00:00Z"],
        ["-f", "x", "--prometheus-url", "http://p", "--html", "r.html",
         "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"],
    ],
)  # fmt: skip
def test_wrong_usage_exits_2_before_any_query(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", *arguments]) == 2
    assert "slo-operator report:" in capsys.readouterr().err


def test_a_group_without_traffic_says_since_when_its_numbers_are_the_last_ones() -> None:
    groups = [
        {"labels": {"tenant": "acme"}, "sli": 99.1, "errorBudgetRemainingPercent": 10.0},
        {
            "labels": {"tenant": "globex"},
            "sli": 98.0,
            "errorBudgetRemainingPercent": -5.0,
            "noData": True,
            "noDataSince": "2026-01-14T02:00:00Z",
        },
    ]
    item = _slo("tenants", [_objective("standard", True, 10.0)])
    item = dataclasses.replace(item, status={**item.status, "groups": groups})
    assert [row[0] for row in render.groups_table(item).rows] == [
        "tenant=acme",
        "tenant=globex (no data since 2026-01-14T02:00:00Z)",
    ]
