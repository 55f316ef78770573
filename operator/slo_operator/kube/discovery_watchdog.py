"""Restart the operator when kopf's discovery missed our resources that the apiserver serves.

kopf resolves the handlers' resources once, from the apiserver's discovery, when it starts, and
again only on a CustomResourceDefinition event. An apiserver that restarts while that scan is in
flight answers it from its new process, whose discovery lists the custom resource groups a
moment after `/readyz` turns green: kopf then logs "Unresolved resources cannot be served", never
watches ServiceLevelObjectives or ServiceLevelAgreements, and the operator stays up and healthy
while every edit goes unapplied (seen in tests/faults/test_control_plane_faults.py). No
CRD event follows, so no rescan either.

The watchdog hears that warning, waits until discovery serves both kinds, and then stops the
operator with a non-zero exit: the kubelet (or any supervisor) starts it again, and the new
process's scan finds them. CRDs that are really absent keep it waiting: when they are created,
kopf's own CRD watch resolves them (the exit that may follow is one restart, not a loop).
"""

from __future__ import annotations

import asyncio
import logging

import kubernetes

from .. import GROUP, VERSION
from ..api import kind_names

KOPF_OBSERVER_LOGGER = "kopf._core.reactor.observation"
UNRESOLVED_WARNING = "Unresolved resources cannot be served"
EXIT_CODE = 3
"""Exit status of `slo-operator run` when the watchdog stopped it (see `operator.run`)."""

logger = logging.getLogger(__name__)


class _HearUnresolved(logging.Filter):
    """Sets `heard` when kopf reports one of our resources unresolved; filters nothing out."""

    def __init__(self, loop: asyncio.AbstractEventLoop, heard: asyncio.Event) -> None:
        super().__init__()
        self._loop = loop
        self._heard = heard

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(UNRESOLVED_WARNING) and f"group='{GROUP}'" in message:
            self._loop.call_soon_threadsafe(self._heard.set)
        return True


def served(api_client: kubernetes.client.ApiClient) -> bool:
    """Whether discovery lists both of our kinds now."""
    try:
        found = kubernetes.client.CustomObjectsApi(api_client).get_api_resources(GROUP, VERSION)
    except (kubernetes.client.ApiException, OSError, ValueError):
        return False
    names = {resource.name for resource in (found.resources or [])}
    return {kind_names.SLO_PLURAL, kind_names.SLA_PLURAL} <= names


async def watch(
    api_client: kubernetes.client.ApiClient, stop: asyncio.Event, poll_seconds: float = 1.0
) -> None:
    """Run until cancelled; set `stop` once kopf is blind to resources discovery serves."""
    heard = asyncio.Event()
    hearing = _HearUnresolved(asyncio.get_running_loop(), heard)
    observer_logger = logging.getLogger(KOPF_OBSERVER_LOGGER)
    observer_logger.addFilter(hearing)
    try:
        await heard.wait()
        while not await asyncio.to_thread(served, api_client):
            await asyncio.sleep(poll_seconds)
    finally:
        observer_logger.removeFilter(hearing)
    logger.error(
        "kopf's discovery ran before the apiserver served %s/%s (an apiserver restart?) and "
        "it does not look again: nothing would be reconciled. Exiting with status %d so that "
        "the operator is started again and watches them.",
        GROUP,
        VERSION,
        EXIT_CODE,
    )
    stop.set()
