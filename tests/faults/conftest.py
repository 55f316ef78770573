"""The faults tier: the product's promises while its dependencies fail.

Real components only: Debian's Prometheus is stopped, restarted and starved of data, the local
control plane (tests/cluster/conftest.py) loses its apiserver. Each test bounds its own time;
the tier as a whole stays within a few minutes so `make test` runs it every time. The figures
these tests print are the ones docs/reliability.md publishes.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
