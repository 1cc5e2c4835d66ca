"""Keeps the views current from the streams; the API reads only from here."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterable

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events.codec import decode_board_event, decode_log
from events.jobs import job_id_of
from events.store import EventStore, stream_seq
from events.subjects import LOG_STREAM, all_boards_filter, all_logs_filter
from events.types import BoardEvent, LogAppended, StreamClosed, StreamOpened
from projections import board as board_fold
from projections import job as job_fold
from projections import logs as log_fold
from projections.views import BoardView, JobView, LogView


class Views:
    """The folded state of every board, job and log, and the last stream sequence applied."""

    def __init__(self, fpga_ids: Iterable[int]) -> None:
        self.boards: dict[int, BoardView] = {i: BoardView(fpga_id=i) for i in fpga_ids}
        self.jobs: dict[uuid.UUID, JobView] = {}
        self.logs: dict[uuid.UUID, LogView] = {}
        self.open_streams: dict[uuid.UUID, StreamOpened] = {}
        """Wishbone streams opened and not yet recorded as closed, by stream id."""
        self.applied_seq = 0

    def apply(self, seq: int, event: BoardEvent) -> None:
        """Fold one board event (a redelivered or older sequence is ignored)."""
        if seq <= self.applied_seq:
            return
        self.applied_seq = seq
        board = self.boards.get(event.fpga_id)
        if board is not None:
            self.boards[event.fpga_id] = board_fold.apply(board, event, seq)
        if isinstance(event, StreamOpened):
            self.open_streams[event.stream_id] = event
        elif isinstance(event, StreamClosed):
            self.open_streams.pop(event.stream_id, None)
        job_id = job_id_of(event)
        if isinstance(job_id, uuid.UUID):
            job = job_fold.apply(self.jobs.get(job_id), event)
            if job is not None:
                self.jobs[job_id] = job


class ProjectionRunner:
    """Follows the board and log streams with ordered consumers and folds them into ``Views``."""

    def __init__(self, store: EventStore, fpga_ids: Iterable[int]) -> None:
        self._store = store
        self.views = Views(fpga_ids)
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._subs: list[JetStreamContext.PushSubscription] = []
        self._listeners: list[Callable[[int, BoardEvent], None]] = []
        self._log_listeners: list[Callable[[LogAppended], None]] = []
        self.log_seq = 0

    def add_listener(self, listener: Callable[[int, BoardEvent], None]) -> None:
        """Called after each applied event (e.g. to drop a cached response)."""
        self._listeners.append(listener)

    def add_log_listener(self, listener: Callable[[LogAppended], None]) -> None:
        """Called after each folded log entry (e.g. to feed followers of a job's log)."""
        self._log_listeners.append(listener)

    async def start(self) -> None:
        """Subscribe from the beginning and return once the views have caught up with now."""
        target = await self._store.last_seq()
        self._subs.append(await self._store.subscribe(all_boards_filter(), self._on_board))
        self._subs.append(
            await self._store.subscribe(all_logs_filter(), self._on_log, stream=LOG_STREAM)
        )
        await self.wait_for(target)

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()

    async def _on_board(self, msg: Msg) -> None:
        seq = stream_seq(msg)
        event = decode_board_event(msg.data)
        self.views.apply(seq, event)
        for listener in self._listeners:
            listener(seq, event)
        if self._waiters:
            self._wake(seq)

    async def _on_log(self, msg: Msg) -> None:
        entry = decode_log(msg.data)
        current = self.views.logs.get(entry.job_id) or LogView()
        self.views.logs[entry.job_id] = log_fold.apply(current, entry)
        for listener in self._log_listeners:
            listener(entry)

    def _wake(self, seq: int) -> None:
        still: list[tuple[int, asyncio.Future[None]]] = []
        for target, fut in self._waiters:
            if target <= seq:
                if not fut.done():
                    fut.set_result(None)
            else:
                still.append((target, fut))
        self._waiters = still

    async def wait_for(self, seq: int, timeout: float = 10.0) -> None:
        """Return once the event at ``seq`` (or a later one) is folded: read-your-writes."""
        if self.views.applied_seq >= seq:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, fut))
        await asyncio.wait_for(fut, timeout)
