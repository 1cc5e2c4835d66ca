"""Limits at the HTTP connection, before any request reaches the app.

uvicorn's httptools protocol puts no bound on the request line or the headers (one 100 MB header
kept the event loop busy for half a minute, and ``/health`` with it), waits for ever for a head
or a body that never completes, and takes any number of connections from one address. This
protocol is uvicorn's with those limits; each refusal is an answer in the service's error
envelope, then the connection is closed:

* a request line over :data:`MAX_URL_BYTES`: 414 ``uri_too_long``;
* a header over :data:`MAX_HEADER_BYTES`, headers over :data:`MAX_HEAD_BYTES` in all or more
  than :data:`MAX_HEADERS` of them: 431 ``request_header_fields_too_large`` (the parser is fed
  no more than one read past the limit, so a giant header costs next to nothing);
* a head not complete within ``head_timeout_s`` of its first byte (or of the connection), or a
  body not complete within ``body_timeout_s`` of its head: 408 ``request_timeout``;
* more than ``max_connections_per_address`` open connections (WebSockets included) from one
  address: 429 ``too_many_connections``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_URL_BYTES = 8 * 1024
MAX_HEADER_BYTES = 8 * 1024
MAX_HEAD_BYTES = 32 * 1024
MAX_HEADERS = 100
#: After a refusal: what may still be read and dropped, and for how long, before the close.
LINGER_BYTES = 16 * 1024 * 1024
LINGER_S = 1.0


@dataclass(frozen=True)
class HttpLimits:
    """Timeouts and the per-address connection cap (the sizes are fixed above)."""

    head_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_connections_per_address: int = 256


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of this module; see :func:`guarded`."""

    limits: ClassVar[HttpLimits] = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_seen = 0
        self._head_bytes = 0
        self._headers_count = 0
        self._refusal: tuple[int, str, str] | None = None
        self._closed_by_guard = False
        self._linger_left = LINGER_BYTES
        self._deadline: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else None
        if (
            address is not None
            and self._open_from(address) > self.limits.max_connections_per_address
        ):
            self._refuse(
                429,
                "too_many_connections",
                f"more than {self.limits.max_connections_per_address} open connections from "
                "this address",
            )
            return
        self._arm(self.limits.head_timeout_s)

    def _open_from(self, address: str) -> int:
        return sum(
            1
            for c in self.connections
            if (client := getattr(c, "client", None)) is not None and client[0] == address
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket protocol owns the connection from here
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._closed_by_guard:
            self._linger_left -= len(data)
            if self._linger_left <= 0:
                self.transport.close()
            return
        if self._in_head:
            self._head_seen += len(data)
        super().data_received(data)
        if self._closed_by_guard:
            return
        if self._in_head and self._head_seen > 2 * MAX_HEAD_BYTES:
            self._refuse(*_TOO_LARGE)

    # ------------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._headers_count = 0
        if self._deadline is None:
            self._arm(self.limits.head_timeout_s)

    def on_url(self, url: bytes) -> None:
        if self._closed_by_guard:
            return
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES and self._refusal is None:
            self._refusal = (414, "uri_too_long", f"the request line is over {MAX_URL_BYTES} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._closed_by_guard:
            return
        self._headers_count += 1
        self._head_bytes += len(name) + len(value) + 4
        if self._refusal is None:
            if len(name) + len(value) > MAX_HEADER_BYTES:
                self._refusal = (*_TOO_LARGE[:2], f"a header is over {MAX_HEADER_BYTES} bytes")
            elif self._head_bytes > MAX_HEAD_BYTES or self._headers_count > MAX_HEADERS:
                self._refusal = _TOO_LARGE
        if self._refusal is None:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._closed_by_guard:
            return
        self._in_head = False
        if self._refusal is not None:
            self._refuse(*self._refusal)
            return
        self._disarm()
        super().on_headers_complete()
        if self.parser is not None and _has_body(self.headers):
            self._arm(self.limits.body_timeout_s)

    def on_body(self, body: bytes) -> None:
        if not self._closed_by_guard:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._closed_by_guard:
            return
        self._disarm()
        super().on_message_complete()

    # ------------------------------------------------------------------ refusals

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # too late for an answer: the app has begun one
            return
        self._refuse(408, "request_timeout", "the request did not arrive in time")

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer ``status`` in the error envelope and close; the parser is fed nothing more.

        The answer is followed by a half-close, then what the client still sends is read and
        dropped for a moment (at most :data:`LINGER_BYTES`, :data:`LINGER_S`) before the close:
        closing with unread data would reset the connection and could destroy the answer
        before the client reads it.
        """
        self._closed_by_guard = True
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        if self.transport.is_closing():
            return
        body = json.dumps({"detail": {"error": code, "message": message}}).encode()
        head = [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self.flow.resume_reading()
        self._deadline = self.loop.call_later(LINGER_S, self.transport.close)


_TOO_LARGE = (
    431,
    "request_header_fields_too_large",
    f"the request's headers are over {MAX_HEAD_BYTES} bytes or {MAX_HEADERS} fields",
)


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


def guarded(limits: HttpLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for these limits."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})
