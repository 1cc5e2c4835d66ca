"""Jobs as the events tell them: which job an event is about, which events open a job (and of
which type, for whom), and which end it (and how).

Every reader of jobs (the job and board views, a worker's to-do list, live feeds, the audit
query) asks here, so a new event that opens or ends a job is taught once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, get_args

from events.farm import BoardClaimed, JobWaiting, StoredEvent, WaitingCancelled
from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardReset,
    BuildFailed,
    JobCancelled,
    JobFailed,
    JobQueued,
    ProgrammingFailed,
    ResetQueued,
    RunQueued,
    SessionExpired,
    SessionOpened,
    SessionReleased,
    WishboneResult,
)

JobType = Literal["build_and_program", "run", "reset"]
JobStatus = Literal["waiting", "queued", "running", "complete", "failed", "cancelled"]
JobOutcome = Literal["complete", "failed", "cancelled"]
#: A job in one of these has ended; no later event changes it.
TERMINAL_STATUSES: frozenset[str] = frozenset(get_args(JobOutcome))


@dataclass(frozen=True, slots=True)
class JobOpened:
    """An event that creates a job."""

    job_id: uuid.UUID
    type: JobType
    owner: str


@dataclass(frozen=True, slots=True)
class JobEnded:
    """An event that ends a job, and how it ended (``error``: the reason, when it failed)."""

    job_id: uuid.UUID
    status: JobOutcome
    error: str | None = None


def job_id_of(event: StoredEvent) -> uuid.UUID | None:
    """The job an event is about (a session's end creates its reset job), or None."""
    match event:
        case BoardClaimed():
            return None
        case SessionReleased(reset_job_id=job_id) | SessionExpired(reset_job_id=job_id):
            return job_id
        case _:
            found: uuid.UUID | None = getattr(event, "job_id", None)
            return found


def job_opened(event: StoredEvent) -> JobOpened | None:
    """The job this event creates, if it creates one (a job that waited for a board is
    created by ``JobWaiting``, and ``JobQueued`` puts it on its board)."""
    match event:
        case JobQueued(job_id=jid, owner=owner) | JobWaiting(job_id=jid, owner=owner):
            return JobOpened(jid, "build_and_program", owner)
        case RunQueued(job_id=jid, owner=owner):
            return JobOpened(jid, "run", owner)
        case (
            ResetQueued(job_id=jid, owner=owner)
            | SessionReleased(reset_job_id=jid, owner=owner)
            | SessionExpired(reset_job_id=jid, owner=owner)
        ):
            return JobOpened(jid, "reset", owner)
    return None


def job_ended(event: StoredEvent) -> JobEnded | None:
    """The job this event ends, if it ends one.

    A build job completes when its session opens; a reset when the board is back; a run with
    its result. Cancelling, a failed build or programming, a job the worker could not finish and
    a board fault (naming its job) end the job they name; so does leaving the waiting list.
    """
    match event:
        case SessionOpened(job_id=jid) | BoardReset(job_id=jid):
            return JobEnded(jid, "complete")
        case WishboneResult(job_id=jid, ok=ok, error=error):
            return JobEnded(jid, "complete", None) if ok else JobEnded(jid, "failed", error)
        case JobCancelled(job_id=jid):
            return JobEnded(jid, "cancelled")
        case WaitingCancelled(job_id=jid, reason=reason):
            return JobEnded(jid, "cancelled", reason or None)
        case (
            BuildFailed(job_id=jid, reason=reason)
            | ProgrammingFailed(job_id=jid, reason=reason)
            | JobFailed(job_id=jid, reason=reason)
        ):
            return JobEnded(jid, "failed", reason)
        case BoardFaulted(job_id=jid, reason=reason) if jid is not None:
            return JobEnded(jid, "failed", reason)
    return None


def board_fault(event: BoardEvent, resetting: uuid.UUID | None) -> str | None:
    """Why this event leaves its board in error (unusable until a reset), or None.

    A failed programming step, a fault, or a reset that could not finish (``resetting``: the
    board's reset job in progress, if any) do; the next reset clears it.
    """
    match event:
        case ProgrammingFailed(reason=reason) | BoardFaulted(reason=reason):
            return reason
        case JobFailed(job_id=jid, reason=reason) if resetting is not None and jid == resetting:
            return reason
    return None
