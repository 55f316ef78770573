"""Fixtures for tests against the real Prometheus and promtool (Debian's 2.42, `make setup`).

The standard synthetic month (`synthetic.standard_scenario()`, 30 days at 30s) is generated
once per session; its blocks are backfilled once per scenario and code version into
`~/.cache/slo-operator/synthetic-tsdb/` (or `$SLO_OPERATOR_CACHE`) and hard-linked into a fresh
TSDB folder for every server, so a server may be written to (rule backfill, live rules) without
touching the cache or the other tests.

    def test_something(synthetic_data, synthetic_prometheus):          # read-only, shared
        end = synthetic_data.scenario.end
        synthetic_prometheus.query_value("sum(up)", end)

    def test_rules(synthetic_data, prometheus_factory, tmp_path):      # a server of your own
        server = prometheus_factory()
        backfill.backfill_rules([rule_file], start, end, server)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit import backfill, prometheus, synthetic

logger = logging.getLogger(__name__)

PrometheusFactory = Callable[..., prometheus.PrometheusServer]


@pytest.fixture(scope="session")
def synthetic_scenario() -> synthetic.Scenario:
    """The standard month: 2 services x 3 tenants, 2 probes, bursts, an outage, resets."""
    return synthetic.standard_scenario()


@pytest.fixture(scope="session")
def synthetic_data(synthetic_scenario: synthetic.Scenario) -> synthetic.SyntheticData:
    """Generated series and their exact ground truth."""
    return synthetic.generate(synthetic_scenario)


@pytest.fixture(scope="session")
def synthetic_blocks(synthetic_data: synthetic.SyntheticData) -> Path:
    """Cached TSDB blocks of the standard month (never start a server on this folder)."""
    return backfill.cached_synthetic_blocks(synthetic_data)


@pytest.fixture(scope="session")
def synthetic_tsdb(
    synthetic_blocks: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], Path]:
    """Makes a fresh TSDB folder holding (hard links to) the standard month's blocks."""

    def make() -> Path:
        folder = tmp_path_factory.mktemp("tsdb")
        backfill.link_blocks(synthetic_blocks, folder)
        return folder

    return make


@pytest.fixture(scope="session")
def synthetic_prometheus(
    synthetic_tsdb: Callable[[], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[prometheus.PrometheusServer]:
    """One server on the standard month for read-only tests; do not write or restart it."""
    server = prometheus.PrometheusServer(
        synthetic_tsdb(), work_dir=tmp_path_factory.mktemp("prometheus")
    )
    with server:
        yield server


@pytest.fixture
def prometheus_factory(
    synthetic_tsdb: Callable[[], Path],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[PrometheusFactory]:
    """Starts servers of your own on fresh copies of the standard month (pass
    ``tsdb_dir=...`` for another folder); all are stopped after the test, and their log tail
    is printed when the test failed."""
    servers: list[prometheus.PrometheusServer] = []

    def start(**options: Any) -> prometheus.PrometheusServer:
        tsdb_dir = options.pop("tsdb_dir", None) or synthetic_tsdb()
        options.setdefault("work_dir", tmp_path_factory.mktemp("prometheus"))
        server = prometheus.PrometheusServer(tsdb_dir, **options)
        servers.append(server)
        server.start()
        return server

    yield start
    failed = getattr(request.node, "rep_call", None)
    for server in servers:
        server.stop()
        if failed is not None and failed.failed:
            print(f"--- {server.log_path} (tail)\n{server.log_tail()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
