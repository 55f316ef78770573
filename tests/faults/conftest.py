"""The faults tier: the product's promises while its dependencies fail.

Real components only: Debian's Prometheus is stopped, restarted and starved of data, the local
control plane (tests/cluster/conftest.py) loses its apiserver. Each test bounds its own time;
the tier as a whole stays within a few minutes so `make test` runs it every time. The figures
these tests print are the ones docs/reliability.md publishes.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from testkit import controlplane


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
