"""The asyncio client: the twin of :mod:`fpga_cloud.client`, method for method."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import httpx

from fpga_cloud import api
from fpga_cloud.async_job import AsyncJob
from fpga_cloud.async_session import AsyncSession
from fpga_cloud.client import DEFAULT_TIMEOUT
from fpga_cloud.config import resolve
from fpga_cloud.designs import DesignSource, load
from fpga_cloud.errors import FpgaNotIdle, NoIdleBoard, Unreachable
from fpga_cloud.models import ANY, Board, BoardChoice, Event, Health, Submitted, WhoAmI
from fpga_cloud.retry import RetryPolicy
from fpga_cloud.sse import SILENCE_S, Cursor, Parser
from fpga_cloud.transport import AsyncTransport


class AsyncClient:
    """A connection to an fpga-cloud service (asyncio); arguments as :class:`~fpga_cloud.Client`.

    Use it as ``async with AsyncClient() as client:`` (or call ``aclose()``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = resolve(base_url, api_key)
        self._transport = AsyncTransport(self.settings, timeout, retry or RetryPolicy())

    @property
    def base_url(self) -> str:
        """The service's URL."""
        return self.settings.url

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections (an ``async with`` block does it)."""
        await self._transport.aclose()

    async def health(self) -> Health:
        """Whether the service and its event store answer (needs no key)."""
        return api.decode((await self._transport.send(api.health())).content, Health)

    async def whoami(self) -> WhoAmI:
        """The key this client uses."""
        return api.decode((await self._transport.send(api.whoami())).content, WhoAmI)

    async def boards(self) -> list[Board]:
        """Every board of the farm with its state and session."""
        return api.decode((await self._transport.send(api.boards())).content, list[Board])

    async def board(self, fpga_id: int) -> Board:
        """One board's state and session."""
        return api.decode((await self._transport.send(api.board(fpga_id))).content, Board)

    async def submit(
        self,
        design: DesignSource,
        board: BoardChoice = None,
        top: str | None = None,
        *,
        filename: str | None = None,
        driver: str | None = None,
    ) -> AsyncJob:
        """Upload a design to a board (None: the first idle one; ``"any"``: the next free one,
        waiting in line); see ``Client.submit``."""
        upload = load(design, filename)
        if board == ANY:
            accepted = await self._transport.send(api.submit_any(upload, top, driver))
            return self._job(api.decode(accepted.content, Submitted))
        if isinstance(board, int):
            queued = await self._transport.send(api.submit(board, upload, top))
            return self._job(api.decode(queued.content, Submitted))
        for candidate in await self.boards():
            if not candidate.available:
                continue
            try:
                queued = await self._transport.send(api.submit(candidate.fpga_id, upload, top))
            except FpgaNotIdle:
                continue
            return self._job(api.decode(queued.content, Submitted))
        raise NoIdleBoard("no board is idle; try again later or name one with board=")

    def _job(self, queued: Submitted) -> AsyncJob:
        return AsyncJob(self._transport, queued.fpga_id, queued.job_id)

    def job(self, board: int | None, job_id: uuid.UUID | str) -> AsyncJob:
        """A job found again by its board and id (board None: a job submitted for any)."""
        return AsyncJob(self._transport, board, uuid.UUID(str(job_id)))

    async def session(self, board: int, *, keep: bool = False) -> AsyncSession:
        """The session of a board this key holds; raises NoActiveSession when none."""
        return await AsyncSession.fetch(self._transport, board, keep=keep)

    async def events(
        self,
        board: int | None = None,
        types: api.TypeFilter = None,
        after: int | None = None,
        *,
        job_id: uuid.UUID | str | None = None,
    ) -> AsyncIterator[Event]:
        """The live feed (``async for``), resumed without gap or duplicate after a cut; see
        ``Client.events``."""
        cursor = Cursor(after)
        last_contact = time.monotonic()
        while True:
            call = api.events(board, types, job_id, cursor.after)
            delivered = 0
            try:
                async with self._transport.stream(call, SILENCE_S) as response:
                    last_contact = time.monotonic()
                    parser = Parser()
                    async for line in response.aiter_lines():
                        message = parser.feed(line)
                        event = cursor.take(message) if message is not None else None
                        if event is not None:
                            delivered += 1
                            yield event
            except (httpx.TransportError, Unreachable) as exc:
                if time.monotonic() - last_contact > self._transport.retry.reconnect_for:
                    raise Unreachable(f"the live feed was cut and did not resume: {exc}") from None
            # A feed that was working is resumed at once; one that keeps failing, after a pause.
            if not delivered:
                await asyncio.sleep(self._transport.retry.backoff)
