"""A real Prometheus stopped and restarted while the service keeps counting errors.

Debian's Prometheus scrapes a small exporter in this process every 5s and evaluates our
recording rules (and the previous gap-blind level 1) every minute. It is stopped (SIGTERM) for
longer than its lookback; meanwhile the exporter counts errors. After the restart, the first
level-1 minute carries every event of the outage, exactly the counters' difference between the
last sample before the stop and the first after the restart; the gap-blind rule records nothing
for that minute.

The server runs with `--query.lookback-delta=1m`, so an outage of a little over 2 minutes is
already longer than the lookback and the test takes about 4 minutes instead of 8; the default
5m lookback with 10-minute outages is measured on backfilled data (test_scrape_gap.py).
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slo_operator.api import slo
from slo_operator.rules import model, recording, render, series
from support import rule_yaml
from testkit import prometheus

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

OUTAGE_SECONDS = 140
"""Longer than lookback (1m) + the rule's `offset 1m` + a scrape interval."""


class Exporter:
    """`http_requests_total{code}` counting 20 requests/s; `failing` makes a quarter fail."""

    def __init__(self) -> None:
        self.counts = {"200": 0, "500": 0}
        self.failing = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def render(self) -> str:
        with self._lock:
            lines = [
                f'http_requests_total{{code="{code}"}} {value}'
                for code, value in self.counts.items()
            ]
        return "# TYPE http_requests_total counter\n" + "\n".join(lines) + "\n"

    def _count(self) -> None:
        while not self._stop.wait(0.1):
            with self._lock:
                if self.failing:
                    self.counts["200"] += 1
                    self.counts["500"] += 1
                else:
                    self.counts["200"] += 2

    def __enter__(self) -> Exporter:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._count, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def _slo(name: str) -> slo.ServiceLevelObjective:
    return rule_yaml.slo_from(
        {
            "apiVersion": "slo.dev/v1alpha1",
            "kind": "ServiceLevelObjective",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {
                "service": "gapdemo",
                "indicator": {
                    "ratio": {
                        "errors": 'http_requests_total{job="gapdemo",code=~"5.."}',
                        "total": 'http_requests_total{job="gapdemo"}',
                    }
                },
                "window": "1d",
                "objectives": [{"name": "standard", "target": 99.5}],
            },
        }
    )


OURS = _slo("gapdemo")
BLIND = _slo("gapdemo-gap-blind")


def _level1_groups(resource: slo.ServiceLevelObjective) -> list[dict[str, object]]:
    groups = []
    level1 = {series.total_level1(resource.spec), series.bad_level1(resource.spec)}
    for group in render.render_rule_groups(resource):
        rules = tuple(
            r for r in group.rules if isinstance(r, model.RecordingRule) and r.record in level1
        )
        if rules:
            groups.append(model.RuleGroup(group.name, group.interval, rules).to_dict())
    return groups


@pytest.fixture
def rule_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    groups = _level1_groups(OURS)
    with monkeypatch.context() as patch:
        patch.setattr(recording, "previous_sample", lambda selector: f"{selector} offset 1m")
        groups += _level1_groups(BLIND)
    path = tmp_path / "rules.yaml"
    path.write_text(rule_yaml.dump({"groups": groups}))
    return path


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    with Exporter() as running:
        yield running


def _points(server: prometheus.PrometheusServer, metric: str, name: str) -> dict[float, float]:
    found = server.query_matrix(f'{metric}{{slo="{name}"}}[30m]', time.time())
    return dict(found[0].samples) if found else {}


def _raw(server: prometheus.PrometheusServer, code: str) -> list[tuple[float, float]]:
    selector = f'http_requests_total{{job="gapdemo",code="{code}"}}[30m]'
    (found,) = server.query_matrix(selector, time.time())
    return list(found.samples)


def _last_at_or_before(samples: list[tuple[float, float]], at: float) -> tuple[float, float]:
    return [sample for sample in samples if sample[0] <= at][-1]


def test_the_first_minute_after_a_restart_counts_the_whole_outage(
    tmp_path: Path, rule_file: Path, exporter: Exporter
) -> None:
    server = prometheus.PrometheusServer(
        tmp_path / "tsdb",
        work_dir=tmp_path / "prometheus",
        rule_files=[rule_file],
        scrape_configs=[
            {
                "job_name": "gapdemo",
                "scrape_interval": "5s",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}],
            }
        ],
        lookback_delta="1m",
    )
    with server:
        time.sleep(12)  # a few scrapes
        server.stop()
        stopped = time.time()
        exporter.failing = True
        time.sleep(OUTAGE_SECONDS)
        server.start()
        restarted = time.time()
        deadline = restarted + 150
        total_name = series.total_level1(OURS.spec)
        while True:
            after = {
                t: v for t, v in _points(server, total_name, OURS.name).items() if t > restarted
            }
            if after or time.time() > deadline:
                break
            time.sleep(2)
        assert after, f"no level-1 point within 150s of the restart:\n{server.log_tail()}"
        evaluated = min(after)
        ok, failed = _raw(server, "200"), _raw(server, "500")
        before = {
            code: _last_at_or_before(s, stopped) for code, s in (("200", ok), ("500", failed))
        }
        now = {code: _last_at_or_before(s, evaluated) for code, s in (("200", ok), ("500", failed))}
        # Nothing was scraped while Prometheus was down.
        assert all(now[code][0] - before[code][0] > OUTAGE_SECONDS for code in now)
        expected_total = sum(now[code][1] - before[code][1] for code in now)
        expected_bad = now["500"][1] - before["500"][1]
        bad = _points(server, series.bad_level1(OURS.spec), OURS.name)[evaluated]
        print(
            f"first minute after the restart at +{evaluated - restarted:.0f}s: total "
            f"{after[evaluated]:.0f} (samples say {expected_total:.0f}), bad {bad:.0f} "
            f"(samples say {expected_bad:.0f}; the exporter counted {exporter.counts['500']})"
        )
        assert after[evaluated] == expected_total
        assert bad == expected_bad
        # The errors of the outage are in it: all but those counted since the last scrape.
        assert bad > 0.9 * OUTAGE_SECONDS * 10
        blind = _points(server, total_name, BLIND.name)
        assert not [t for t in blind if restarted < t <= evaluated]
