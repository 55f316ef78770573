"""Which replica may write, judged from kopf's peering records (kube/peering.py)."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

from slo_operator.kube import peering

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
ME = peering.Peer(identity="pod-a/1/100", priority=-100)


def record(priority: int, seconds_ago: float, lifetime: int = 20) -> dict[str, Any]:
    seen = NOW - datetime.timedelta(seconds=seconds_ago)
    return {"priority": priority, "lifetime": lifetime, "lastseen": seen.isoformat()}


@pytest.mark.parametrize(
    ("records", "active"),
    [
        ({}, False),  # not announced yet: kopf still holds this replica paused
        ({ME.identity: record(-100, 1)}, True),
        ({ME.identity: record(-100, 21)}, False),  # own keep-alive expired: taken for dead
        ({ME.identity: record(-100, 1), "pod-b/1/200": record(-200, 1)}, True),  # b is younger
        ({ME.identity: record(-100, 1), "pod-b/1/50": record(-50, 1)}, False),  # b is older
        ({ME.identity: record(-100, 1), "pod-b/1/50": record(-50, 25)}, True),  # older but dead
        ({ME.identity: record(-100, 1), "pod-b/1/100": record(-100, 1)}, False),  # tie: both wait
        ({ME.identity: record(-100, 1), "pod-b": {"priority": 0}}, False),  # no lastseen: alive
    ],
)
def test_active_only_without_an_older_live_peer(records: dict[str, Any], active: bool) -> None:
    assert peering.is_active(records, ME, NOW) is active


def test_an_older_process_has_the_higher_priority() -> None:
    first = peering.Peer.of_this_process()
    time.sleep(0.001)  # the priority counts microseconds
    second = peering.Peer.of_this_process()
    assert first.priority > second.priority
    assert first.identity != second.identity
