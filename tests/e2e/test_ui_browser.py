"""The web UI in a real headless Chromium (Debian's `chromium`, driven by Selenium through
Debian's `chromium-driver`), against a real control plane, the operator as a process with its
UI port on, and a real Prometheus holding 36 backfilled hours of the examples' traffic.

Every page is opened, every filter used, every link followed; the numbers on the pages must be
the resources' status as `kubectl get -o json` shows it; the charts must be drawn from the
backend's series; the browser console must stay free of errors. `slo-operator ui` (the verb) is
checked against the same cluster, including a change arriving through its watch. Screenshots of
each page are saved in the test's tmp folder (docs/ui-*.png are copies of them).
"""

from __future__ import annotations

import base64
import copy
import os
import pathlib
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from slo_operator.api import validation
from slo_operator.rules import render
from support import example_data
from support import manifests as manifests_module
from support.waiting import wait_for
from testkit import backfill, controlplane, operator_process, prometheus, synthetic

pytestmark = pytest.mark.timeout(900)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INTERVAL = 2.0
STRICT = "checkout-strict"


def example_manifests(namespace: str) -> list[dict[str, Any]]:
    """The examples, and an SLO too strict for the traffic: its budget is spent."""
    bodies = manifests_module.example_bodies(namespace=namespace)
    strict = copy.deepcopy(
        next(b for b in bodies if b["metadata"]["name"] == "checkout-availability")
    )
    strict["metadata"]["name"] = STRICT
    strict["spec"].update(
        window="1d",
        description="Deliberately too strict: its budget is spent",
        objectives=[{"name": "strict", "target": 99.99}],
        errorBudgetPolicy=[
            {"name": "warn", "whenConsumedPercent": 50, "actions": [{"type": "Event"}]},
            {"name": "freeze", "whenConsumedPercent": 100, "actions": [{"type": "ReleaseFreeze"}]},
        ],
    )
    strict["spec"].pop("primaryObjective", None)
    strict["spec"].pop("groupBy", None)
    return [*bodies, strict]


@pytest.fixture(scope="module")
def ui_namespace(control_plane: controlplane.ControlPlane) -> Iterator[str]:
    name = control_plane.create_namespace(f"ui-{secrets.token_hex(3)}")
    yield name
    control_plane.delete_namespace(name)


@pytest.fixture(scope="module")
def manifests(ui_namespace: str) -> list[dict[str, Any]]:
    return example_manifests(ui_namespace)


@pytest.fixture(scope="module")
def live_prometheus(
    manifests: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[prometheus.PrometheusServer]:
    """36 backfilled hours (raw and recorded) ending now; the live server keeps the rules on."""
    folder = tmp_path_factory.mktemp("ui-prometheus")
    now = int(time.time())
    end = now - now % 30 - 60
    data = synthetic.generate(example_data.examples_scenario(end, seed=16))
    tsdb = folder / "tsdb"
    backfill.backfill_synthetic(data, tsdb, work_dir=folder)
    slos = [
        validation.parse_resource(copy.deepcopy(body))
        for body in manifests
        if body["kind"] == "ServiceLevelObjective"
    ]
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(render.render_rule_file(slos), sort_keys=False))
    with prometheus.PrometheusServer(tsdb, work_dir=folder / "backfill") as server:
        backfill.backfill_rules([rule_file], data.scenario.start + 600, end, server)
    with prometheus.PrometheusServer(
        tsdb, work_dir=folder / "live", rule_files=[rule_file]
    ) as live:
        yield live


@pytest.fixture(scope="module")
def operator(
    control_plane: controlplane.ControlPlane,
    live_prometheus: prometheus.PrometheusServer,
    ui_namespace: str,
    manifests: list[dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[operator_process.OperatorProcess, str]]:
    process = operator_process.OperatorProcess(
        [
            f"--namespace={ui_namespace}",
            f"--prometheus-url={live_prometheus.url}",
            f"--evaluation-interval={INTERVAL}",
        ],
        kubeconfig=control_plane.kubeconfig,
        webhook=False,
        log_dir=tmp_path_factory.mktemp("ui-operator"),
        ui=True,
    )
    process.start()
    for body in manifests:
        control_plane.apply(body)
    try:
        yield process, f"http://127.0.0.1:{process.ui_port}"
    finally:
        process.stop()


def statuses(plane: controlplane.ControlPlane, namespace: str) -> dict[tuple[str, str], Any]:
    found = {}
    for kind in ("slo", "sla"):
        for item in plane.kubectl_json("get", kind, "-n", namespace)["items"]:
            found[(item["kind"], item["metadata"]["name"])] = item
    return found


@pytest.fixture(scope="module")
def evaluated(
    control_plane: controlplane.ControlPlane,
    operator: tuple[operator_process.OperatorProcess, str],
    ui_namespace: str,
    manifests: list[dict[str, Any]],
) -> None:
    """Every SLO has numbers and a window start, the SLA a current period."""

    def ready() -> bool:
        found = statuses(control_plane, ui_namespace)
        if len(found) != len(manifests):
            return False
        for (kind, _), item in found.items():
            status = item.get("status") or {}
            if kind == "ServiceLevelObjective" and not (
                status.get("sli") and status.get("windowStart")
            ):
                return False
            if kind == "ServiceLevelAgreement" and not (status.get("currentPeriod") or {}).get(
                "attainment"
            ):
                return False
        return True

    wait_for(ready, 120, "numbers on every example")


def consistent(
    plane: controlplane.ControlPlane, namespace: str, load: Callable[[], None]
) -> dict[tuple[str, str], Any]:
    """The statuses as the page was built from them: read before and after `load`, retried
    while an evaluation cycle changed a status in between (the live Prometheus moves on)."""
    for _ in range(10):
        before = statuses(plane, namespace)
        load()
        after = statuses(plane, namespace)
        if {k: v.get("status") for k, v in before.items()} == {
            k: v.get("status") for k, v in after.items()
        }:
            return after
        time.sleep(0.5)
    raise AssertionError("the statuses kept changing while the page loaded")


class Browser:
    """Chromium through chromedriver, with the console log and screenshots at hand."""

    def __init__(self, driver: WebDriver, shots: pathlib.Path) -> None:
        self.driver = driver
        self.shots = shots

    def open(self, url: str) -> None:
        self.driver.get(url)
        wait_for(
            lambda: self.driver.execute_script("return document.readyState") == "complete",
            20,
            f"{url} loaded",
        )

    def keys(self, *keys: str) -> None:
        """Keys typed into whatever has the focus, as a user would."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def arrived(self, predicate: Callable[[dict[str, str]], bool], what: str) -> None:
        """Wait for a navigation (a submitted form, a followed link) to land and load."""
        wait_for(
            lambda: (
                predicate(self.query)
                and self.driver.execute_script("return document.readyState") == "complete"
            ),
            15,
            what,
        )

    def css(self, selector: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, selector))

    def text(self, selector: str) -> str:
        return str(self.css(selector).text)

    def console_errors(self) -> list[dict[str, Any]]:
        return [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def shot(self, name: str) -> pathlib.Path:
        """The whole page as a PNG (Chromium's own full-page capture, beyond the viewport)."""
        path = self.shots / f"ui-{name}.png"
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        captured = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        path.write_bytes(base64.b64decode(captured["data"]))
        assert path.stat().st_size > 10_000, path
        return path

    @property
    def query(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.driver.current_url).query))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
    ):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    profile = tmp_path_factory.mktemp("chromium-profile")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield Browser(driver, tmp_path_factory.mktemp("ui-screenshots"))
    finally:
        driver.quit()


def percent(value: Any) -> str:
    text = repr(float(value))
    return (text[:-2] if text.endswith(".0") else text) + "%"


def test_overview_shows_the_status_of_every_object(
    control_plane: controlplane.ControlPlane,
    operator: tuple[operator_process.OperatorProcess, str],
    evaluated: None,
    ui_namespace: str,
    browser: Browser,
) -> None:
    _, url = operator
    found = consistent(control_plane, ui_namespace, lambda: browser.open(url + "/"))
    assert browser.driver.title.startswith("Service levels")
    slos = {name: item for (kind, name), item in found.items() if kind == "ServiceLevelObjective"}
    slas = {name: item for (kind, name), item in found.items() if kind == "ServiceLevelAgreement"}
    assert browser.text("#total-slos") == str(len(slos))
    assert browser.text("#total-slas") == str(len(slas))
    rows = browser.all("#slo-table tbody tr")
    assert sorted(r.get_attribute("data-name") for r in rows) == sorted(slos)
    for row in rows:
        status = slos[row.get_attribute("data-name")]["status"]
        cells = {
            c.get_attribute("data-field"): c.text
            for c in row.find_elements(By.CSS_SELECTOR, "td[data-field]")
        }
        assert cells["sli"] == percent(status["sli"])
        assert cells["budget"] == percent(status["errorBudgetRemainingPercent"])
        assert cells["target"] == percent(status["target"])
        assert cells["burn"] == percent(max(status["burnRates"].values()))[:-1]
        bars = row.find_elements(By.CSS_SELECTOR, "ul.bars li")
        assert [b.get_attribute("data-objective") for b in bars] == [
            o["name"] for o in slos[row.get_attribute("data-name")]["spec"]["objectives"]
        ]
        for bar in bars:
            measured = next(
                o for o in status["objectives"] if o["name"] == bar.get_attribute("data-objective")
            )
            shown = bar.find_element(By.CSS_SELECTOR, "[data-field=objective-budget]").text
            assert shown == percent(measured["errorBudgetRemainingPercent"])
            assert bar.find_element(By.CSS_SELECTOR, "svg.bar rect.fill").size["width"] >= 0
    # Default order: remaining budget, lowest first.
    budgets = [
        slos[r.get_attribute("data-name")]["status"]["errorBudgetRemainingPercent"] for r in rows
    ]
    assert budgets == sorted(budgets)
    assert rows[0].get_attribute("data-name") == STRICT
    assert rows[0].get_attribute("data-state") == "exhausted"
    (sla_row,) = browser.all("#sla-table tbody tr")
    sla_status = slas[sla_row.get_attribute("data-name")]["status"]
    assert sla_row.find_element(By.CSS_SELECTOR, "[data-field=attainment]").text == percent(
        sla_status["currentPeriod"]["attainment"]
    )
    assert browser.console_errors() == []
    browser.shot("overview")


def exhausted_slos(plane: controlplane.ControlPlane, namespace: str) -> list[str]:
    """SLOs whose ErrorBudgetExhausted is True (and neither Stalled nor without data)."""
    found = []
    for (kind, name), item in statuses(plane, namespace).items():
        conditions = {c["type"]: c for c in item["status"].get("conditions") or []}
        if kind != "ServiceLevelObjective" or conditions["Stalled"]["status"] == "True":
            continue
        if conditions["Ready"]["reason"] == "NoData":
            continue
        if conditions.get("ErrorBudgetExhausted", {}).get("status") == "True":
            found.append(name)
    return sorted(found)


def test_overview_filters_sort_and_deep_links(
    control_plane: controlplane.ControlPlane,
    operator: tuple[operator_process.OperatorProcess, str],
    evaluated: None,
    ui_namespace: str,
    browser: Browser,
) -> None:
    _, url = operator
    browser.open(url + "/")
    # Choosing a state and applying: the URL is the deep link of the view.
    Select(browser.css("select[name=state]")).select_by_value("exhausted")
    browser.css("form.filters button[type=submit]").click()
    browser.arrived(lambda q: q.get("state") == "exhausted", "state in the URL")
    names = [r.get_attribute("data-name") for r in browser.all("#slo-table tbody tr")]
    exhausted = exhausted_slos(control_plane, ui_namespace)
    assert STRICT in exhausted
    assert sorted(names) == exhausted
    assert browser.text("#sla-table") == "No SLA matches these filters."
    browser.css("a.clear").click()
    browser.arrived(lambda q: q == {}, "filters cleared")
    # Service, then free text typed after "/" (the search key), submitted with Enter.
    Select(browser.css("select[name=service]")).select_by_value("chatbot")
    browser.css("form.filters button[type=submit]").click()
    browser.arrived(lambda q: q.get("service") == "chatbot", "service in the URL")
    assert [r.get_attribute("data-name") for r in browser.all("#slo-table tbody tr")] == [
        "chatbot-latency"
    ]
    browser.open(url + "/")
    browser.keys("/")
    assert browser.driver.switch_to.active_element.get_attribute("id") == "search"
    browser.keys("catalog", Keys.ENTER)
    browser.arrived(lambda q: q.get("q") == "catalog", "q in the URL")
    assert sorted(r.get_attribute("data-name") for r in browser.all("#slo-table tbody tr")) == [
        "catalog-availability-monthly", "catalog-uptime",
    ]  # fmt: skip
    # Counts link to their state's view.
    browser.open(url + "/")
    browser.css("a[data-count=exhausted]").click()
    browser.arrived(lambda q: q.get("state") == "exhausted", "count link followed")
    shown = sorted(r.get_attribute("data-name") for r in browser.all("#slo-table tbody tr"))
    assert shown == exhausted_slos(control_plane, ui_namespace)
    # Sorting by burn rate from the column header.
    browser.open(url + "/")
    browser.css("a[data-sort=burn]").click()
    browser.arrived(lambda q: q.get("sort") == "burn", "sort in the URL")
    rates = [float(c.text) for c in browser.all("#slo-table tbody td[data-field=burn]")]
    assert rates == sorted(rates, reverse=True)
    # A deep link opens with its filters chosen; a namespace filter that matches nothing says so.
    browser.open(url + "/?" + urllib.parse.urlencode({"namespace": ui_namespace, "sort": "name"}))
    assert (
        Select(browser.css("select[name=namespace]")).first_selected_option.get_attribute("value")
        == ui_namespace
    )
    names = [r.get_attribute("data-name") for r in browser.all("#slo-table tbody tr")]
    assert names == sorted(names)
    browser.open(url + "/?namespace=nowhere")
    assert browser.text("#slo-table") == "No SLO matches these filters."
    browser.open(url + "/?state=sad")
    assert "query parameter 'state'" in browser.text("main")
    # A bad query is a 400, which Chromium logs as a failed resource: that one is expected.
    assert all("400" in e["message"] for e in browser.console_errors())


def test_slo_pages_numbers_charts_and_links(
    control_plane: controlplane.ControlPlane,
    operator: tuple[operator_process.OperatorProcess, str],
    live_prometheus: prometheus.PrometheusServer,
    evaluated: None,
    ui_namespace: str,
    browser: Browser,
) -> None:
    _, url = operator
    browser.open(url + "/")
    links = {a.text: a.get_attribute("href") for a in browser.all("#slo-table tbody th a")}
    assert len(links) == 5
    for name, href in sorted(links.items()):
        found = consistent(control_plane, ui_namespace, lambda href=href: browser.open(href))
        item = found[("ServiceLevelObjective", name)]
        status = item["status"]
        assert browser.css("h1").text.startswith(name)
        assert browser.text("dl.facts [data-field=sli]") == percent(status["sli"])
        for objective in status["objectives"]:
            row = browser.css(f'#objectives tr[data-objective="{objective["name"]}"]')
            cell = {
                c.get_attribute("data-field"): c.text
                for c in row.find_elements(By.CSS_SELECTOR, "td[data-field]")
            }
            assert cell["sli"] == percent(objective["sli"])
            assert cell["budget"] == percent(objective["errorBudgetRemainingPercent"])
            assert cell["remaining"] == objective["errorBudgetRemaining"]
            assert cell["met"] == ("yes" if objective["met"] else "no")
        shown_rates = {
            r.get_attribute("data-window"): r.find_element(By.CSS_SELECTOR, "td").text
            for r in browser.all("#burn-rates tbody tr")
        }
        assert shown_rates == {w: percent(v)[:-1] for w, v in status["burnRates"].items()}
        # Charts: drawn from the backend's series, one line per objective / alert window.
        assert browser.all("#chart-note") == []
        burn_down = browser.all("#burn-down svg.chart path.line")
        assert len(burn_down) == len(item["spec"]["objectives"])
        for path in burn_down:
            assert int(path.get_attribute("data-points")) > 10
            box = path.rect
            assert box["width"] > 300 and box["height"] > 0, box
        assert len(browser.all("#burn-rate-chart svg.chart path.line")) >= 2
        conditions = {
            r.get_attribute("data-condition") for r in browser.all("#conditions tbody tr")
        }
        assert conditions == {c["type"] for c in status["conditions"]}
        assert status["rules"]["name"] in browser.text("#rule-object")
        assert "SLOErrorBudgetBurnPage" in browser.text("#rule-names") or not item["spec"].get(
            "alerting", {}
        ).get("page", {}).get("enabled", True)
        if item["spec"].get("groupBy"):
            groups = browser.all("#groups tbody tr")
            assert len(groups) == len(status["groups"])
            budgets = [
                float(g.find_element(By.CSS_SELECTOR, "[data-field=budget]").text.rstrip("%"))
                for g in groups
            ]
            assert budgets == sorted(budgets)
        # Firing alerts: what the backend's ALERTS series says for this SLO (never "unavailable").
        assert "unavailable" not in browser.text("#alerts")
        browser.shot(f"slo-{name}")
    # The exhausted SLO: its policy steps are active and say when they were first reached; the
    # alerts firing in the backend before and after the page was built are on the page.
    alerts = f'ALERTS{{alertstate="firing",slo="{STRICT}",slo_namespace="{ui_namespace}"}}'
    before = {s.labels["alertname"] for s in live_prometheus.query(alerts, time.time())}
    browser.open(links[STRICT])
    after = {s.labels["alertname"] for s in live_prometheus.query(alerts, time.time())}
    for alert in before & after:
        assert alert in browser.text("#alerts")
    status = statuses(control_plane, ui_namespace)[("ServiceLevelObjective", STRICT)]["status"]
    assert status["policy"]["activeSteps"]
    for step in status["policy"]["activeSteps"]:
        row = browser.css(f'#policy tr[data-step="{step}"]')
        assert row.find_element(By.CSS_SELECTOR, "[data-field=active]").text == "active"
        assert row.find_element(By.CSS_SELECTOR, "time").get_attribute("datetime")
    # The manifest is the spec, without annotations.
    browser.css("#manifest summary").click()
    manifest = yaml.safe_load(browser.text("#manifest pre"))
    assert manifest["spec"]["objectives"] == [{"name": "strict", "target": 99.99}]
    assert "annotations" not in manifest["metadata"]
    browser.shot("slo-detail")
    # Breadcrumb back to the namespace's overview.
    browser.all(".crumbs a")[1].click()
    browser.arrived(lambda q: q.get("namespace") == ui_namespace, "breadcrumb followed")
    assert browser.console_errors() == []


def test_sla_page(
    control_plane: controlplane.ControlPlane,
    operator: tuple[operator_process.OperatorProcess, str],
    evaluated: None,
    ui_namespace: str,
    browser: Browser,
) -> None:
    _, url = operator
    browser.open(url + "/")
    browser.css("#sla-table tbody th a").click()
    wait_for(lambda: "/sla/" in browser.driver.current_url, 10, "SLA page")
    sla_url = browser.driver.current_url
    found = consistent(control_plane, ui_namespace, lambda: browser.open(sla_url))
    item = found[("ServiceLevelAgreement", "acme-store")]
    current = item["status"]["currentPeriod"]
    assert browser.text("dl.facts [data-field=attainment]") == percent(current["attainment"])
    assert browser.text("dl.facts [data-field=credit]") == percent(current["creditPercent"])
    assert browser.text("dl.facts [data-field=coverage]") == percent(current["coverage"])
    for commitment in current["commitments"]:
        row = browser.css(f'#commitments tr[data-commitment="{commitment["name"]}"]')
        assert row.find_element(By.CSS_SELECTOR, "[data-field=attainment]").text == percent(
            commitment["attainment"]
        )
        assert row.find_element(By.CSS_SELECTOR, "[data-field=projected]").text == percent(
            commitment["projected"]
        )
        assert row.find_element(By.CSS_SELECTOR, "[data-field=coverage]").text == percent(
            commitment["coverage"]
        )
        assert row.find_element(By.CSS_SELECTOR, "[data-field=backed]").text == "backed"
    unbacked = next(c for c in item["status"]["conditions"] if c["type"] == "Unbacked")
    assert unbacked["status"] == "False"
    # Maintenance: the weekly Sunday window (4-5 in a month) and the December freeze.
    timeline = browser.css("svg.timeline")
    spans = int(timeline.get_attribute("data-spans"))
    assert spans == len(browser.all("svg.timeline rect.excluded")) >= 4
    history = item["status"].get("history") or []
    assert len(browser.all("#history tbody tr")) == len(history)
    browser.shot("sla-detail")
    # The commitment's SLO link leads to its page.
    browser.css("#commitments tbody a").click()
    wait_for(
        lambda: browser.driver.current_url.endswith(
            "/slo/" + ui_namespace + "/checkout-availability"
        ),
        10,
        "SLO link",
    )
    assert browser.console_errors() == []


def test_theme_keyboard_and_print(
    operator: tuple[operator_process.OperatorProcess, str],
    evaluated: None,
    browser: Browser,
) -> None:
    _, url = operator
    background_js = "return getComputedStyle(document.body).backgroundColor"
    # No choice made yet: the system's preference decides.
    browser.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    browser.open(url + "/")
    system_dark = browser.driver.execute_script(background_js)
    browser.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "light"}]},
    )
    browser.open(url + "/")
    assert browser.driver.execute_script(background_js) != system_dark
    browser.keys("t")  # the theme key
    assert browser.driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    assert browser.driver.execute_script(background_js) == system_dark
    browser.open(url + "/")  # kept across pages
    assert browser.driver.execute_script("return document.documentElement.dataset.theme") == "dark"
    assert browser.css("#theme-toggle").get_attribute("aria-pressed") == "true"
    browser.shot("overview-dark")
    browser.css("#theme-toggle").click()
    assert browser.driver.execute_script("return document.documentElement.dataset.theme") == "light"
    # Keyboard: the first Tab lands on the skip link, which moves focus to the content.
    browser.open(url + "/")
    browser.keys(Keys.TAB)
    active = browser.driver.switch_to.active_element
    assert active.get_attribute("class") == "skip"
    active.send_keys(Keys.ENTER)
    assert browser.driver.switch_to.active_element.get_attribute("id") == "main"
    # Print: no controls, the tables stay.
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.css("form.filters").is_displayed()
    assert not browser.css("#theme-toggle").is_displayed()
    assert browser.css("#slo-table").is_displayed()
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})
    assert browser.console_errors() == []


def _fetch(url: str, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method != "GET" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_read_only(
    operator: tuple[operator_process.OperatorProcess, str], ui_namespace: str
) -> None:
    _, url = operator
    for path in ("/", f"/slo/{ui_namespace}/{STRICT}", f"/sla/{ui_namespace}/acme-store"):
        assert _fetch(url + path) == 200
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert _fetch(url + path, method) == 405, (path, method)


def test_ui_verb_serves_the_cluster_and_follows_changes(
    control_plane: controlplane.ControlPlane,
    live_prometheus: prometheus.PrometheusServer,
    operator: tuple[operator_process.OperatorProcess, str],
    evaluated: None,
    ui_namespace: str,
    manifests: list[dict[str, Any]],
    browser: Browser,
    tmp_path: pathlib.Path,
) -> None:
    port = operator_process.free_port()
    log = (tmp_path / "ui.log").open("w")
    process = subprocess.Popen(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "ui", "--port", str(port),
            "-n", ui_namespace, "--prometheus-url", live_prometheus.url,
        ],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "KUBECONFIG": str(control_plane.kubeconfig)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _fetch_ok(url + "/healthz"), 60, "slo-operator ui listening")
        found = consistent(control_plane, ui_namespace, lambda: browser.open(url + "/"))
        assert browser.text("#total-slos") == str(
            sum(1 for kind, _ in found if kind == "ServiceLevelObjective")
        )
        assert f"namespace {ui_namespace}" in browser.text(".scope")
        browser.open(url + f"/slo/{ui_namespace}/chatbot-latency")
        status = found[("ServiceLevelObjective", "chatbot-latency")]["status"]
        # The status may have moved on by a cycle; the page shows the cache's newest value.
        current = control_plane.kubectl_json("get", "slo", "chatbot-latency", "-n", ui_namespace)[
            "status"
        ]
        assert browser.text("dl.facts [data-field=sli]") in (
            percent(status["sli"]),
            percent(current["sli"]),
        )
        assert len(browser.all("#burn-down svg.chart path.line")) == 3
        # A new SLO appears through the watch, a deleted one disappears.
        extra = copy.deepcopy(
            next(m for m in manifests if m["metadata"]["name"] == "catalog-uptime")
        )
        extra["metadata"]["name"] = "catalog-uptime-copy"
        control_plane.apply(extra)

        def listed() -> list[str]:
            browser.open(url + "/?q=catalog-uptime-copy")
            return [r.get_attribute("data-name") for r in browser.all("#slo-table tbody tr")]

        wait_for(lambda: listed() == ["catalog-uptime-copy"], 20, "new SLO listed by the verb")
        control_plane.kubectl("delete", "slo", "catalog-uptime-copy", "-n", ui_namespace)
        wait_for(lambda: listed() == [], 20, "deleted SLO gone")
        assert browser.console_errors() == []
    finally:
        process.terminate()
        process.wait(20)
        log.close()
    assert process.returncode == 0, (tmp_path / "ui.log").read_text()


def _fetch_ok(url: str) -> bool:
    try:
        return _fetch(url) == 200
    except (urllib.error.URLError, ConnectionError):
        return False


def test_ui_verb_says_why_it_cannot_start(tmp_path: pathlib.Path) -> None:
    broken = tmp_path / "kubeconfig"
    broken.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    completed = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "slo-operator"), "ui", "--port", "1", "-A"],
        capture_output=True, text=True, timeout=60, check=False,
        env={"KUBECONFIG": str(broken), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert completed.returncode != 0
    assert "slo-operator ui:" in completed.stderr
    assert re.search(r"no cluster to read from|cannot list|--port", completed.stderr)
