"""Which replica is active: kopf's peering, read by the evaluation loop too.

Every replica runs kopf with peering on: each writes a keep-alive record (priority, lifetime,
last seen) into a shared peering object, and kopf pauses all its watches while a live peer with
a higher priority exists (with an equal one too: both pause). kopf's handlers (rule objects,
reconcile status, Warning Events) therefore run on one replica only. The evaluation loop is our
own task, not a kopf handler: `ActivePeer` reads the same records and lets it run only while
`is_active` says this replica is the one kopf lets run.

The priority is minus the start time in microseconds: the oldest live replica is the active one,
a restarted or newly scheduled replica never preempts it (kopf gives way to a higher priority at
once, so a newcomer with a higher one would take over from a working replica), and two replicas
cannot share a priority unless they start in the same microsecond.

A replica killed without a goodbye keeps its record until `LIFETIME` seconds after its last
keep-alive; then the next oldest takes over. A replica that stops cleanly (SIGTERM) deletes its
record on the way out, and the next one takes over at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

import kubernetes
import prometheus_client

from ..api import times
from . import metrics

logger = logging.getLogger(__name__)

GROUP = "kopf.dev"
VERSION = "v1"
CLUSTER_PLURAL = "clusterkopfpeerings"
NAMESPACED_PLURAL = "kopfpeerings"

LIFETIME = 20
"""Seconds a keep-alive record stays valid. kopf renews it every 10-15 s (lifetime minus 5-10
s), so a replica killed with SIGKILL is replaced 5-20 s later (plus a poll); a shorter lifetime
would take a replica whose event loop stalls for a few seconds under load for dead."""
POLL_SECONDS = 2.0
"""How often `ActivePeer` reads the peering objects."""
READ_TIMEOUT = 5.0
"""Seconds a read of the peering objects may take before it counts as failed."""
_MARGIN = datetime.timedelta(seconds=POLL_SECONDS + READ_TIMEOUT)
"""How long before its own keep-alive expires a replica that cannot read the peering objects
steps down: the next chance to notice is a poll and a read timeout away."""

ACTIVE = prometheus_client.Gauge(
    "slo_operator_active",
    "1 on the replica that reconciles and evaluates (always, without peering), 0 on a standby.",
    registry=metrics.REGISTRY,
)


@dataclasses.dataclass(frozen=True)
class Peer:
    """This replica in the peering records: kopf's identity and priority for it."""

    identity: str
    priority: int

    @staticmethod
    def of_this_process() -> Peer:
        """The host name (a pod's name in a cluster), process id and start time; the priority
        from the start time (the oldest replica wins)."""
        started = time.time_ns() // 1000
        identity = f"{socket.gethostname()}/{os.getpid()}/{started}"
        return Peer(identity=identity, priority=-started)


def _expiry(record: Mapping[str, Any]) -> datetime.datetime | None:
    """When a keep-alive record lapses; None for a record without `lastseen` (kopf counts it as
    just seen)."""
    seen = record.get("lastseen")
    if not isinstance(seen, str):
        return None
    lifetime = datetime.timedelta(seconds=int(record.get("lifetime", 60)))
    return times.parse_timestamp(seen) + lifetime


def _alive(record: Mapping[str, Any], now: datetime.datetime) -> bool:
    """Whether a keep-alive record is within its lifetime (kopf's rule)."""
    expiry = _expiry(record)
    return expiry is None or expiry > now


def is_active(records: Mapping[str, Any], peer: Peer, now: datetime.datetime) -> bool:
    """Whether `peer` may write, by the records of one peering object (its `status`).

    As kopf decides it: no other live record with the same or a higher priority. Stricter than
    kopf in one way: the peer's own record must be alive too. A replica that could not renew it
    (cut off from the apiserver) has been taken for dead by the others, who may be active now.
    """
    own = records.get(peer.identity)
    if not isinstance(own, Mapping) or not _alive(own, now):
        return False
    for identity, record in records.items():
        if identity == peer.identity or not isinstance(record, Mapping):
            continue
        if _alive(record, now) and int(record.get("priority", 0)) >= peer.priority:
            return False
    return True


def own_expiry(found: Sequence[Mapping[str, Any]], peer: Peer) -> datetime.datetime | None:
    """When `peer`'s own keep-alive expires in the first of the records to lapse (None: it has
    none in one of them, so it is not active anyway)."""
    ends = []
    for records in found:
        own = records.get(peer.identity)
        expiry = _expiry(own) if isinstance(own, Mapping) else None
        if expiry is None:
            return None
        ends.append(expiry)
    return min(ends, default=None)


class ActivePeer:
    """Polls the peering objects; `wait_until_active` returns while this replica is active.

    Each object is created when absent (kopf only patches existing ones): a ClusterKopfPeering
    for a cluster-wide operator, a KopfPeering in each watched namespace otherwise.
    """

    def __init__(
        self,
        api_client: kubernetes.client.ApiClient,
        name: str,
        namespaces: Sequence[str],
        peer: Peer,
    ) -> None:
        self.api = kubernetes.client.CustomObjectsApi(api_client)
        self.name = name
        self.namespaces = tuple(namespaces)
        """Empty: cluster-wide."""
        self.peer = peer
        self._active = asyncio.Event()
        ACTIVE.set(0)

    @property
    def active(self) -> bool:
        return self._active.is_set()

    async def wait_until_active(self) -> None:
        await self._active.wait()

    def ensure_objects(self) -> None:
        """Create the peering objects that do not exist yet (another replica may be creating
        them at the same moment: a conflict means it exists)."""
        for namespace in self.namespaces or (None,):
            body = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "KopfPeering" if namespace else "ClusterKopfPeering",
                "metadata": {"name": self.name},
            }
            try:
                if namespace is None:
                    self.api.create_cluster_custom_object(GROUP, VERSION, CLUSTER_PLURAL, body)
                else:
                    self.api.create_namespaced_custom_object(
                        GROUP, VERSION, namespace, NAMESPACED_PLURAL, body
                    )
                logger.info("created the peering object %s in %s", self.name, namespace or "-")
            except kubernetes.client.ApiException as error:
                if error.status != 409:
                    raise

    def _records(self) -> list[Mapping[str, Any]]:
        found = []
        for namespace in self.namespaces or (None,):
            body: Any
            if namespace is None:
                body = self.api.get_cluster_custom_object(
                    GROUP, VERSION, CLUSTER_PLURAL, self.name, _request_timeout=READ_TIMEOUT
                )
            else:
                body = self.api.get_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    namespace,
                    NAMESPACED_PLURAL,
                    self.name,
                    _request_timeout=READ_TIMEOUT,
                )
            found.append(body.get("status") or {})
        return found

    async def follow(self) -> None:
        """Poll until cancelled.

        A read that fails or hangs (a replica cut off from the apiserver: a partition, a
        stalled network) keeps the last answer only while this replica's own keep-alive, as
        last read, is sure to be alive for the others as well: from `lapses_in` seconds before
        it expires, the others may take over, so this replica is standby from then on. Its
        last cycle's writes and actions check `active` again before they start
        (`evaluation.loop`). The margin covers the next poll and its read timeout.
        """
        expires: datetime.datetime | None = None
        while True:
            try:
                records = await asyncio.wait_for(asyncio.to_thread(self._records), READ_TIMEOUT)
            except Exception as error:  # whatever the client raises, there is no answer
                # (urllib3 raises its own errors, not OSError, for an unreachable apiserver)
                logger.warning(
                    "reading the peering object %s failed: %s", self.name, str(error) or "timed out"
                )
                now = datetime.datetime.now(datetime.UTC)
                if expires is None or now + _MARGIN >= expires:
                    self._set(False)
            else:
                now = datetime.datetime.now(datetime.UTC)
                self._set(all(is_active(each, self.peer, now) for each in records))
                expires = own_expiry(records, self.peer)
            await asyncio.sleep(POLL_SECONDS)

    def _set(self, active: bool) -> None:
        if active == self.active:
            return
        if active:
            self._active.set()
            logger.info("active: this replica reconciles and evaluates (%s)", self.peer.identity)
        else:
            self._active.clear()
            logger.info("standby: another replica is active (%s)", self.peer.identity)
        ACTIVE.set(1 if active else 0)
