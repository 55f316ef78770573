"""A fault injector in front of a real Prometheus: an HTTP(S) proxy on 127.0.0.1.

The backend behind it stays real; the proxy changes only what reaches the client, switched at
run time by setting :attr:`FaultProxy.mode`::

    with FaultProxy(server.url) as proxy:
        proxy.mode = Mode.SLOW          # answer after `delay_seconds`
        proxy.mode = Mode.DOWN          # nobody listens on the port: connection refused

Modes: ``PASS`` (forward), ``DOWN`` (the listening socket is closed), ``SLOW`` (forward after
``delay_seconds``), ``ERROR`` (HTTP 503 with Prometheus' error JSON), ``MALFORMED`` (HTTP 200 with
a truncated JSON body), ``WARNINGS`` (forward, adding ``warnings`` to the JSON as Thanos does
for a partial response). With :attr:`FaultProxy.authorization` set, a request without exactly
that ``Authorization`` header is answered 401, as an authenticating gateway would. With
``tls=True`` the proxy serves HTTPS with a self-signed certificate for 127.0.0.1
(:attr:`FaultProxy.certificate`), which a client trusts only when given that file as its CA.
"""

from __future__ import annotations

import contextlib
import enum
import http.server
import json
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self


class Mode(enum.Enum):
    PASS = "pass"
    DOWN = "down"
    SLOW = "slow"
    ERROR = "error"
    MALFORMED = "malformed"
    WARNINGS = "warnings"


WARNING_TEXT = "partial response: store 127.0.0.1:10901 unavailable"
"""What WARNINGS mode adds (Thanos' wording for a store that did not answer)."""


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """An ECDSA P-256 key and a self-signed certificate for IP 127.0.0.1: ``(cert, key)``."""
    cert, key, config = folder / "proxy.crt", folder / "proxy.key", folder / "openssl.cnf"
    # Our own config, so the host's openssl.cnf defaults never leak in.
    config.write_text("[req]\ndistinguished_name = dn\n[dn]\n")
    subprocess.run(
        [
            shutil.which("openssl") or "openssl", "req", "-x509", "-config", str(config),
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class FaultProxy:
    """Forwards ``/api/v1/*`` requests to ``upstream`` with the fault of :attr:`mode`."""

    def __init__(self, upstream: str, *, tls: bool = False, delay_seconds: float = 30.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.mode = Mode.PASS
        self.delay_seconds = delay_seconds
        self.requests = 0
        """Requests received (in every mode but DOWN)."""
        self.authorization: str | None = None
        """The ``Authorization`` header every request must carry; None: no check."""
        self.authorized = 0
        """Requests that carried it."""
        self.headers_seen: set[tuple[str, str]] = set()
        """Every (header, value) received, to check what a client sent."""
        self.port = 0
        self._tls: ssl.SSLContext | None = None
        self.certificate: Path | None = None
        if tls:
            self._folder = Path(tempfile.mkdtemp(prefix="faultproxy-"))
            self.certificate, key = self_signed_certificate(self._folder)
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(self.certificate, key)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Listen (again, on the same port once one was picked)."""
        with self._lock:
            if self._server is not None:
                return
            server = _Server(("127.0.0.1", self.port), _handler(self))
            if self._tls is not None:
                server.socket = self._tls.wrap_socket(server.socket, server_side=True)
            self.port = server.server_address[1]
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._server = server

    def stop(self) -> None:
        """Close the listening socket: connections are refused until :meth:`start`."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def set_mode(self, mode: Mode) -> None:
        """Switch the fault; DOWN closes the port, any other mode opens it again."""
        self.mode = mode
        if mode is Mode.DOWN:
            self.stop()
        else:
            self.start()

    # -- what a request gets ---------------------------------------------------------------

    def answer(
        self, path: str, body: bytes, content_type: str, authorization: str | None = None
    ) -> tuple[int, bytes]:
        self.requests += 1
        if self.authorization is not None:
            if authorization != self.authorization:
                error = {"status": "error", "errorType": "unauthorized", "error": "unauthorized"}
                return 401, json.dumps(error).encode()
            self.authorized += 1
        mode = self.mode
        if mode is Mode.ERROR:
            error = {"status": "error", "errorType": "unavailable", "error": "injected 503"}
            return 503, json.dumps(error).encode()
        if mode is Mode.MALFORMED:
            return 200, b'{"status":"success","data":{"resultType":"vector","result":[{"met'
        if mode is Mode.SLOW:
            time.sleep(self.delay_seconds)
        status, payload = self._forward(path, body, content_type)
        if mode is Mode.WARNINGS and status == 200:
            decoded = json.loads(payload)
            decoded["warnings"] = [WARNING_TEXT]
            payload = json.dumps(decoded).encode()
        return status, payload

    def _forward(self, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.upstream + path,
            data=body or None,
            headers={"Content-Type": content_type} if body else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def _handler(proxy: FaultProxy) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type") or ""
            proxy.headers_seen.update(self.headers.items())
            authorization = self.headers.get("Authorization")
            status, payload = proxy.answer(self.path, body, content_type, authorization)
            with contextlib.suppress(OSError):  # the client may have given up (timeout)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler
