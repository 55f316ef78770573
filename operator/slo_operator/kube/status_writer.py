"""The evaluation loop's Kubernetes writes: status patches, Events, Secret reads.

Status goes through the status subresource as a JSON merge patch of only the fields that
changed, so an unchanged object is never written and its resourceVersion stays put.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import secrets
from collections.abc import Mapping
from typing import Any

import kubernetes

from .. import GROUP, VERSION
from ..api import conditions, kind_names, times
from ..evaluation import registry

Reason = conditions.Reason

PLURALS = kind_names.PLURALS
MERGE_PATCH = "application/merge-patch+json"
REPORTING_COMPONENT = "slo-operator"


class WriteRefused(Exception):
    """The apiserver refused a write: its status code and message (e.g. RBAC's "cannot patch
    resource ... in the namespace ..."), without the response headers."""

    def __init__(self, error: kubernetes.client.ApiException) -> None:
        try:
            message = json.loads(error.body or "{}").get("message") or error.reason
        except ValueError:
            message = error.reason
        super().__init__(f"{error.status} {message}")
        self.status = error.status


class KubernetesStatusWriter:
    """`evaluation.loop.StatusWriter` on the Kubernetes API (calls run in worker threads)."""

    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self.custom = kubernetes.client.CustomObjectsApi(api_client)
        self.core = kubernetes.client.CoreV1Api(api_client)

    def _patch(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                ref.namespace,
                PLURALS[ref.kind],
                ref.name,
                {"status": dict(patch)},
                _content_type=MERGE_PATCH,
            )
        except kubernetes.client.ApiException as error:
            if error.status == 404:
                return  # deleted since the cycle's snapshot: nothing to report on
            raise WriteRefused(error) from None

    async def patch_status(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        await asyncio.to_thread(self._patch, ref, patch)

    def _create_event(self, namespace: str, body: Mapping[str, Any]) -> None:
        try:
            self.core.create_namespaced_event(namespace, body)  # type: ignore[arg-type]
        except kubernetes.client.ApiException as error:
            raise WriteRefused(error) from None

    async def emit_event(
        self, ref: registry.ObjectRef, uid: str, reason: Reason, message: str, *, warning: bool
    ) -> None:
        body = event_body(ref, uid, reason, message, warning, datetime.datetime.now(datetime.UTC))
        await asyncio.to_thread(self._create_event, ref.namespace, body)

    def _secret(self, namespace: str, name: str, key: str) -> str:
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except kubernetes.client.ApiException as error:
            raise LookupError(f"Secret {namespace}/{name}: {error.status} {error.reason}") from None
        data = secret.data or {}
        if key not in data:
            raise LookupError(f"Secret {namespace}/{name} has no key {key!r}")
        return base64.b64decode(data[key]).decode().strip()

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        return await asyncio.to_thread(self._secret, namespace, name, key)


def event_body(
    ref: registry.ObjectRef,
    uid: str,
    reason: conditions.Reason,
    message: str,
    warning: bool,
    now: datetime.datetime,
) -> dict[str, Any]:
    """A core/v1 Event about `ref` from the operator, posted once (`count: 1`)."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{ref.name}.{secrets.token_hex(8)}",
            "namespace": ref.namespace,
        },
        "involvedObject": {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": ref.kind,
            "name": ref.name,
            "namespace": ref.namespace,
            "uid": uid,
        },
        "reason": str(reason),
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "source": {"component": REPORTING_COMPONENT},
        "reportingComponent": REPORTING_COMPONENT,
        "reportingInstance": REPORTING_COMPONENT,
        "firstTimestamp": times.format_timestamp(now),
        "lastTimestamp": times.format_timestamp(now),
        "count": 1,
    }
