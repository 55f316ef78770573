"""Webhook actions of error budget policies: one JSON POST per step crossing.

Only hosts on the operator's allow-list (`--policy-webhook-host`) are called: the URL comes from a
Secret that any namespace owner can write, and the operator must not become a way to reach
internal services. Redirects are not followed (they would lead past the allow-list), and
link-local addresses (cloud metadata services) are never called. Each POST has a timeout and a
few retries with backoff (a retried POST whose first answer was lost may arrive twice: the
payload's `idempotencyKey`, SLO uid, step and crossing time, lets a receiver drop it). The loop
posts only after the status write that records the crossing (docs/evaluation.md).
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

TIMEOUT_SECONDS = 5.0
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5


class WebhookRefused(Exception):
    """The URL is not allowed or not an http(s) URL."""


class WebhookFailed(Exception):
    """Every attempt failed; carries the last cause."""


def check_url(url: str, allowed_hosts: Sequence[str]) -> None:
    """WebhookRefused unless `url` is http(s) to a host on the allow-list (shell patterns)."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise WebhookRefused(
            f"not an http(s) URL with a host (scheme {parsed.scheme or 'missing'!r})"
        )
    host = parsed.hostname
    if not any(fnmatch.fnmatchcase(host, pattern) for pattern in allowed_hosts):
        raise WebhookRefused(
            f"host {host!r} is not on the operator's webhook allow-list "
            f"({', '.join(allowed_hosts) or 'empty'})"
        )
    for address in _addresses(host):
        if address.is_link_local:
            # Cloud metadata services (169.254.169.254) hand out credentials: never called,
            # whatever the allow-list says or the name resolves to.
            raise WebhookRefused(f"host {host!r} is a link-local address ({address})")


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return []  # the POST will fail and say so
    return [ipaddress.ip_address(str(item[4][0]).split("%")[0]) for item in found]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would lead past the allow-list: it is an answer, not a place to go."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post_sync(url: str, payload: Mapping[str, Any]) -> int:
    data = json.dumps(payload).encode()
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        request = urllib.request.Request(
            url.strip(),
            data=data,
            headers={"Content-Type": "application/json", "User-Agent": "slo-operator"},
            method="POST",
        )
        try:
            with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            last = error
            if error.code < 500 and error.code != 429:
                break  # refused or redirected; resending will not help
        except (urllib.error.URLError, OSError) as error:
            last = error
        time.sleep(BACKOFF_SECONDS * 2**attempt)
    raise WebhookFailed(str(last))


async def post(url: str, payload: Mapping[str, Any], allowed_hosts: Sequence[str]) -> int:
    """POST `payload` as JSON; the HTTP status on success, WebhookRefused/WebhookFailed else."""
    check_url(url, allowed_hosts)
    return await asyncio.to_thread(_post_sync, url, payload)
