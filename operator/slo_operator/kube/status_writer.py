"""The evaluation loop's Kubernetes writes: status patches, Events, Secret reads.

Status goes through the status subresource as a JSON merge patch of only the fields that
changed, so an unchanged object is never written and its resourceVersion stays put.

Status patches are sent with aiohttp on the event loop, with the Kubernetes client's own
configuration (server, CA, client certificate, bearer token and its refresh hook), not through
the Kubernetes client in worker threads: a first cycle patches every object, and the client
spent more CPU on each patch (argument validation, serialisation, a thread hop from the
default executor's 6 threads on 2 cores) than the apiserver's own rate leaves room for.
Events and Secret reads are rare and stay on the Kubernetes client.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import secrets
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp
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

    def __init__(self, status: int, body: str | None, reason: str | None) -> None:
        try:
            message = json.loads(body or "{}").get("message") or reason
        except (ValueError, AttributeError):
            message = reason
        super().__init__(f"{status} {message}")
        self.status = status

    @classmethod
    def of(cls, error: kubernetes.client.ApiException) -> WriteRefused:
        return cls(error.status, error.body, error.reason)


PATCH_TIMEOUT = aiohttp.ClientTimeout(total=60)
"""A status patch that takes longer counts as failed (the next cycle writes it again)."""
CONNECTION_ATTEMPTS = 3
"""Attempts of a patch whose connection fails (as urllib3's default retries of the client):
a kept-alive connection the apiserver closed, a restarting apiserver. Sending the same merge
patch twice leaves the same status."""


class KubernetesStatusWriter:
    """`evaluation.loop.StatusWriter` on the Kubernetes API: status patches with aiohttp on the
    running event loop, Events and Secret reads with the Kubernetes client in worker threads."""

    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self.custom = kubernetes.client.CustomObjectsApi(api_client)
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.configuration: kubernetes.client.Configuration = api_client.configuration
        self._tls = tls_context(self.configuration)
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._via: dict[str, Any] = {
            "server_hostname": self.configuration.tls_server_name or None,
            "proxy": self.configuration.proxy or None,
            "proxy_headers": self.configuration.proxy_headers or None,
        }
        """The server name TLS checks and the proxy, as configured for the client."""
        self._headers = {**api_client.default_headers, "Accept": "application/json"}
        """The client's default headers, its User-Agent among them: the apiserver names the
        status fields' manager after it (`managedFields`), as before."""

    def _session_of_this_loop(self) -> aiohttp.ClientSession:
        """One session (and pool of kept-alive connections) per event loop."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            connector = aiohttp.TCPConnector(ssl=self._tls, limit=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=PATCH_TIMEOUT)
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        """Close the kept-alive connections of the status patches."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def patch_status(self, ref: registry.ObjectRef, patch: Mapping[str, Any]) -> None:
        """Merge-patch the status; an object deleted since the cycle's snapshot is skipped."""
        url = (
            f"{self.configuration.host}/apis/{GROUP}/{VERSION}/namespaces/{ref.namespace}"
            f"/{PLURALS[ref.kind]}/{ref.name}/status"
        )
        data = json.dumps({"status": dict(patch)}).encode()
        headers = {**self._headers, "Content-Type": MERGE_PATCH}
        token = self.configuration.auth_settings().get("BearerToken")  # refreshes it if due
        if token and token["value"]:
            headers[token["key"]] = token["value"]
        session = self._session_of_this_loop()
        for attempt in range(1, CONNECTION_ATTEMPTS + 1):
            try:
                async with session.patch(url, data=data, headers=headers, **self._via) as response:
                    body = await response.text()
                    break
            except aiohttp.ClientConnectionError:
                if attempt == CONNECTION_ATTEMPTS:
                    raise
        if response.status == 404:
            return  # deleted since the cycle's snapshot: nothing to report on
        if not 200 <= response.status < 300:
            raise WriteRefused(response.status, body, response.reason)

    def _create_event(self, namespace: str, body: Mapping[str, Any]) -> None:
        try:
            self.core.create_namespaced_event(namespace, body)  # type: ignore[arg-type]
        except kubernetes.client.ApiException as error:
            raise WriteRefused.of(error) from None

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


def tls_context(configuration: kubernetes.client.Configuration) -> ssl.SSLContext:
    """TLS as the Kubernetes client sets it up: the CA (file or data) unless verification is
    off, the client certificate if any, the host name checked unless `assert_hostname` is False."""
    context = ssl.create_default_context(
        cafile=configuration.ssl_ca_cert, cadata=getattr(configuration, "ca_cert_data", None)
    )
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif configuration.assert_hostname is False:
        context.check_hostname = False
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    return context


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
