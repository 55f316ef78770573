"""`make demo` end to end, as a user runs it, and `make demo-down` after it.

The demo runs in its own state folders (`SLO_OPERATOR_DEMO_DIR`, `SLO_OPERATOR_CLUSTER_DIR`), so
a developer's own demo or `make cluster-up` is left alone. The printed `kubectl get slo,sla -A`
must show numbers for every example, and one of them must equal what the demo's Prometheus holds
in the recorded series the operator reads: measured from the shop's metrics, not made up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from e2e.helm_chart import Helm
from support import paths

SLOS = (
    "catalog-availability-monthly",
    "catalog-uptime",
    "chatbot-latency",
    "checkout-availability",
)

# The binaries are built before the first test (conftest, via the `helm` fixture), so the
# timeout covers the demo itself: ~1 minute warm, the supervisor's and the wait's limits inside.
pytestmark = pytest.mark.timeout(600)


def run_make(target: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", target],
        cwd=paths.REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def table_rows(output: str) -> dict[str, dict[str, str]]:
    """The SLO rows of the printed `kubectl get slo,sla -A`, by name, keyed by column."""
    lines = output.split("$ kubectl get slo,sla -A\n", 1)[1].splitlines()
    header = lines[0].split()
    rows: dict[str, dict[str, str]] = {}
    for line in lines[1:]:
        if not line.strip():
            break
        row = dict(zip(header, line.split(), strict=True))
        rows[row["NAME"].rpartition("/")[2]] = row
    return rows


def query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    url = f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as response:
        result: list[dict[str, Any]] = json.load(response)["data"]["result"]
    return result


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_make_demo_shows_measured_numbers_and_demo_down_stops_everything(
    helm: Helm, tmp_path: Path
) -> None:
    demo_dir, cluster_dir = tmp_path / "demo", tmp_path / "cluster"
    env = {
        **os.environ,
        "SLO_OPERATOR_DEMO_DIR": str(demo_dir),
        "SLO_OPERATOR_CLUSTER_DIR": str(cluster_dir),
    }
    began = time.monotonic()
    up = run_make("demo", env, timeout=480)
    seconds = time.monotonic() - began
    try:
        assert up.returncode == 0, up.stderr[-4000:] + up.stdout[-4000:]
        print(f"make demo took {seconds:.0f}s")
        assert "one-time build takes ~8-13 minutes" in up.stderr
        assert "waiting for" in up.stderr, "the wait for numbers shows progress"

        rows = table_rows(up.stdout)
        assert set(SLOS) <= set(rows), rows
        for name in SLOS:
            assert re.fullmatch(r"\d+(\.\d+)?", rows[name]["SLI"]), rows[name]
            assert re.fullmatch(r"-?\d+(\.\d+)?", rows[name]["BUDGET"]), rows[name]
            assert rows[name]["READY"] == "True", rows[name]
        assert re.search(r"acme-store +acme-store +Month +\d+(\.\d+)? ", up.stdout), up.stdout
        for hint in ("export KUBECONFIG=", "export PATH=", "kubectl describe", "make demo-down"):
            assert hint in up.stdout

        # The report of the shop, read from the cluster: one section per example SLO, charts
        # embedded.
        printed = re.search(r"Report: +(\S+)", up.stdout)
        assert printed, "the demo prints where the report was written"
        report = Path(printed.group(1))
        page = report.read_text()
        for name in SLOS:
            assert f"<h2>SLO shop/{name}</h2>" in page, name
        assert "<h2>SLA shop/acme-store" in page
        assert page.count('src="data:image/png;base64,') == 2 * len(SLOS)
        assert (report.parent / "README.md").exists()

        # The web UI the summary points at: the operator's own port, every example listed.
        ui = re.search(r"Web UI: +(http://\S+)", up.stdout)
        assert ui, "the demo prints the web UI's URL"
        with urllib.request.urlopen(ui.group(1), timeout=30) as response:
            overview = response.read().decode()
        for name in SLOS:
            assert f'data-name="{name}"' in overview, name
        assert 'data-name="acme-store"' in overview

        ready = json.loads((demo_dir / "ready.json").read_text())
        prometheus_url = ready["prometheus_url"]
        assert f"Prometheus:        {prometheus_url}" in up.stdout
        # The chatbot's standard objective (200ms) over its 1d window, from the recorded sums.
        series = {
            item["metric"]["__name__"]: float(item["value"][1])
            for item in query(
                prometheus_url,
                '{__name__=~"slo:sli_(bad|total):sum", slo="chatbot-latency", slo_window="1d",'
                ' slo_threshold=~"200ms|"}',
            )
        }
        measured = 100 * (1 - series["slo:sli_bad:sum"] / series["slo:sli_total:sum"])
        shown = float(rows["chatbot-latency"]["SLI"])
        # The table was printed a few seconds earlier; a day's SLI moves far less than 0.05 pp.
        assert abs(measured - shown) < 0.05, (measured, shown)
        assert 90 < shown < 100
        # The shop's raw series are scraped live, tenants and all.
        tenants = query(prometheus_url, 'count by (tenant) (http_requests_total{job="checkout"})')
        assert {item["metric"]["tenant"] for item in tenants} == {"acme", "globex", "initech"}

        pids = [int(pid) for pid in ready["pids"].values()]
        supervisor = int((demo_dir / "supervisor.pid").read_text())
        control_plane = int((cluster_dir / "supervisor.pid").read_text())
        assert all(alive(pid) for pid in [*pids, supervisor, control_plane])
    finally:
        down = run_make("demo-down", env, timeout=180)
    assert down.returncode == 0, down.stderr
    assert "stopped the operator, Prometheus and the shop" in down.stderr
    for pid in [*pids, supervisor, control_plane]:
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid), f"pid {pid} still running after make demo-down"
    assert not demo_dir.exists() and not cluster_dir.exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{prometheus_url}/-/ready", timeout=2)
