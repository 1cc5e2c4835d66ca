"""The API's background chores (lease expiry, orphaned streams, the waiting list): each a step
run every so often, or at once when poked, until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from events.watermark import wait_event

log = logging.getLogger(__name__)


class Chore:
    """Runs ``step`` every ``interval_s`` and whenever :meth:`poke` is called.

    Stopping does not rely on cancellation alone (a cancel that meets a timeout can be lost on
    Python 3.11): the loop also checks a flag each time it wakes.
    """

    def __init__(self, name: str, step: Callable[[], Awaitable[object]], interval_s: float) -> None:
        self._name = name
        self._step = step
        self._interval = interval_s
        self._poke = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """Run the step soon, without waiting for the interval."""
        self._poke.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._poke.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        while not self._stopping:
            await wait_event(self._poke, self._interval)
            self._poke.clear()
            if self._stopping:
                return
            try:
                await self._step()
            except Exception:  # a failed step is tried again on the next wake
                log.exception("%s failed", self._name)
