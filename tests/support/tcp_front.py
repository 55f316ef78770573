"""A stand-in for a Service in front of the operator's replicas: a TCP port on 127.0.0.1 that
hands each new connection to the next endpoint in turn (round robin, as kube-proxy spreads
connections), piping bytes both ways. TLS passes through untouched: the client checks the
certificate of whichever replica answers.

`remove` takes an endpoint out, as the endpoints controller does once a pod's readiness probe
fails; connections already open to it are not touched (they break when the replica dies).

In front of a single endpoint it is a link that can fail: `cut` breaks every open connection
and closes each new one at once (a partition, as the client sees it), `heal` ends that.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading


class TcpFront:
    def __init__(self, endpoints: list[int]) -> None:
        self.endpoints = list(endpoints)
        """Ports on 127.0.0.1 that new connections go to."""
        self.connections: dict[int, int] = dict.fromkeys(endpoints, 0)
        """Connections handed to each endpoint."""
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._closed = False
        self._cut = False
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            broken, self._open = list(self._open), set()
        for side in broken:
            with contextlib.suppress(OSError):
                side.shutdown(socket.SHUT_RDWR)

    def heal(self) -> None:
        with self._lock:
            self._cut = False

    def remove(self, port: int) -> None:
        with self._lock:
            self.endpoints.remove(port)

    def close(self) -> None:
        self._closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                if not self.endpoints or self._cut:
                    client.close()
                    continue
                port = self.endpoints[next(self._turn) % len(self.endpoints)]
                self.connections[port] += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        # A replica killed mid-connection resets it: that ends the pipe, as it ends the
        # connection.
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for side in (source, target):
            with contextlib.suppress(OSError):  # already closed by the other direction's pipe
                side.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._open.difference_update((source, target))
