"""A local stand-in for the service's HTTP API, scripted per path, for the SDK's retry and
fallback rules: what the real system never does on cue (a 503, a connection dropped mid-answer,
no live feed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: An answer: status, headers, JSON body; or None to drop the connection without one.
Answer = tuple[int, dict[str, str], object] | None
Script = Callable[[str, str, int], Answer]
"""(method, path, how many times this method and path were asked before) -> the answer."""


@dataclass
class Farm:
    url: str
    script: Script
    requests: list[tuple[str, str]] = field(default_factory=list)
    idempotency_keys: list[str | None] = field(default_factory=list)
    """The ``Idempotency-Key`` of each request, in order."""

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r == (method, path))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        farm = self.server.farm
        seen = farm.count(self.command, path)
        farm.requests.append((self.command, path))
        farm.idempotency_keys.append(self.headers.get("Idempotency-Key"))
        answer = farm.script(self.command, path, seen)
        if answer is None:
            self.close_connection = True
            self.connection.close()  # the request arrived; no answer ever will
            return
        status, headers, body = answer
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    farm: Farm


@contextmanager
def farm(script: Script) -> Iterator[Farm]:
    """A running stand-in on a free port."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.farm = Farm(f"http://127.0.0.1:{server.server_address[1]}", script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.farm
    finally:
        server.shutdown()
        server.server_close()
