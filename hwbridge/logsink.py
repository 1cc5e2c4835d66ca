"""Batches a job's output lines into ``LogAppended`` events while the work runs.

With the time the job's work started, each line starts with the seconds since then
(``12.34s ...``), so a log shows where the time went.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from nats.errors import Error as NatsError

from events.errors import EventStoreError
from events.store import EventStore
from events.types import LogAppended

MAX_LINE = 4000
log = logging.getLogger(__name__)

FLUSH_LINES = 200
FLUSH_SECONDS = 0.2


class LogSink:
    """Collects ``(stage, line)`` pairs; flushes every 200 lines or 0.2 s, and on ``close``.

    Args:
        store: Where the lines go.
        fpga_id: The board.
        job_id: The job.
        started: ``time.monotonic()`` when the job's work started, to time each line from.
    """

    def __init__(
        self, store: EventStore, fpga_id: int, job_id: uuid.UUID, started: float | None = None
    ) -> None:
        self._store = store
        self._started = started
        self._fpga_id = fpga_id
        self._job_id = job_id
        self._stage = ""
        self._lines: list[str] = []
        self._unsent: list[LogAppended] = []
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, stage: str, line: str) -> None:
        if stage != self._stage and self._lines:
            await self.flush()
        self._stage = stage
        if self._started is not None:
            line = f"{time.monotonic() - self._started:.2f}s {line}"
        self._lines.append(line if len(line) <= MAX_LINE else line[:MAX_LINE] + " [...]")
        if len(self._lines) >= FLUSH_LINES:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        self._timer = None
        try:
            await self.flush()
        except (NatsError, EventStoreError, TimeoutError) as exc:
            log.warning("board %d: log lines kept for the next flush: %s", self._fpga_id, exc)

    async def flush(self) -> None:
        """Store the buffered lines. An entry the store did not acknowledge is kept and sent
        again first at the next flush (the same entry, so one that did land is stored once)."""
        async with self._lock:
            if self._lines:
                lines, self._lines = self._lines, []
                self._unsent.append(
                    LogAppended(
                        fpga_id=self._fpga_id, job_id=self._job_id, stage=self._stage, lines=lines
                    )
                )
            while self._unsent:
                # Shielded: a cancelled timer must not drop lines already taken from the buffer.
                await asyncio.shield(self._store.append_log(self._unsent[0]))
                self._unsent.pop(0)

    async def close(self) -> None:
        """Flush what is left; every line is stored before the job's outcome is appended."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self.flush()
