"""Keeps the views current from the streams; the API reads only from here."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events.codec import decode_log, decode_stored
from events.farm import BoardClaimed, FarmEvent, StoredEvent
from events.jobs import job_id_of
from events.store import EventStore, stream_seq
from events.subjects import BOARD_STREAM_FILTERS, LOG_STREAM, all_logs_filter
from events.types import BoardEvent, LogAppended, StreamClosed, StreamOpened
from events.watermark import Watermark
from projections import board as board_fold
from projections import job as job_fold
from projections import logs as log_fold
from projections import trace as trace_fold
from projections import waiting as waiting_fold
from projections.views import BoardView, JobView, LogView, TraceView
from projections.waiting import WaitingList


class Views:
    """The folded state of every board, job and log, and the last stream sequence applied."""

    def __init__(self, fpga_ids: Iterable[int]) -> None:
        self.boards: dict[int, BoardView] = {i: BoardView(fpga_id=i) for i in fpga_ids}
        self.jobs: dict[uuid.UUID, JobView] = {}
        self.logs: dict[uuid.UUID, LogView] = {}
        self.open_streams: dict[uuid.UUID, StreamOpened] = {}
        """Wishbone streams opened and not yet recorded as closed, by stream id."""
        self.holdings_seq: dict[str, int] = {}
        """Each key's last ``BoardClaimed``: its holdings aggregate's expected sequence."""
        self.waiting = WaitingList()
        """Jobs waiting for any board."""
        self.traces: dict[uuid.UUID, TraceView] = {}
        """Waveform recordings, by trace id."""
        self.applied_seq = 0

    def apply(self, seq: int, event: StoredEvent) -> None:
        """Fold one event of the board stream (a redelivered or older sequence is ignored)."""
        if seq <= self.applied_seq:
            return
        self.applied_seq = seq
        if isinstance(event, BoardClaimed):
            self.holdings_seq[event.owner] = seq
            return
        if isinstance(event, FarmEvent):
            self.waiting = waiting_fold.apply(self.waiting, event, seq)
        else:
            board = self.boards.get(event.fpga_id)
            if board is not None:
                self.boards[event.fpga_id] = board_fold.apply(board, event, seq)
            if isinstance(event, StreamOpened):
                self.open_streams[event.stream_id] = event
            elif isinstance(event, StreamClosed):
                self.open_streams.pop(event.stream_id, None)
            trace_id = trace_fold.trace_id_of(event)
            if trace_id is not None:
                trace = trace_fold.apply(self.traces.get(trace_id), event)
                if trace is not None:
                    self.traces[trace_id] = trace
        job_id = job_id_of(event)
        if job_id is not None:
            job = job_fold.apply(self.jobs.get(job_id), event)
            if job is not None:
                self.jobs[job_id] = job

    def boards_held(self, owner: str) -> int:
        """Boards ``owner`` holds: reserved by it, or with its build job queued or running."""
        held = 0
        for board in self.boards.values():
            if board.session is not None:
                held += board.session.owner == owner
            elif board.current_job_type == "build_and_program" and board.current_job_id:
                job = self.jobs.get(board.current_job_id)
                held += job is not None and job.owner == owner
        return held


class ProjectionRunner:
    """Follows the board and log streams with ordered consumers and folds them into ``Views``."""

    def __init__(self, store: EventStore, fpga_ids: Iterable[int]) -> None:
        self._store = store
        self.views = Views(fpga_ids)
        self._watermark = Watermark()
        self._subs: list[JetStreamContext.PushSubscription] = []
        self._listeners: list[Callable[[int, BoardEvent], None]] = []
        self._log_listeners: list[Callable[[LogAppended], None]] = []
        self.log_seq = 0

    def add_listener(self, listener: Callable[[int, BoardEvent], None]) -> None:
        """Called after each applied board event (e.g. to feed live subscribers)."""
        self._listeners.append(listener)

    def add_log_listener(self, listener: Callable[[LogAppended], None]) -> None:
        """Called after each folded log entry (e.g. to feed followers of a job's log)."""
        self._log_listeners.append(listener)

    async def start(self) -> None:
        """Subscribe from the beginning and return once the views have caught up with now."""
        target = await self._store.last_seq()
        self._subs.append(await self._store.subscribe(BOARD_STREAM_FILTERS, self._on_board))
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
        event = decode_stored(msg.data)
        self.views.apply(seq, event)
        if not isinstance(event, FarmEvent):
            for listener in self._listeners:
                listener(seq, event)
        self._watermark.advance(seq)

    async def _on_log(self, msg: Msg) -> None:
        entry = decode_log(msg.data)
        current = self.views.logs.get(entry.job_id) or LogView()
        self.views.logs[entry.job_id] = log_fold.apply(current, entry)
        for listener in self._log_listeners:
            listener(entry)

    async def wait_for(self, seq: int, timeout: float = 10.0) -> None:
        """Return once the event at ``seq`` (or a later one) is folded: read-your-writes."""
        await self._watermark.wait_for(seq, timeout)
