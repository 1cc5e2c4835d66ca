"""A local stand-in for GitHub's REST API: ``GET /user`` answers for the tokens it was given."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        login = self.server.users.get(token)
        if self.path != "/user":
            self._reply(404, {"message": "Not Found"})
        elif self.server.status is not None:
            self._reply(self.server.status, {"message": "stand-in failure"})
        elif login is None:
            self._reply(401, {"message": "Bad credentials"})
        else:
            self._reply(200, {"login": login, "id": 1, "type": "User"})

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    users: dict[str, str]
    requests: list[tuple[str, dict[str, str]]]
    status: int | None


@contextmanager
def github_standin(users: dict[str, str]) -> Iterator[_Server]:
    """Serve ``users`` (token -> login) on a free loopback port; ``.status`` forces failures."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.users, server.requests, server.status = users, [], None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"
