"""The worker's own fold of one board's events: what is left to do, in order. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec
from msgspec.structs import replace

from events.jobs import JobType, board_fault, job_ended, job_opened
from events.settings import DEFAULT_LEASE_SECONDS, DEFAULT_MAX_SESSION_SECONDS
from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardHealthChecked,
    BoardReset,
    BuildStarted,
    BuildSucceeded,
    JobQueued,
    Programmed,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionOpened,
    TraceFailed,
    TraceRecorded,
    TraceRequested,
    TraceStarted,
    TraceStopRequested,
)

Phase = Literal["queued", "started", "built", "programming", "programmed"]
#: What an item asks for: a job, or starting or ending a window recording.
ItemKind = JobType | Literal["trace_start", "trace_stop"]


def stop_item_id(trace_id: uuid.UUID) -> uuid.UUID:
    """The work item id of the request to end recording ``trace_id``."""
    return uuid.uuid5(trace_id, "stop")


class Recording(msgspec.Struct, frozen=True, kw_only=True):
    """The window recording the worker switched on and has not ended yet."""

    trace_id: uuid.UUID
    owner: str
    session_id: uuid.UUID | None = None


class Loaded(msgspec.Struct, frozen=True, kw_only=True):
    """The user design the board should be running (after ``Programmed``)."""

    job_id: uuid.UUID
    artifact: str
    window_base: int
    window_size: int


class WorkItem(msgspec.Struct, frozen=True, kw_only=True):
    job_id: uuid.UUID
    kind: ItemKind
    phase: Phase = "queued"
    attempt: int = 0
    owner: str = ""
    design_sha256: str = ""
    language: str = "migen"
    top: str | None = None
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS
    run: RunQueued | None = None
    built: BuildSucceeded | None = None
    trace_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    """A recording's session (the one it must still be when the recording starts)."""


class Worklist(msgspec.Struct, frozen=True, kw_only=True):
    """Unfinished jobs in queue order, the loaded design, and the last sequence folded."""

    fpga_id: int
    last_seq: int = 0
    items: tuple[WorkItem, ...] = ()
    loaded: Loaded | None = None
    session_id: uuid.UUID | None = None
    """The session the loaded design belongs to; None from the moment that session ends."""
    faulted: bool = False
    """The board is in error and no reset is on its way: the worker queues one itself."""
    last_probe_at: datetime | None = None
    probe_failed: bool = False
    """Whether the last health probe failed (the next one comes sooner)."""
    recording: Recording | None = None

    @property
    def reserved(self) -> bool:
        return self.session_id is not None

    @property
    def idle(self) -> bool:
        """Nothing to do, no session, no design loaded: the board may be probed."""
        return not self.items and not self.reserved and self.loaded is None and not self.faulted

    def item(self, job_id: uuid.UUID) -> WorkItem | None:
        return next((i for i in self.items if i.job_id == job_id), None)


def apply(wl: Worklist, event: BoardEvent, seq: int) -> Worklist:
    """Fold one event of this board."""
    wl = replace(wl, last_seq=seq)
    resetting = next((i.job_id for i in wl.items if i.kind == "reset"), None)
    if board_fault(event, resetting) is not None:
        wl = replace(wl, faulted=True)
    traced = _trace_step(wl, event)
    if traced is not None:
        return traced
    opened = job_opened(event)
    if opened is not None:
        item = WorkItem(job_id=opened.job_id, kind=opened.type, owner=opened.owner)
        match event:
            case JobQueued(design_sha256=sha, language=lang, top=top):
                item = replace(
                    item, design_sha256=sha, language=lang, top=top,
                    lease_seconds=event.lease_seconds,
                    max_session_seconds=event.max_session_seconds,
                )  # fmt: skip
            case RunQueued():
                item = replace(item, run=event)
            case _:  # a reset: the session ends here, and any fault with it
                wl = replace(wl, session_id=None, faulted=False)
        return _add(wl, item)
    match event:
        case SessionOpened(session_id=sid):
            wl = replace(wl, session_id=sid)
        case BoardReset():
            wl = replace(wl, loaded=None, session_id=None, faulted=False)
        case BoardHealthChecked(ok=ok):
            return replace(wl, last_probe_at=event.occurred_at, probe_failed=not ok)
        case ProgrammingFailed():
            wl = replace(wl, loaded=None)
        case BoardFaulted():
            wl = replace(wl, loaded=None, session_id=None)
        case BuildStarted(job_id=jid, attempt=attempt):
            return _update(wl, jid, phase="started", attempt=attempt)
        case BuildSucceeded(job_id=jid):
            return _update(wl, jid, phase="built", built=event)
        case ProgrammingStarted(job_id=jid):
            return _update(wl, jid, phase="programming")
        case Programmed(job_id=jid):
            return _programmed(wl, jid)
        case ResetStarted(job_id=jid):
            # "started" tells a restarted worker to finish the reset, not to claim it again.
            return _update(replace(wl, session_id=None), jid, phase="started")
        case RunStarted(job_id=jid):
            return _update(wl, jid, phase="started")
    ended = job_ended(event)
    return _drop(wl, ended.job_id) if ended is not None else wl


def _trace_step(wl: Worklist, event: BoardEvent) -> Worklist | None:
    """Fold an event about a window recording (None: the event is not one)."""
    match event:
        case TraceRequested(trace_id=tid, owner=owner, session_id=sid):
            start = WorkItem(
                job_id=tid, kind="trace_start", owner=owner, trace_id=tid, session_id=sid
            )
            return _add(wl, start)
        case TraceStarted(trace_id=tid):
            found = wl.item(tid)
            recording = Recording(
                trace_id=tid,
                owner=found.owner if found is not None else "",
                session_id=found.session_id if found is not None else None,
            )
            return replace(_drop(wl, tid), recording=recording)
        case TraceStopRequested(trace_id=tid, by=by):
            item = WorkItem(job_id=stop_item_id(tid), kind="trace_stop", owner=by, trace_id=tid)
            return _add(wl, item)
        case TraceRecorded(trace_id=tid) | TraceFailed(trace_id=tid):
            wl = _drop(_drop(wl, tid), stop_item_id(tid))
            if wl.recording is not None and wl.recording.trace_id == tid:
                wl = replace(wl, recording=None)
            return wl
    return None


def _programmed(wl: Worklist, jid: uuid.UUID) -> Worklist:
    """The built design is on the board: it is what a restarted worker must bring back."""
    item = wl.item(jid)
    wl = _update(wl, jid, phase="programmed")
    if item is not None and item.built is not None:
        b = item.built
        loaded = Loaded(
            job_id=jid, artifact=b.artifact, window_base=b.window_base, window_size=b.window_size
        )
        wl = replace(wl, loaded=loaded)
    return wl


def next_item(wl: Worklist) -> WorkItem | None:
    """The job the worker must act on next: the oldest unfinished one."""
    return wl.items[0] if wl.items else None


def _add(wl: Worklist, item: WorkItem) -> Worklist:
    if wl.item(item.job_id) is not None:
        return wl
    return replace(wl, items=(*wl.items, item))


def _drop(wl: Worklist, job_id: uuid.UUID) -> Worklist:
    return replace(wl, items=tuple(i for i in wl.items if i.job_id != job_id))


def _update(wl: Worklist, job_id: uuid.UUID, **changes: object) -> Worklist:
    items = tuple(replace(i, **changes) if i.job_id == job_id else i for i in wl.items)
    return replace(wl, items=items)
