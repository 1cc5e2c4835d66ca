"""The Wishbone stream: reads and writes over one WebSocket, with no job per transaction.

Open it from a session (``with session.stream() as bus:``). Opening it renews the session's
lease. Writes are posted: the reply comes once they are sent, and a later read is ordered
after them. Transfers longer than 4096 words are sent as several frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import ExitStack
from types import TracebackType
from typing import Self

import msgspec
from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from fpga_cloud.api import KEY_HEADER, SESSION_HEADER, words_of
from fpga_cloud.config import Settings
from fpga_cloud.errors import FpgaCloudError, Unreachable, from_body
from fpga_cloud.wire import close_error, decode_reply, encode_read, encode_write, pieces

DEFAULT_TIMEOUT = 30.0


def stream_url(base_url: str, fpga_id: int) -> str:
    """The stream's ``ws://`` (or ``wss://``) URL for a board."""
    scheme, rest = base_url.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/fpga/{fpga_id}/stream"


def _headers(settings: Settings, session_id: str) -> dict[str, str]:
    return {KEY_HEADER: settings.api_key, SESSION_HEADER: session_id}


def _failure(exc: Exception, url: str) -> FpgaCloudError:
    """What a failed open or exchange means to the caller."""
    if isinstance(exc, ConnectionClosed):
        close = exc.rcvd
        return close_error(close.code if close else None, close.reason if close else "")
    if isinstance(exc, InvalidStatus):
        response = exc.response
        try:
            body = msgspec.json.decode(response.body or b"")
        except msgspec.DecodeError:
            body = None
        return from_body(response.status_code, body)
    return Unreachable(f"cannot reach the Wishbone stream at {url}: {exc}")


class Bus:
    """A Wishbone stream to one board, for the holder of its session (sync).

    Use it as a context manager; it is opened on entry and closed on exit.
    """

    def __init__(
        self, settings: Settings, fpga_id: int, session_id: str, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.fpga_id = fpga_id
        self.session_id = session_id
        self.timeout = timeout
        self._settings = settings
        self._url = stream_url(settings.url, fpga_id)
        self._ws: ClientConnection | None = None
        self._stack = ExitStack()

    def open(self) -> Self:
        """Open the WebSocket (this renews the session's lease).

        Raises:
            Unreachable: the service could not be reached.
            ApiError: the service refused the upgrade.
        """
        if self._ws is None:
            stack = ExitStack()
            try:
                self._ws = stack.enter_context(
                    connect(
                        self._url, additional_headers=_headers(self._settings, self.session_id),
                        compression=None, open_timeout=self.timeout, proxy=None,
                    )
                )  # fmt: skip
            except (OSError, WebSocketException, TimeoutError) as exc:
                raise _failure(exc, self._url) from None
            self._stack = stack
        return self

    def read(self, address: int, count: int = 1, *, fixed: bool = False) -> list[int]:
        """Read ``count`` words from byte ``address`` (``fixed``: all from that one address).

        Raises:
            BusError: the access failed on the bus.
            AddressOutOfRange: past the design's window, or not 4-byte aligned.
            FpgaNotReserved, StreamClosed: the session ended.
        """
        words: list[int] = []
        for at, _, n in pieces(address, count, fixed):
            words += decode_reply(self._exchange(encode_read(at, n, fixed)), at, n)
        return words

    def write(self, address: int, words: int | Sequence[int], *, fixed: bool = False) -> None:
        """Write one word or several at byte ``address`` (posted; raises as :meth:`read`)."""
        data = words_of(words)
        for at, offset, n in pieces(address, len(data), fixed):
            decode_reply(self._exchange(encode_write(at, data[offset : offset + n], fixed)), at, n)

    def check(self, wait: float = 0.05) -> None:
        """Raise the service's refusal if it closes the stream within ``wait`` seconds (a
        stream is refused after the handshake, by a close frame)."""
        ws = self.open()._ws
        assert ws is not None
        try:
            ws.recv(timeout=wait)
        except TimeoutError:
            return
        except (OSError, WebSocketException) as exc:
            self.close()
            raise _failure(exc, self._url) from None

    def _exchange(self, frame: bytes) -> bytes:
        ws = self.open()._ws
        assert ws is not None
        try:
            ws.send(frame)
            reply = ws.recv(timeout=self.timeout)
        except (OSError, WebSocketException, TimeoutError) as exc:
            self.close()
            raise _failure(exc, self._url) from None
        if not isinstance(reply, bytes):
            raise FpgaCloudError(f"the stream sent text: {reply[:80]!r}", code="bad_response")
        return reply

    def close(self) -> None:
        """Close the stream (the session stays)."""
        self._ws = None
        self._stack.close()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncBus:
    """A Wishbone stream to one board, for the holder of its session (asyncio).

    Use it as an async context manager (``async with session.stream() as bus:``).
    """

    def __init__(
        self, settings: Settings, fpga_id: int, session_id: str, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.fpga_id = fpga_id
        self.session_id = session_id
        self.timeout = timeout
        self._settings = settings
        self._url = stream_url(settings.url, fpga_id)
        self._ws: AsyncConnection | None = None

    async def open(self) -> Self:
        """Open the WebSocket (this renews the session's lease); raises as :meth:`Bus.open`."""
        if self._ws is None:
            try:
                self._ws = await async_connect(
                    self._url, additional_headers=_headers(self._settings, self.session_id),
                    compression=None, open_timeout=self.timeout, proxy=None,
                )  # fmt: skip
            except (OSError, WebSocketException, TimeoutError) as exc:
                raise _failure(exc, self._url) from None
        return self

    async def read(self, address: int, count: int = 1, *, fixed: bool = False) -> list[int]:
        """Read ``count`` words from byte ``address``; raises as :meth:`Bus.read`."""
        words: list[int] = []
        for at, _, n in pieces(address, count, fixed):
            words += decode_reply(await self._exchange(encode_read(at, n, fixed)), at, n)
        return words

    async def write(self, address: int, words: int | Sequence[int], *, fixed: bool = False) -> None:
        """Write one word or several at byte ``address``; raises as :meth:`Bus.read`."""
        data = words_of(words)
        for at, offset, n in pieces(address, len(data), fixed):
            frame = encode_write(at, data[offset : offset + n], fixed)
            decode_reply(await self._exchange(frame), at, n)

    async def check(self, wait: float = 0.05) -> None:
        """Raise the service's refusal if it closes the stream within ``wait`` seconds."""
        ws = (await self.open())._ws
        assert ws is not None
        try:
            async with asyncio.timeout(wait):
                await ws.recv()
        except TimeoutError:
            return
        except (OSError, WebSocketException) as exc:
            await self.close()
            raise _failure(exc, self._url) from None

    async def _exchange(self, frame: bytes) -> bytes:
        ws = (await self.open())._ws
        assert ws is not None
        try:
            await ws.send(frame)
            async with asyncio.timeout(self.timeout):
                reply = await ws.recv()
        except (OSError, WebSocketException, TimeoutError) as exc:
            await self.close()
            raise _failure(exc, self._url) from None
        if not isinstance(reply, bytes):
            raise FpgaCloudError(f"the stream sent text: {reply[:80]!r}", code="bad_response")
        return reply

    async def close(self) -> None:
        """Close the stream (the session stays)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
