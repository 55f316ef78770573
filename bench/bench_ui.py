"""Server time of the web UI's pages for 1,000 SLOs (and 100 SLAs).

    .venv/bin/python -m bench.bench_ui [--slos 1000]
    BENCH_ONLY=ui make bench                    # into docs/benchmarks.md

The UI's aiohttp application (the one `slo-operator run --ui-port` and `slo-operator ui` serve)
runs in this process over a registry of 1,000 SLO bodies with full statuses (the four shapes of
`examples/` in turn, 20 namespaces, three objectives, groups, policy) and 100 SLAs, as the watch
would deliver them. Each page is requested repeatedly over HTTP on 127.0.0.1; the server time is
measured by a middleware around the handler (what a page view costs the operator's event loop),
the client time around the request. SLO pages are measured without a backend (their charts come
from range queries cached per evaluation; that cost is the backend's, not the page's).
Results go to docs/benchmarks.md, section "Web UI page load". Target: 300 ms per page.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

import yaml
from aiohttp import web

from slo_operator.evaluation import registry
from slo_operator.ui import server

from . import summary_rows

REPO = pathlib.Path(__file__).resolve().parents[1]
SECTION = "## Web UI page load"
TARGET_MS = 300.0


def _examples() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    slos, sla = [], {}
    for path in sorted((REPO / "examples").glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if body and body["kind"] == "ServiceLevelObjective":
                slos.append(body)
            elif body:
                sla = body
    return slos, sla


def _condition(type_: str, status: str, reason: str) -> dict[str, str]:
    return {
        "type": type_, "status": status, "reason": reason, "message": f"{type_} {reason}",
        "lastTransitionTime": "2026-11-27T10:00:00Z",
    }  # fmt: skip


def fleet(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`count` SLO bodies with full statuses and count/10 SLAs on them."""
    shapes, sla_shape = _examples()
    slos = []
    for index in range(count):
        body = copy.deepcopy(shapes[index % len(shapes)])
        body["metadata"].update(name=f"slo-{index:05d}", namespace=f"team-{index % 20:02d}")
        body["spec"]["service"] = f"svc-{index % 97}"
        budget = 100.0 - (index * 7.3) % 130
        body["status"] = {
            "observedGeneration": 1,
            "conditions": [
                _condition("Ready", "True", "Evaluated"),
                _condition("Stalled", "False", "Reconciled"),
                _condition("ErrorBudgetExhausted", "True" if budget < 0 else "False", "Budget"),
            ],
            "rules": {"kind": "PrometheusRule", "name": f"slo-{index:05d}",
                      "recordingRules": 9, "alertingRules": 3},
            "lastEvaluationTime": "2026-11-27T10:00:00Z",
            "windowStart": "2026-11-26T10:00:00Z",
            "target": 99.0, "sli": 99.412, "errorBudgetRemainingPercent": round(budget, 1),
            "burnRates": {"5m": (index % 13) / 4, "1h": 1.3, "6h": 0.9, "1d": 1.1},
            "objectives": [
                {"name": o["name"], "target": o["target"], "sli": 99.412, "met": budget > 0,
                 "errorBudgetRemainingPercent": round(budget, 1),
                 "errorBudgetRemaining": "1234 events"}
                for o in body["spec"]["objectives"]
            ],
            "groups": [
                {"labels": {"tenant": f"t{k}"}, "sli": 98.7,
                 "errorBudgetRemainingPercent": k - 30.0}
                for k in range(5)
            ] if body["spec"].get("groupBy") else None,
        }  # fmt: skip
        body["status"] = {k: v for k, v in body["status"].items() if v is not None}
        slos.append(body)
    slas = []
    for index in range(count // 10):
        body = copy.deepcopy(sla_shape)
        namespace = f"team-{index % 20:02d}"
        body["metadata"].update(name=f"sla-{index:04d}", namespace=namespace)
        body["status"] = {
            "conditions": [
                _condition("Compliant", "True", "Met"), _condition("AtRisk", "False", "OnTrack"),
            ],
            "currentPeriod": {
                "start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z",
                "commitments": [{"name": "checkout-availability", "target": 99.5,
                                 "attainment": 99.71, "met": True, "projected": 99.64}],
                "attainment": 99.71, "creditPercent": 0,
            },
        }  # fmt: skip
        slas.append(body)
    return slos, slas


PAGES = (
    ("overview, every status changed since the last view", "/"),
    ("overview, nothing changed since the last view", "/"),
    ("overview, sorted by burn rate", "/?sort=burn"),
    ("overview, filtered (state + text)", "/?state=burning&q=svc-1"),
    ("SLO page", "/slo/team-03/slo-00003"),
    ("SLA page", "/sla/team-05/sla-0005"),
)


async def _measure(count: int, repeats: int) -> dict[str, Any]:
    objects = registry.Registry()
    slos, slas = fleet(count)
    for body in slos:
        objects.upsert("ServiceLevelObjective", body)
    for body in slas:
        objects.upsert("ServiceLevelAgreement", body)
    timings: list[float] = []

    @web.middleware
    async def timed(request: web.Request, handler: Any) -> web.StreamResponse:
        began = time.perf_counter()
        response: web.StreamResponse = await handler(request)
        timings.append(time.perf_counter() - began)
        return response

    app = server.build_app(objects, None, scope="all namespaces")
    app.middlewares.append(timed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    results = []
    for label, path in PAGES:
        url = f"http://127.0.0.1:{port}{path}"
        server_ms, client_ms, size = [], [], 0
        for attempt in range(repeats + 2):
            if label.startswith("overview, every status changed"):
                # As after an evaluation cycle that moved every number: each row is rebuilt.
                for body in slos:
                    objects.upsert("ServiceLevelObjective", body)
            timings.clear()
            began = time.perf_counter()
            body = await asyncio.to_thread(
                lambda url=url: urllib.request.urlopen(url, timeout=30).read()
            )
            elapsed = time.perf_counter() - began
            if attempt < 2:
                continue  # warm-up: imports, template and static caches
            server_ms.append(timings[0] * 1000)
            client_ms.append(elapsed * 1000)
            size = len(body)
        results.append({
            "page": label, "path": path, "bytes": size,
            "server_median_ms": statistics.median(server_ms),
            "server_p95_ms": sorted(server_ms)[max(0, round(0.95 * len(server_ms)) - 1)],
            "client_median_ms": statistics.median(client_ms),
        })  # fmt: skip
    await runner.cleanup()
    return {"slos": count, "slas": len(slas), "repeats": repeats, "pages": results}


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(count: int = 1000, repeats: int = 20) -> dict[str, Any]:
    """The pages' times, and when, where and at which commit they were measured."""
    measured = asyncio.run(_measure(count, repeats))
    measured["date"] = f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M}"
    measured["cores"] = os.cpu_count()
    measured["python"] = platform.python_version()
    measured["commit"] = _commit()
    measured["load"] = os.getloadavg()[0]
    return measured


def summary(measured: dict[str, Any]) -> list[dict[str, Any]]:
    """The slowest page against the target, for the page's summary table."""
    worst = max(measured["pages"], key=lambda page: page["server_p95_ms"])
    return [
        summary_rows.row(
            f"Web UI, {measured['slos']:,} SLOs: slowest page's server time (p95)",
            f"≤ {TARGET_MS:.0f} ms",
            f"{worst['server_p95_ms']:.1f} ms ({worst['page']})",
            worst["server_p95_ms"] / TARGET_MS,
            worst["server_p95_ms"] <= TARGET_MS,
        )
    ]


def render(measured: dict[str, Any]) -> str:
    rows = []
    for page in measured["pages"]:
        verdict = "met" if page["server_p95_ms"] <= TARGET_MS else "missed"
        rows.append(
            f"| {page['page']} | `{page['path']}` | {page['server_median_ms']:.1f} ms | "
            f"{page['server_p95_ms']:.1f} ms | {page['client_median_ms']:.1f} ms | "
            f"{page['bytes'] / 1024:.0f} KiB | {verdict} |"
        )
    return "\n".join([
        SECTION,
        "",
        f"`bench/bench_ui.py`: the web UI's pages with {measured['slos']} SLOs and "
        f"{measured['slas']} SLAs in the registry (full statuses, 20 namespaces, the shapes of "
        "`examples/`), served by the UI's own aiohttp application on 127.0.0.1. Server time is "
        "the handler's (registry to HTML, what a page view costs the operator's event loop), "
        f"measured by a middleware, {measured['repeats']} requests per page after two warm-ups; "
        "the overview builds its rows once per object change (first line: all 1,000 rebuilt) "
        "and shows 100 SLOs per page, with the counts of all; "
        "client time adds HTTP on the loopback. SLO pages without a backend: their chart series "
        "are range queries, cached per evaluation, whose cost is the backend's. Target: "
        f"{TARGET_MS:.0f} ms server time per page.",
        "",
        "    BENCH_ONLY=ui make bench",
        "",
        "| page | path | server median | server p95 | client median | size | ≤ 300 ms |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Measured {measured['date']} UTC on {measured['cores']} cores, Python "
        f"{measured['python']}, slo-operator {measured['commit']}; load average "
        f"(1 min) {measured['load']:.2f} at the end, other work included.",
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    measured = measure(args.slos, args.repeats)
    text = render(measured)
    print(text)
    worst = max(page["server_p95_ms"] for page in measured["pages"])
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
