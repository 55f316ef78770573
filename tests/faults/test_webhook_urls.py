"""Policy webhook URLs come from Secrets any namespace owner writes: the operator's allow-list
must hold against other schemes, link-local (metadata) addresses and redirects. Real HTTP
servers on loopback addresses; the receiver past the redirect counts what reaches it."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest

from slo_operator.evaluation import policy_webhooks

pytestmark = pytest.mark.timeout(60)


class Server:
    """Records every request; answers 302 to `redirect_to` if given, else 204."""

    def __init__(self, address: str, redirect_to: str | None = None) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                seen.append(f"{self.command} {self.path}")
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                else:
                    self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = _answer
            do_POST = _answer

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def inside() -> Iterator[Server]:
    """An internal service the allow-list does not name (another loopback address)."""
    server = Server("127.0.0.2")
    yield server
    server.close()


def _post(url: str, allowed: list[str]) -> int:
    return asyncio.run(policy_webhooks.post(url, {"step": "freeze"}, allowed))


def test_a_redirect_is_not_followed_past_the_allow_list(inside: Server) -> None:
    redirector = Server("127.0.0.1", redirect_to=f"{inside.url}/steal")
    try:
        with pytest.raises(policy_webhooks.WebhookFailed, match="302"):
            _post(f"{redirector.url}/hook", ["127.0.0.1"])
    finally:
        redirector.close()
    assert redirector.requests == ["POST /hook"]
    assert inside.requests == []


@pytest.mark.parametrize(
    ("url", "allowed", "reason"),
    [
        ("file:///etc/passwd", ["*"], r"not an http\(s\) URL"),
        ("gopher://127.0.0.1/", ["*"], r"not an http\(s\) URL"),
        ("http://169.254.169.254/latest/meta-data/", ["*"], "link-local"),
        ("http://169.254.169.254/latest/meta-data/", ["169.254.*"], "link-local"),
        ("http://[fe80::1]/", ["*"], "link-local"),
        ("http://127.0.0.2:9/", ["127.0.0.1"], "not on the operator's webhook allow-list"),
    ],
)
def test_other_schemes_metadata_and_unlisted_hosts_are_refused_before_any_request(
    url: str, allowed: list[str], reason: str
) -> None:
    with pytest.raises(policy_webhooks.WebhookRefused, match=reason):
        _post(url, allowed)


def test_an_allowed_receiver_gets_the_post(inside: Server) -> None:
    assert _post(f"{inside.url}/hook", ["127.0.0.2"]) == 204
    assert inside.requests == ["POST /hook"]
