"""A TCP proxy in front of the API that a test can cut: every open connection dropped at once,
as a restarted load balancer or a lost network would, while new connections keep working."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Self


class CuttingProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:target``; ``cut()`` drops what is open."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._open |= {client, upstream}
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                self._drop(s)

    def _drop(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def open_connections(self) -> int:
        """Client connections open now."""
        with self._lock:
            return len(self._open) // 2

    def wait_open(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` client connections are open."""
        deadline = time.monotonic() + timeout
        while self.open_connections() < count:
            assert time.monotonic() < deadline, "nobody connected through the proxy"
            time.sleep(0.01)

    def cut(self) -> int:
        """Drop every open connection; how many there were."""
        with self._lock:
            sockets = list(self._open)
            self.cuts += 1
        for s in sockets:
            self._drop(s)
        return len(sockets)

    def close(self) -> None:
        self._server.close()
        self.cut()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
