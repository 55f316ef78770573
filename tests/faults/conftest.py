"""The faults tier: the product's promises while its dependencies fail.

Real components only: Debian's Prometheus is stopped, restarted and starved of data, the local
control plane (tests/cluster/conftest.py) loses its apiserver. Each test bounds its own time;
the tier as a whole stays within a few minutes so `make test` runs it every time. The figures
these tests print are the ones docs/reliability.md publishes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from cluster.conftest import control_plane, kubeconfig
from faults import checkout
from slo_operator.api import validation
from slo_operator.rules import render, series
from support import webhook_receiver
from testkit import backfill, controlplane, prometheus, synthetic

__all__ = ["control_plane", "kubeconfig"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def pytest_collection_finish(session: pytest.Session) -> None:
    """Builds the control-plane binaries when a collected test needs them (instant if cached);
    the tier has its own session control plane (see test_operator_kills.py), as the cluster tier's
    conftest does for its own."""
    if session.config.option.collectonly:
        return
    if not any("control_plane" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        controlplane.ensure_binaries()


@pytest.fixture(scope="module")
def receiver() -> Iterator[webhook_receiver.Receiver]:
    """A policy-webhook receiver for the module's operators (tests/support/webhook_receiver.py)."""
    running = webhook_receiver.Receiver()
    yield running
    running.close()


@pytest.fixture(scope="session")
def checkout_namespaces(control_plane: controlplane.ControlPlane) -> Iterator[dict[str, str]]:
    """A namespace per prefix of `checkout.NAMESPACE_PREFIXES`, by prefix."""
    names = {
        prefix: control_plane.create_namespace(prefix=prefix)
        for prefix in checkout.NAMESPACE_PREFIXES
    }
    yield names
    for name in names.values():
        control_plane.delete_namespace(name)


@pytest.fixture(scope="session")
def checkout_server(
    checkout_namespaces: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[prometheus.PrometheusServer]:
    """The two and a half days of data with the checkout SLO's level-1 rules backfilled in each
    namespace (SLAs and the calendar window read the level-1 series and the tiles)."""
    folder = tmp_path_factory.mktemp("checkout")
    data = synthetic.generate(checkout.scenario())
    backfill.link_blocks(backfill.cached_synthetic_blocks(data), folder / "tsdb")
    slos = [validation.parse_resource(checkout.slo(name)) for name in checkout_namespaces.values()]
    rules = render.render_rule_file(slos)
    keep = {
        *series.LEVEL1_TOTAL_NAMES,
        *series.LEVEL1_BAD_NAMES,
        series.BAD_TILE,
        series.TOTAL_TILE,
    }
    for group in rules["groups"]:
        group["rules"] = [rule for rule in group["rules"] if rule.get("record") in keep]
    rules["groups"] = [group for group in rules["groups"] if group["rules"]]
    rule_file = folder / "rules.yaml"
    rule_file.write_text(yaml.safe_dump(rules, sort_keys=False))
    with prometheus.PrometheusServer(folder / "tsdb", work_dir=folder / "prometheus") as running:
        backfill.backfill_rules(
            [rule_file], checkout.START.timestamp(), checkout.END.timestamp(), running
        )
        yield running
