"""A job of the asyncio client: the twin of :mod:`fpga_cloud.job`."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator

import httpx

from fpga_cloud import api
from fpga_cloud.async_session import AsyncSession
from fpga_cloud.errors import ApiError, NoActiveSession, Unreachable
from fpga_cloud.models import JobInfo
from fpga_cloud.progress import (
    POLL_S,
    RECHECK_S,
    Deadline,
    NoFeed,
    ProgressCallback,
    Tracker,
    feed_refused,
    outcome,
)
from fpga_cloud.sse import Cursor, Parser
from fpga_cloud.transport import AsyncTransport


class AsyncJob:
    """A job on one board (asyncio); see :class:`~fpga_cloud.Job`."""

    def __init__(self, transport: AsyncTransport, fpga_id: int | None, job_id: uuid.UUID) -> None:
        self.id = job_id
        """The job's id."""
        self.board = fpga_id
        """The board it runs on; None while it waits for any board."""
        self._transport = transport

    def __repr__(self) -> str:
        return f"AsyncJob(board={self.board}, id={self.id})"

    async def info(self) -> JobInfo:
        """The job as the service shows it now."""
        response = await self._transport.send(api.job(self.board, self.id))
        info = api.decode(response.content, JobInfo)
        if self.board is None:
            self.board = info.fpga_id
        return info

    async def wait(
        self,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        poll: bool = False,
    ) -> JobInfo:
        """Wait until the job ends, following its events; see ``Job.wait``.

        ``on_progress`` may be a plain function or a coroutine function.

        Raises:
            JobFailed: it failed or was cancelled.
            WaitTimeout: it did not end within ``timeout``.
        """
        deadline = Deadline.after(timeout)
        tracker = Tracker()
        cursor = Cursor()
        last_contact = time.monotonic()
        while True:
            try:
                if poll:
                    info = await self._observe(tracker, on_progress)
                    if info is not None:
                        return outcome(info)
                    await asyncio.sleep(deadline.left(POLL_S))
                    continue
                info = await self._follow(tracker, cursor, deadline, on_progress)
                if info is not None:
                    return outcome(info)
                last_contact = time.monotonic()
            except NoFeed:
                poll = True
            except Unreachable:
                if time.monotonic() - last_contact > self._transport.retry.reconnect_for:
                    raise
                await asyncio.sleep(deadline.left(1.0))

    async def _follow(
        self,
        tracker: Tracker,
        cursor: Cursor,
        deadline: Deadline,
        on_progress: ProgressCallback | None,
    ) -> JobInfo | None:
        call = api.events(self.board, job_id=self.id, after=cursor.after)
        opened = False
        try:
            async with self._transport.stream(call, deadline.left(RECHECK_S)) as response:
                opened = True
                info = await self._observe(tracker, on_progress)
                if info is not None:
                    return info
                parser = Parser()
                async for line in response.aiter_lines():
                    message = parser.feed(line)
                    if message is not None and cursor.take(message) is not None:
                        info = await self._observe(tracker, on_progress)
                        if info is not None:
                            return info
                    deadline.left(RECHECK_S)
        except httpx.TransportError:
            pass  # quiet for RECHECK_S, or cut: read the job again and listen anew
        except ApiError as exc:
            if opened:
                raise  # the job's own read was refused
            raise feed_refused(exc) from None
        info = await self._observe(tracker, on_progress)
        deadline.left(RECHECK_S)
        return info

    async def _observe(
        self, tracker: Tracker, on_progress: ProgressCallback | None
    ) -> JobInfo | None:
        info = await self.info()
        if tracker.changed(info) and on_progress is not None:
            answer = on_progress(info)
            if inspect.isawaitable(answer):
                await answer
        return info if info.done else None

    async def logs(self, follow: bool = False) -> AsyncIterator[str]:
        """The job's log, line by line (``async for``); see ``Job.logs``."""
        while self.board is None:  # it waits for a board: no log yet
            info = await self.info()
            if self.board is not None or not follow or info.done:
                break
            await asyncio.sleep(POLL_S)
        board = self.board
        if board is None:
            return
        if not follow:
            response = await self._transport.send(api.logs(board, self.id))
            for line in response.text.splitlines():
                yield line
            return
        sent = 0
        last_contact = time.monotonic()
        while True:
            seen = 0
            try:
                call = api.logs(board, self.id, True)
                async with self._transport.stream(call, None) as resp:
                    last_contact = time.monotonic()
                    async for line in resp.aiter_lines():
                        seen += 1
                        if seen > sent:
                            sent = seen
                            yield line
                return
            except httpx.TransportError as exc:
                if time.monotonic() - last_contact > self._transport.retry.reconnect_for:
                    raise Unreachable(f"the log follow was cut and did not resume: {exc}") from None
                await asyncio.sleep(self._transport.retry.backoff)

    async def cancel(self) -> None:
        """Cancel the job while it is queued; raises JobNotCancellable once it started."""
        await self._transport.send(api.cancel(self.board, self.id))

    async def session(self, *, keep: bool = False) -> AsyncSession:
        """The session this build opened, once the job is complete."""
        if self.board is None and (await self.info()).fpga_id is None:
            raise NoActiveSession(f"job {self.id} still waits for a board; wait() for it first")
        assert self.board is not None
        return await AsyncSession.fetch(self._transport, self.board, keep=keep)
