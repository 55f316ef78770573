"""The web UI's pure half (rows, states, filters, charts, HTML) and its server's HTTP contract,
on the examples' manifests with full statuses; no cluster and no backend (the browser test in
tests/e2e/test_ui_browser.py covers those)."""

from __future__ import annotations

import asyncio
import copy
import datetime
import html.parser
import pathlib
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from cases import full_status
from slo_operator.api import validation
from slo_operator.backends import backend_config
from slo_operator.evaluation import registry
from slo_operator.report import model as report_model
from slo_operator.ui import charts, model, pages, server

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def examples() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if body:
                body["metadata"].setdefault("namespace", "shop")
                found[body["metadata"]["name"]] = body
    return found


def with_status(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    placed = copy.deepcopy(body)
    placed["status"] = fields
    return placed


def cond(type_: str, status: str, reason: str = "R", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ({}, "pending"),
        ({"sli": 99.9, "burnRates": {"5m": 0.2, "1h": 0.9}}, "ok"),
        ({"sli": 99.0, "burnRates": {"5m": 3.0, "1h": 0.9}}, "burning"),
        ({"sli": 98.0, "conditions": [cond("ErrorBudgetExhausted", "True")]}, "exhausted"),
        ({"conditions": [cond("Ready", "False", "NoData")]}, "nodata"),
        (
            {
                "sli": 98.0,
                "conditions": [cond("Stalled", "True"), cond("ErrorBudgetExhausted", "True")],
            },
            "stalled",
        ),
    ],
)
def test_slo_state_most_urgent_first(status: dict[str, Any], state: str) -> None:
    assert model.slo_state(status) == state


@pytest.mark.parametrize(
    ("conditions", "state"),
    [
        ([], "pending"),
        ([cond("Compliant", "True"), cond("AtRisk", "False")], "ok"),
        ([cond("Compliant", "True"), cond("AtRisk", "True")], "at-risk"),
        ([cond("Compliant", "False"), cond("AtRisk", "True")], "breached"),
        ([cond("Stalled", "True"), cond("Compliant", "False")], "stalled"),
    ],
)
def test_sla_state(conditions: list[dict[str, str]], state: str) -> None:
    assert model.sla_state({"conditions": conditions}) == state


@pytest.mark.parametrize(
    ("value", "text"), [(99.412, "99.412"), (41.2, "41.2"), (-30.0, "-30"), (0, "0"), (None, "—")]
)
def test_numbers_are_written_as_status_holds_them(value: Any, text: str) -> None:
    assert model.number(value) == text


def fleet() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    bodies = examples()
    slos = [
        with_status(bodies["checkout-availability"], sli=99.8, errorBudgetRemainingPercent=60.0,
                    burnRates={"1h": 0.5}),
        with_status(bodies["chatbot-latency"], sli=99.1, errorBudgetRemainingPercent=-12.5,
                    burnRates={"1h": 4.25}, conditions=[cond("ErrorBudgetExhausted", "True")],
                    lastEvaluationTime="2026-11-27T10:00:00Z",
                    windowStart="2026-11-26T10:00:00Z"),
        with_status(bodies["catalog-uptime"], sli=99.95, errorBudgetRemainingPercent=20.0,
                    burnRates={"1h": 1.5}),
        with_status(bodies["catalog-availability-monthly"], conditions=[cond("Stalled", "True")]),
    ]  # fmt: skip
    slas = [
        with_status(bodies["acme-store"], currentPeriod={"attainment": 99.7, "creditPercent": 0})
    ]
    return slos, slas


def overview(
    slos: list[dict[str, Any]], slas: list[dict[str, Any]], filters: model.Filters
) -> model.Overview:
    return model.overview(
        [model.slo_row(b) for b in slos], [model.sla_row(b) for b in slas], filters
    )


def test_overview_filters_and_sorts() -> None:
    slos, slas = fleet()
    found = overview(slos, slas, model.Filters())
    assert found.total_slos == 4 and found.total_slas == 1
    # Remaining budget, lowest first; unmeasured last.
    assert [r.name for r in found.slos] == [
        "chatbot-latency", "catalog-uptime", "checkout-availability",
        "catalog-availability-monthly",
    ]  # fmt: skip
    by_burn = overview(slos, slas, model.Filters(sort="burn"))
    assert [r.name for r in by_burn.slos][:3] == [
        "chatbot-latency", "catalog-uptime", "checkout-availability",
    ]  # fmt: skip
    assert found.counts["exhausted"] == 1 and found.counts["burning"] == 1
    assert found.counts["stalled"] == 1 and found.counts["ok"] == 1
    burning = overview(slos, slas, model.Filters(state="burning"))
    assert [r.name for r in burning.slos] == ["catalog-uptime"]
    assert burning.slas == ()
    text = overview(slos, slas, model.Filters(text="CHAT"))
    assert [r.name for r in text.slos] == ["chatbot-latency"]
    # A service filter keeps the SLAs resting on one of its SLOs.
    service = overview(slos, slas, model.Filters(service="checkout"))
    assert [r.name for r in service.slos] == ["checkout-availability"]
    assert [r.name for r in service.slas] == ["acme-store"]
    other = overview(slos, slas, model.Filters(namespace="elsewhere"))
    assert other.slos == () and other.slas == ()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"state": "sad"}, "state"),
        ({"sort": "random"}, "sort"),
        ({"q": "x" * 201}, "q"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
    ],
)
def test_bad_filters_name_the_parameter(query: dict[str, str], parameter: str) -> None:
    with pytest.raises(model.BadQuery, match=f"'{parameter}'"):
        model.parse_filters(query)


def test_filters_make_deep_links() -> None:
    filters = model.parse_filters({"namespace": "shop", "state": "burning", "q": " a b "})
    assert filters == model.Filters(namespace="shop", state="burning", text="a b")
    assert filters.query(sort="burn") == {
        "namespace": "shop", "state": "burning", "q": "a b", "sort": "burn",
    }  # fmt: skip


def test_overview_pages_of_100_and_rows_rebuilt_only_when_changed() -> None:
    body = examples()["checkout-availability"]
    bodies = []
    for index in range(250):
        copy_ = with_status(body, sli=99.0, errorBudgetRemainingPercent=float(index))
        copy_["metadata"]["name"] = f"slo-{index:03d}"
        bodies.append(copy_)
    cache = model.RowCache()
    rows = cache.rows("ServiceLevelObjective", bodies)
    assert cache.rows("ServiceLevelObjective", bodies)[7] is rows[7]
    changed = with_status(bodies[7], sli=98.0)
    again = cache.rows("ServiceLevelObjective", [*bodies[:7], changed, *bodies[8:]])
    assert again[7] is not rows[7] and again[7].sli == 98.0 and again[8] is rows[8]
    third = model.overview(rows, [], model.Filters(page=3))
    assert [r.name for r in third.slos] == [f"slo-{i:03d}" for i in range(200, 250)]
    assert third.matching_slos == 250 and third.pages == 3
    page = pages.overview_page(third, scope="s")
    assert 'rel="prev" href="./?page=2"' in page and 'rel="next"' not in page
    assert "(showing 201-250)" in page
    # Changing the sort or a filter goes back to the first page.
    assert model.Filters(page=3).query(sort="burn") == {"sort": "burn"}


class Collector(html.parser.HTMLParser):
    """Every start tag with its attributes, and the text; fails on a tag left open."""

    VOID = {"meta", "link", "input", "br", "img", "rect", "path", "line", "circle"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.open and self.open[-1] == tag, (tag, self.open[-5:])
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Collector:
    collector = Collector()
    collector.feed(page)
    collector.close()
    assert collector.open == [], collector.open
    return collector


def test_overview_page_is_well_formed_and_self_contained() -> None:
    slos, slas = fleet()
    page = pages.overview_page(overview(slos, slas, model.Filters()), scope="all namespaces")
    found = parse(page)
    for tag, attrs in found.tags:
        for name in ("src", "href"):
            target = attrs.get(name)
            if target:
                assert "://" not in target and not target.startswith("//"), (tag, target)
        assert "style" not in attrs, (tag, attrs)  # the CSP forbids inline styles
    assert "<script>" not in page  # only the served ui.js, no inline script
    links = [a["href"] for t, a in found.tags if t == "a" and a.get("href")]
    assert "slo/shop/chatbot-latency" in links
    assert "sla/shop/acme-store" in links
    text = " ".join(found.text)
    assert "-12.5%" in text and "4.25" in text


def test_user_text_is_escaped() -> None:
    body = with_status(examples()["checkout-availability"], sli=99.0)
    body["spec"]["description"] = '<img src=x onerror="alert(1)">'
    page = pages.overview_page(overview([body], [], model.Filters()), scope="s")
    assert "<img" not in page and "&lt;img src=x" in page
    resource = validation.parse_resource(copy.deepcopy(body))
    detail = pages.slo_page(body, resource, [], pages.SloExtras(), [], scope="s")  # type: ignore[arg-type]
    assert "<img" not in detail and "&lt;img src=x" in detail


def test_slo_page_shows_the_status_fields() -> None:
    body = examples()["chatbot-latency"]
    body["status"] = full_status.wire(full_status.SLO_STATUS)
    resource = validation.parse_resource(copy.deepcopy(body))
    page = pages.slo_page(
        body, resource, [], pages.SloExtras(alerts=[]), [("shop", "acme-store")], scope="s"
    )  # type: ignore[arg-type]
    parse(page)
    status = body["status"]
    assert f'data-field="sli">{status["sli"]}%' in page
    for objective in status["objectives"]:
        assert f'data-objective="{objective["name"]}"' in page
    for condition in status["conditions"]:
        assert f'data-condition="{condition["type"]}"' in page
    assert status["rules"]["name"] in page
    assert "SLOErrorBudgetBurnPage" in page  # generated rule names
    assert "Charts unavailable" in page  # no series given: said so, nothing drawn
    assert "No alert of this SLO is firing." in page
    assert 'href="../../sla/shop/acme-store"' in page
    # The manifest, not the object: no annotations (kopf's, or anyone's) reach the page.
    shown = pages.manifest_yaml(
        {**body, "metadata": {**body["metadata"], "annotations": {"a": "kept-out"}}}
    )
    assert "kept-out" not in shown and "runbook_url" in shown


def test_slo_page_draws_the_report_series() -> None:
    body = examples()["checkout-availability"]
    body["status"] = {"sli": 99.9, "windowStart": "2026-11-26T10:00:00Z"}
    resource = validation.parse_resource(copy.deepcopy(body))
    start = 1_800_000_000.0
    times = tuple(start + 3600 * k for k in range(5))
    report = report_model.SloReport(
        namespace="shop", name="checkout-availability", service="checkout", window="30d",
        primary_objective="standard", status=body["status"], chart_start=start,
        chart_end=times[-1],
        budget_curves=(report_model.BudgetCurve("standard", 99.9, times, (0, 1, 2, 3, 4), 1e4,
                                                (100.0, 90.0, float("nan"), 70.0, 60.0)),),
        burn_rates=(report_model.BurnRateCurve("1h", times[1:], (1.0, 2.0, 3.0, 0.5)),),
        policy_steps=(),
    )  # fmt: skip
    page = pages.slo_page(body, resource, [], pages.SloExtras(report=report), [], scope="s")  # type: ignore[arg-type]
    parse(page)
    paths = re.findall(r'<path class="line series-\d" d="([^"]*)" data-points="(\d+)"', page)
    assert [points for _, points in paths] == ["4", "4"]
    # The NaN breaks the burn-down into two pieces: two moves.
    assert paths[0][0].count("M") == 2


def test_chart_scales_into_the_plot() -> None:
    svg = charts.line_chart(
        "t", [charts.Line("a", (0.0, 10.0), (0.0, 100.0))], start=0, end=10, unit="%"
    )
    (d,) = re.findall(r' d="([^"]*)"', svg)
    (x0, y0), (x1, y1) = [tuple(map(float, p[1:].split(","))) for p in d.split()]
    assert x0 == charts.LEFT and x1 == charts.WIDTH - charts.RIGHT
    assert charts.TOP <= y1 < y0 <= charts.HEIGHT - charts.BOTTOM


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (-960.6, 100.0, [-1000, -750, -500, -250, 0, 250]),
        (0.0, 12.39, [0, 2.5, 5, 7.5, 10, 12.5]),
        (99.1, 99.9, [99.0, 99.2, 99.4, 99.6, 99.8, 100.0]),
        (1.0, 1.0, [0.0, 0.5, 1.0, 1.5, 2.0]),
    ],
)
def test_chart_ticks_are_round_and_cover_the_data(
    low: float, high: float, ticks: list[float]
) -> None:
    assert charts.nice_ticks(low, high, charts.Y_TICKS) == ticks


def test_sla_page_commitments_backing_exclusions_history() -> None:
    bodies = examples()
    sla_body = bodies["acme-store"]
    sla_body["status"] = full_status.wire(full_status.SLA_STATUS)
    resource = validation.parse_resource(copy.deepcopy(sla_body))
    specs = {}
    for commitment in resource.spec.commitments:  # type: ignore[union-attr]
        name = commitment.slo_ref.name
        if name in bodies:
            specs[name] = validation.parse_resource(copy.deepcopy(bodies[name])).spec  # type: ignore[union-attr]
    now = datetime.datetime(2026, 11, 27, 10, tzinfo=datetime.UTC)
    page = pages.sla_page(sla_body, resource, [], specs, now, scope="s")  # type: ignore[arg-type]
    parse(page)
    current = sla_body["status"]["currentPeriod"]
    assert f'data-field="attainment">{current["attainment"]}%' in page
    assert f'data-field="coverage">{current["coverage"]}%' in page
    assert 'data-field="low-coverage"' not in page
    low = copy.deepcopy(sla_body)
    low["status"]["history"][0].update(coverage=42.85, lowCoverage=True)
    low_page = pages.sla_page(low, resource, [], specs, now, scope="s")  # type: ignore[arg-type]
    assert (
        'data-field="coverage">42.85% <span class="cond-False" data-field="low-coverage">'
        in low_page
    )
    for commitment in resource.spec.commitments:  # type: ignore[union-attr]
        assert f'data-commitment="{commitment.name}"' in page
        assert f'href="../../slo/shop/{commitment.slo_ref.name}"' in page
    assert "backed" in page
    spans = int(re.search(r'data-spans="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert spans == len(re.findall(r'<rect class="excluded"', page)) > 0
    assert (
        len(re.findall(r"<tr>", page.split('id="history"')[1].split("</table>")[0]))
        == len(sla_body["status"]["history"]) + 1
    )


# --- the server ---------------------------------------------------------------------------


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[str]:
    backends = getattr(request, "param", None)
    objects = registry.Registry()
    slos, slas = fleet()
    for body in slos:
        objects.upsert("ServiceLevelObjective", body)
    for body in slas:
        objects.upsert("ServiceLevelAgreement", body)
    loop = asyncio.new_event_loop()
    app = server.build_app(objects, backends, scope="namespace shop")
    port = _free_port()
    runner = loop.run_until_complete(server.start(app, "127.0.0.1", port))
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, method=method, data=b"x" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_server_serves_pages_read_only(served: str) -> None:
    status, headers, page = fetch(served + "/")
    assert status == 200 and "chatbot-latency" in page
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    status, _, page = fetch(served + "/slo/shop/chatbot-latency")
    assert status == 200
    # No backend configured: the page says so instead of drawing anything.
    assert "no metrics backend configured" in page
    assert fetch(served + "/sla/shop/acme-store")[0] == 200
    assert fetch(served + "/static/ui.css")[1]["Content-Type"].startswith("text/css")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert fetch(served + "/", method)[0] == 405, method
        assert fetch(served + "/slo/shop/chatbot-latency", method)[0] == 405, method


def _closed_port_backend() -> backend_config.Backends:
    return backend_config.Backends(
        [backend_config.BackendConfig(name="default", url=f"http://127.0.0.1:{_free_port()}")]
    )


@pytest.mark.parametrize("served", [_closed_port_backend()], indirect=True)
def test_a_failing_backend_gives_a_note_not_a_chart(served: str) -> None:
    status, _, page = fetch(served + "/slo/shop/chatbot-latency")
    assert status == 200
    assert "Charts unavailable: backend &#x27;default&#x27; unavailable" in page
    assert "Alerts unavailable: backend &#x27;default&#x27; unavailable" in page
    assert "<path" not in page
    # The status' own numbers are still shown.
    assert 'data-field="sli">99.1%' in page


@pytest.mark.parametrize(
    ("path", "code", "says"),
    [
        ("/slo/shop/nope", 404, "no ServiceLevelObjective shop/nope in scope"),
        ("/sla/other/acme-store", 404, "no ServiceLevelAgreement other/acme-store"),
        ("/?state=sad", 400, "query parameter &#x27;state&#x27;"),
        ("/static/..%2Fpages.py", 404, ""),
        ("/static/layout.html", 404, ""),
    ],
)
def test_server_errors_say_why(served: str, path: str, code: int, says: str) -> None:
    status, _, page = fetch(served + path)
    assert status == code
    assert says in page
