"""Which replica may write, judged from kopf's peering records (kube/peering.py)."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from typing import Any

import kubernetes
import pytest
import urllib3

from slo_operator.kube import metrics, peering

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


class PeeringApi:
    """The peering object's reads: this replica's keep-alive, last renewed `age` seconds before
    the first read, until `cut`: then every read fails, or hangs (`fault="hang"`)."""

    def __init__(self, age: float, fault: str) -> None:
        seen = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=age)
        self.status = {ME.identity: {"priority": ME.priority, "lifetime": 20,
                                     "lastseen": seen.isoformat()}}  # fmt: skip
        self.expires = seen + datetime.timedelta(seconds=20)
        self.fault = fault
        self.cut = False
        self.released = threading.Event()
        """Ends the hanging reads (the test's end)."""

    def get_cluster_custom_object(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        assert kwargs.get("_request_timeout"), "a read without a timeout can hang forever"
        if self.cut and self.fault == "hang":
            self.released.wait(10)
        if self.cut:
            # What the client raises for an apiserver it cannot reach (not an OSError).
            raise urllib3.exceptions.MaxRetryError(None, "/", "connection refused")
        return {"status": self.status}


async def follow_until_standby(api: PeeringApi) -> tuple[datetime.datetime, datetime.datetime]:
    """Active first; then, once cut off: still active a while later, and standby when."""
    active_peer = peering.ActivePeer(kubernetes.client.ApiClient(), "slo-operator", (), ME)
    active_peer.api = api  # type: ignore[assignment]
    task = asyncio.create_task(active_peer.follow())
    try:
        await asyncio.wait_for(active_peer.wait_until_active(), 2)
        api.cut = True
        await asyncio.sleep(0.3)
        still = datetime.datetime.now(datetime.UTC)
        assert active_peer.active, "a failed read made a replica with a live keep-alive stand by"
        while active_peer.active:
            await asyncio.sleep(0.01)
        return still, datetime.datetime.now(datetime.UTC)
    finally:
        api.released.set()
        task.cancel()


@pytest.mark.parametrize("fault", ["refused", "hang"])
def test_a_replica_cut_off_from_the_apiserver_stands_by_before_its_keep_alive_lapses(
    fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The others take over once its record lapses; it must not still be active then (two
    writers). It steps down a poll and a read timeout before that, not at the first failure."""
    monkeypatch.setattr(peering, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(peering, "READ_TIMEOUT", 0.2)
    monkeypatch.setattr(peering, "_MARGIN", datetime.timedelta(seconds=0.5))
    api = PeeringApi(age=18.5, fault=fault)  # its record lapses in 1.5 s
    still, standby = asyncio.run(follow_until_standby(api))
    assert still < standby < api.expires - datetime.timedelta(seconds=0.4)
    assert standby > api.expires - datetime.timedelta(seconds=1.0)
    assert metrics.REGISTRY.get_sample_value("slo_operator_active") == 0
