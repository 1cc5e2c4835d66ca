"""Limits at the connection: oversized heads, slow clients and connection floods are answered
in the error envelope and closed, and ``/health`` keeps answering meanwhile.

The app is served by uvicorn with the service's own protocol (real sockets, no ASGI shortcut):
these limits live below the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from events.settings import Settings
from services.api.httpguard import MAX_HEAD_BYTES, MAX_HEADER_BYTES, MAX_HEADERS, MAX_URL_BYTES
from tests.integration.conftest import LiveApi, ServeApi
from tests.keys import ALICE

HEAD_TIMEOUT_S = 0.5
CAP = 8


@pytest.fixture
async def api(serve_api: ServeApi) -> AsyncIterator[LiveApi]:
    settings = Settings(
        rate_limit_per_s=0, head_timeout_s=HEAD_TIMEOUT_S, body_timeout_s=1.0,
        max_connections_per_address=CAP,
    )  # fmt: skip
    async with serve_api(settings) as live:
        yield live


async def _open(api: LiveApi) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(api.base)
    return await asyncio.open_connection(url.hostname, url.port)


async def _answer(reader: asyncio.StreamReader, timeout: float = 10.0) -> tuple[int, Any]:
    """Status and JSON body of the one answer before the server closes the connection."""
    raw = await asyncio.wait_for(reader.read(), timeout)
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else None


async def _send_head(api: LiveApi, head: bytes) -> tuple[int, Any]:
    reader, writer = await _open(api)
    try:
        writer.write(head)
        await writer.drain()
        return await _answer(reader)
    except ConnectionResetError:
        return await _answer(reader)
    finally:
        writer.close()


def _envelope(body: Any, code: str) -> None:
    assert set(body) == {"detail"} and body["detail"]["error"] == code
    assert body["detail"]["message"]


async def test_a_huge_header_is_refused_at_once_while_health_answers(api: LiveApi) -> None:
    reader, writer = await _open(api)
    head = b"GET /fpga HTTP/1.1\r\nHost: x\r\nX-Big: "

    async def flood() -> None:
        writer.write(head)
        chunk = b"a" * (1024 * 1024)
        with contextlib.suppress(ConnectionError):
            for _ in range(100):  # 100 MB, as fast as the socket takes it
                writer.write(chunk)
                await writer.drain()

    answer = asyncio.create_task(_answer(reader))  # read as it comes, as a client would
    sender = asyncio.create_task(flood())
    async with httpx.AsyncClient(base_url=api.base, timeout=10) as client:
        health = [(await client.get("/health")).status_code for _ in range(5)]
    status, body = await answer
    sender.cancel()
    writer.close()
    assert status == 431
    _envelope(body, "request_header_fields_too_large")
    assert health == [200] * 5


@pytest.mark.parametrize(
    ("head", "status", "code"),
    [
        (b"GET /fpga?" + b"q" * MAX_URL_BYTES + b" HTTP/1.1\r\n\r\n", 414, "uri_too_long"),
        (
            b"GET /fpga HTTP/1.1\r\nX-One: " + b"v" * MAX_HEADER_BYTES + b"\r\n\r\n",
            431,
            "request_header_fields_too_large",
        ),
        (
            b"GET /fpga HTTP/1.1\r\n"
            + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(MAX_HEAD_BYTES // 900))
            + b"\r\n",
            431,
            "request_header_fields_too_large",
        ),
        (
            b"GET /fpga HTTP/1.1\r\n"
            + b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
            + b"\r\n",
            431,
            "request_header_fields_too_large",
        ),
    ],
    ids=["request-line", "one-header", "all-headers", "header-count"],
)
async def test_oversized_heads_are_refused(
    api: LiveApi, head: bytes, status: int, code: str
) -> None:
    got, body = await _send_head(api, head)
    assert got == status
    _envelope(body, code)


async def test_heads_and_bodies_within_the_limits_are_served(api: LiveApi) -> None:
    big_but_fine = {"X-Note": "n" * (MAX_HEADER_BYTES // 2), **ALICE.headers}
    async with httpx.AsyncClient(base_url=api.base, timeout=10) as client:
        assert (await client.get("/fpga", headers=big_but_fine)).status_code == 200
        # A body in the same packets as its head does not count as head.
        upload = b"#" * 4000 + b"\n"
        r = await client.post(
            "/fpga/1/submit", files={"file": ("d.py", upload)}, headers=ALICE.headers
        )
        assert r.status_code == 202, r.text


async def test_a_partial_head_is_timed_out(api: LiveApi) -> None:
    reader, writer = await _open(api)
    started = time.monotonic()
    writer.write(b"GET /fpga HTTP/1.1\r\nX-Slow: ")
    await writer.drain()
    status, body = await _answer(reader)
    writer.close()
    assert status == 408
    _envelope(body, "request_timeout")
    assert time.monotonic() - started >= HEAD_TIMEOUT_S


async def test_a_connection_that_sends_nothing_is_timed_out(api: LiveApi) -> None:
    reader, writer = await _open(api)
    status, _ = await _answer(reader)
    writer.close()
    assert status == 408


async def test_a_body_that_never_completes_is_timed_out(api: LiveApi) -> None:
    reader, writer = await _open(api)
    key = ALICE.plaintext.encode()
    writer.write(
        b"POST /fpga/2/run HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key
        + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"op\": "
    )  # fmt: skip
    await writer.drain()
    status, body = await _answer(reader)
    writer.close()
    assert status == 408
    _envelope(body, "request_timeout")


async def test_connections_per_address_are_capped(api: LiveApi) -> None:
    held = [await _open(api) for _ in range(CAP)]
    try:
        await asyncio.sleep(0.05)
        reader, writer = await _open(api)
        status, body = await _answer(reader)
        writer.close()
        assert status == 429
        _envelope(body, "too_many_connections")
    finally:
        for _, w in held:
            w.close()
    await asyncio.sleep(0.1)
    async with httpx.AsyncClient(base_url=api.base, timeout=10) as client:
        assert (await client.get("/health")).status_code == 200


async def test_slow_clients_are_closed_and_the_descriptors_come_back(api: LiveApi) -> None:
    opened = []
    for _ in range(CAP - 1):
        reader, writer = await _open(api)
        writer.write(b"GET /fpga HTTP/1.1\r\nX-Slow: ")
        opened.append((reader, writer))
    statuses = [(await _answer(r))[0] for r, _ in opened]
    for _, w in opened:
        w.close()
    assert statuses == [408] * (CAP - 1)
