"""A small keep-alive HTTP/1.1 load generator: cheap enough to leave the server most of the CPU."""

from __future__ import annotations

import asyncio
import time


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


def header_lines(headers: dict[str, str]) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items())


async def get_rate(
    host: str, port: int, path: str, *, key: str, connections: int, seconds: float
) -> float:
    """Requests per second of ``GET path`` over ``connections`` keep-alive connections."""
    raw = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\n\r\n".encode()
    done = 0
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                if await _request(reader, writer, raw) == 200:
                    done += 1
                else:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{errors} non-200 answers during the load")
    return done / elapsed


class RawClient:
    """One keep-alive connection; a request costs a write and a read, nothing more."""

    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port = host, port
        self.headers = {"X-API-Key": key}
        """Sent with every request (the key; add ``X-Session-ID`` once there is a session)."""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "application/json",
        session: str | None = None,
    ) -> tuple[int, bytes]:
        try:
            return await self._request(method, path, body, content_type, session)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server closed an idle keep-alive connection: open a new one, once.
            await self.close()
            return await self._request(method, path, body, content_type, session)

    async def _request(
        self, method: str, path: str, body: bytes, content_type: str, session: str | None
    ) -> tuple[int, bytes]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n" + header_lines(self.headers)
        if session:
            head += f"X-Session-ID: {session}\r\n"
        if body or method in ("POST", "PUT"):
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        self._writer.write(head.encode() + b"\r\n" + body)
        raw = await self._reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length = 0
        for line in raw.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await self._reader.readexactly(length) if length else b""
        return status, data

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None
