"""What one hostile client costs everybody else: a 100 MB header, with ``/health`` timed meanwhile.

Before the connection limits, the API took 29.8 s to answer such a header (401) and ``/health``
timed out meanwhile; now the head is refused (431) after at most one read past its limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

HEADER_MB = 100


async def huge_header(host: str, port: int) -> tuple[int, float, list[float]]:
    """(status of the request with the huge header, seconds until it, /health latencies)."""
    reader, writer = await asyncio.open_connection(host, port)
    started = time.perf_counter()

    async def flood() -> None:
        writer.write(b"GET /fpga HTTP/1.1\r\nHost: bench\r\nX-Big: ")
        chunk = b"a" * (1024 * 1024)
        with contextlib.suppress(ConnectionError):
            for _ in range(HEADER_MB):
                writer.write(chunk)
                await writer.drain()

    async def answer() -> tuple[int, float]:
        head = await reader.readuntil(b"\r\n")
        return int(head.split(b" ", 2)[1]), time.perf_counter() - started

    async def health() -> list[float]:
        times = []
        h_reader, h_writer = await asyncio.open_connection(host, port)
        for _ in range(50):
            t0 = time.perf_counter()
            h_writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
            head = await h_reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await h_reader.readexactly(length)
            times.append(time.perf_counter() - t0)
        h_writer.close()
        return times

    sender = asyncio.create_task(flood())
    (status, took), times = await asyncio.gather(answer(), health())
    sender.cancel()
    with contextlib.suppress(BaseException):
        await sender
    writer.close()
    return status, took, times
