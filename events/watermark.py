"""How far a reader of a stream has got, and waiting until it gets somewhere: read-your-writes
(and :func:`wait_event`, the one way every loop here waits for a signal with a timeout).

Every fold that follows a stream (the API's views, its key registry, a board's worker) moves a
:class:`Watermark` after each message it applies; whoever appended an event waits on it for
the event's sequence before answering, so its next read sees the event.
"""

from __future__ import annotations

import asyncio
from typing import Any


class Watermark:
    """The last stream sequence applied, and the callers waiting for a later one."""

    def __init__(self) -> None:
        self.seq = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def advance(self, seq: int) -> None:
        """``seq`` is applied: wake whoever waits for it or an earlier one."""
        if seq <= self.seq:
            return
        self.seq = seq
        if not self._waiters:
            return
        still: list[tuple[int, asyncio.Future[None]]] = []
        for target, fut in self._waiters:
            if target <= seq:
                if not fut.done():
                    fut.set_result(None)
            else:
                still.append((target, fut))
        self._waiters = still

    async def wait_for(self, seq: int, timeout: float = 10.0) -> None:
        """Return once ``seq`` (or a later sequence) is applied.

        Raises:
            TimeoutError: it was not applied within ``timeout`` seconds.
        """
        if self.seq >= seq:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, fut))
        try:
            async with asyncio.timeout(timeout):
                await fut
        finally:
            if not fut.done():
                fut.cancel()
            self._waiters = [(t, f) for t, f in self._waiters if f is not fut]


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; whether it was set.

    ``asyncio.timeout``, not ``asyncio.wait_for``: on Python 3.11 ``wait_for`` swallows a
    cancellation that arrives as the event is set, and a loop that waits this way then never
    stops.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(task: asyncio.Task[Any], *, again_s: float = 0.5) -> None:
    """Cancel ``task`` and return once it has ended, cancelling it again while it runs.

    On Python 3.11 a cancellation that meets a completing ``asyncio.wait_for`` (nats-py's
    request waits that way) is swallowed, and the task then counts as cancelling: every later
    :func:`wait_event` timeout in it looks like its own and a loop of them never ends.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=again_s)
