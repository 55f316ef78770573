"""The object cache of `slo-operator ui`: list once, then watch, per kind, from the kubeconfig.

The operator's UI reads the registry kopf's watch already feeds; this is the same registry for
the stand-alone verb. One thread per kind lists the objects and follows a watch from the list's
resourceVersion (relisting when the apiserver says the version is gone, reconnecting after an
error); every change is handed to the event loop, which alone touches the registry. A page view
reads the cache and never calls the apiserver.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from typing import Any

import kubernetes
import urllib3

from ..api import crd
from ..evaluation import registry

logger = logging.getLogger(__name__)

WATCH_SECONDS = 300
"""A watch is re-established this often, so a silently dead connection is noticed."""
RETRY_SECONDS = 2.0


class Watcher:
    """Keeps `objects` equal to the cluster's SLOs and SLAs in `namespace` (None: all)."""

    def __init__(
        self,
        objects: registry.Registry,
        namespace: str | None,
        loop: asyncio.AbstractEventLoop,
        api_client: kubernetes.client.ApiClient,
    ) -> None:
        self.objects = objects
        self.namespace = namespace
        self.loop = loop
        self.api_client = api_client
        self._stop = threading.Event()
        self._listed: dict[str, threading.Event] = {
            kind.kind: threading.Event() for kind in crd.KINDS
        }
        self.errors: dict[str, str] = {}
        """The last error per kind, for the log and for a failed first listing."""
        self._threads = [
            threading.Thread(
                target=self._follow, args=(kind,), daemon=True, name=f"watch-{kind.plural}"
            )
            for kind in crd.KINDS
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wait_listed(self, timeout: float) -> bool:
        """Whether every kind was listed once within `timeout` seconds."""
        return all(event.wait(timeout) for event in self._listed.values())

    def stop(self) -> None:
        self._stop.set()

    def _call(self, kind: crd.ResourceKind, **kwargs: Any) -> Any:
        custom = kubernetes.client.CustomObjectsApi(self.api_client)
        if self.namespace is None:
            return custom.list_cluster_custom_object(crd.GROUP, crd.VERSION, kind.plural, **kwargs)
        return custom.list_namespaced_custom_object(
            crd.GROUP, crd.VERSION, self.namespace, kind.plural, **kwargs
        )

    def _replace(self, kind: str, items: list[dict[str, Any]]) -> None:
        """On the event loop: the registry's objects of `kind` become `items`."""
        keep = set()
        for body in items:
            self.objects.upsert(kind, body)
            metadata = body.get("metadata") or {}
            keep.add((metadata.get("namespace") or "default", metadata.get("name")))
        for entry in self.objects.entries(kind):
            if (entry.ref.namespace, entry.ref.name) not in keep:
                self.objects.remove(kind, entry.ref.namespace, entry.ref.name)

    def _apply(self, kind: str, event_type: str, body: Mapping[str, Any]) -> None:
        metadata = body.get("metadata") or {}
        if event_type == "DELETED":
            self.objects.remove(kind, metadata.get("namespace") or "default", metadata["name"])
        else:
            self.objects.upsert(kind, body)

    def _follow(self, kind: crd.ResourceKind) -> None:
        while not self._stop.is_set():
            try:
                listing = self._call(kind)
                items = [
                    {**item, "kind": item.get("kind") or kind.kind}
                    for item in listing.get("items") or []
                ]
                version = (listing.get("metadata") or {}).get("resourceVersion")
                self.loop.call_soon_threadsafe(self._replace, kind.kind, items)
                self._listed[kind.kind].set()
                self.errors.pop(kind.kind, None)
                stream = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
                for event in stream.stream(  # type: ignore[no-untyped-call]
                    self._call_for_watch(kind),
                    resource_version=version,
                    timeout_seconds=WATCH_SECONDS,
                ):
                    if self._stop.is_set():
                        stream.stop()  # type: ignore[no-untyped-call]
                        return
                    if event.get("type") == "ERROR":
                        break  # 410 Gone and friends: relist
                    body = event.get("object") or {}
                    if isinstance(body, Mapping) and body.get("metadata"):
                        self.loop.call_soon_threadsafe(self._apply, kind.kind, event["type"], body)
            except (
                kubernetes.client.ApiException,
                urllib3.exceptions.HTTPError,  # a dropped or timed-out watch connection
                OSError,
                ValueError,
            ) as error:
                reason = getattr(error, "reason", None) or str(error)
                self.errors[kind.kind] = f"listing {kind.plural}: {reason}"
                logger.warning("watching %s failed: %s; relisting", kind.plural, reason)
                self._stop.wait(RETRY_SECONDS)

    def _call_for_watch(self, kind: crd.ResourceKind) -> Any:
        custom = kubernetes.client.CustomObjectsApi(self.api_client)
        if self.namespace is None:

            def cluster(**kwargs: Any) -> Any:
                return custom.list_cluster_custom_object(
                    crd.GROUP, crd.VERSION, kind.plural, **kwargs
                )

            return cluster

        namespace = self.namespace

        def namespaced(**kwargs: Any) -> Any:
            return custom.list_namespaced_custom_object(
                crd.GROUP, crd.VERSION, namespace, kind.plural, **kwargs
            )

        return namespaced
