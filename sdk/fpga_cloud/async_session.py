"""A reserved board, for its holder (asyncio): the twin of :mod:`fpga_cloud.session`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self, overload

from fpga_cloud import api
from fpga_cloud.errors import (
    BusError,
    FpgaCloudError,
    JobNotComplete,
    NoActiveSession,
    WaitTimeout,
)
from fpga_cloud.models import RunResult, SessionInfo, Submitted, TraceInfo
from fpga_cloud.session import (
    RENEW_LOOK_S,
    RENEW_WAIT_S,
    RESULT_FIRST_S,
    RESULT_MAX_S,
    RUN_TIMEOUT_S,
)
from fpga_cloud.stream import AsyncBus
from fpga_cloud.trace import AsyncTrace, AsyncTraced
from fpga_cloud.transport import AsyncTransport

if TYPE_CHECKING:
    from fpga_cloud.async_job import AsyncJob


class AsyncSession:
    """The holder's handle on a reserved board (asyncio); see :class:`~fpga_cloud.Session`.

    As an async context manager it releases the board when the block ends, unless ``keep``.
    """

    def __init__(self, transport: AsyncTransport, info: SessionInfo, *, keep: bool = False) -> None:
        self.info = info
        """The session as last seen (``expires_at`` moves with each renewal)."""
        self.keep = keep
        """Leave the board reserved when an ``async with`` block ends."""
        self.released = False
        """Whether ``release`` was called."""
        self._transport = transport

    @classmethod
    async def fetch(
        cls, transport: AsyncTransport, fpga_id: int, *, keep: bool = False
    ) -> AsyncSession:
        """The board's current session; raises NoActiveSession when it holds none."""
        response = await transport.send(api.session(fpga_id))
        return cls(transport, api.decode(response.content, SessionInfo), keep=keep)

    @property
    def id(self) -> uuid.UUID:
        """The session id (sent as ``X-Session-ID``)."""
        return self.info.session_id

    @property
    def board(self) -> int:
        """The reserved board."""
        return self.info.fpga_id

    @property
    def expires_at(self) -> datetime:
        """When the lease runs out unless renewed."""
        return self.info.expires_at

    def __repr__(self) -> str:
        return f"AsyncSession(board={self.board}, id={self.id}, expires_at={self.expires_at})"

    @overload
    async def read(
        self, address: int, count: int = 1, *, trace: Literal[False] = False
    ) -> list[int]: ...
    @overload
    async def read(self, address: int, count: int = 1, *, trace: Literal[True]) -> AsyncTraced: ...
    async def read(
        self, address: int, count: int = 1, *, trace: bool = False
    ) -> list[int] | AsyncTraced:
        """Read ``count`` words from byte ``address`` (one run job); see ``Session.read``."""
        result = await self._run(api.run_read(self.board, self.id, address, count, trace))
        return self._traced(result) if trace else result.data

    @overload
    async def write(
        self, address: int, words: int | Sequence[int], *, trace: Literal[False] = False
    ) -> None: ...
    @overload
    async def write(
        self, address: int, words: int | Sequence[int], *, trace: Literal[True]
    ) -> AsyncTraced: ...
    async def write(
        self, address: int, words: int | Sequence[int], *, trace: bool = False
    ) -> AsyncTraced | None:
        """Write one word or several at byte ``address`` (one run job); see ``Session.write``."""
        call = api.run_write(self.board, self.id, address, api.words_of(words), trace)
        result = await self._run(call)
        return self._traced(result) if trace else None

    def _traced(self, result: RunResult) -> AsyncTraced:
        assert result.trace_id is not None
        return AsyncTraced(result.data, AsyncTrace(self._transport, self.board, result.trace_id))

    async def trace_start(self) -> AsyncTrace:
        """Record the design and its bus from now on; see ``Session.trace_start``."""
        response = await self._transport.send(api.trace_start(self.board, self.id))
        info = api.decode(response.content, TraceInfo)
        return AsyncTrace(self._transport, self.board, info.trace_id)

    async def trace_stop(self) -> AsyncTrace:
        """End the recording in progress; see ``Session.trace_stop``."""
        response = await self._transport.send(api.trace_stop(self.board, self.id))
        info = api.decode(response.content, TraceInfo)
        return AsyncTrace(self._transport, self.board, info.trace_id)

    async def _run(self, call: api.Call) -> RunResult:
        queued = api.decode((await self._transport.send(call)).content, Submitted)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        delay = RESULT_FIRST_S
        while True:
            await asyncio.sleep(delay)
            try:
                response = await self._transport.send(api.result(self.board, queued.job_id))
            except JobNotComplete:
                if time.monotonic() > deadline:
                    raise WaitTimeout(f"run job {queued.job_id} had no result in time") from None
                delay = min(delay * 2, RESULT_MAX_S)
                continue
            result = api.decode(response.content, RunResult)
            if not result.ok:
                raise BusError(f"run job {queued.job_id} failed: {result.error or 'no reason'}")
            return result

    def stream(self, timeout: float = 30.0) -> AsyncBus:
        """The Wishbone stream: ``async with session.stream() as bus: await bus.read(0)``."""
        return AsyncBus(self._transport.settings, self.board, str(self.id), timeout)

    async def refresh(self) -> SessionInfo:
        """Read the session again and return it; raises NoActiveSession once it ended."""
        self.info = (await AsyncSession.fetch(self._transport, self.board)).info
        return self.info

    async def renew(self) -> SessionInfo:
        """Renew the lease by opening and closing the Wishbone stream (no bus cycle); see
        ``Session.renew``."""
        before = self.info.expires_at
        async with self.stream() as bus:
            await bus.check(wait=0.05)
            # The lease moves once the service recorded the stream; it may not move at all
            # when the session is at its maximum length.
            for _ in range(int(RENEW_WAIT_S / RENEW_LOOK_S)):
                if (await self.refresh()).expires_at > before:
                    break
                await asyncio.sleep(RENEW_LOOK_S)
        return self.info

    async def release(self) -> AsyncJob:
        """Release the board; its reset job (returned) restores the base SoC."""
        from fpga_cloud.async_job import AsyncJob

        call = api.release(self.board, self.id)
        queued = api.decode((await self._transport.send(call)).content, Submitted)
        self.released = True
        return AsyncJob(self._transport, self.board, queued.job_id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.keep or self.released:
            return
        try:
            await self.release()
        except NoActiveSession:
            pass  # it ended already (expired, or released elsewhere)
        except FpgaCloudError:
            if exc is None:
                raise
