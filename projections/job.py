"""Job view fold: ``apply(job, event) -> job``, pure; ``None`` before the job exists."""

from __future__ import annotations

import uuid
from datetime import datetime

from msgspec.structs import replace

from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardReset,
    BuildFailed,
    BuildStarted,
    BuildSucceeded,
    JobCancelled,
    JobFailed,
    JobQueued,
    JobType,
    Programmed,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionExpired,
    SessionOpened,
    SessionReleased,
    WishboneResult,
)
from projections.views import TERMINAL_STATUSES, JobView, RunResult


def job_id_of(event: BoardEvent) -> uuid.UUID | None:
    """The job an event is about (``SessionReleased`` creates its reset job), or None."""
    match event:
        case SessionReleased(reset_job_id=job_id) | SessionExpired(reset_job_id=job_id):
            return job_id
        case _:
            found: uuid.UUID | None = getattr(event, "job_id", None)
            return found


def apply(job: JobView | None, event: BoardEvent) -> JobView | None:
    """Fold one event into the job it concerns."""
    at = event.occurred_at
    match event:
        case JobQueued(job_id=jid, owner=owner, language=language, top=top):
            job = _new(jid, event.fpga_id, "build_and_program", owner, at)
            return replace(job, language=language, top=top)
        case RunQueued(job_id=jid, owner=owner, session_id=sid):
            return replace(_new(jid, event.fpga_id, "run", owner, at), session_id=sid)
        case (
            ResetQueued(job_id=jid, owner=owner)
            | SessionReleased(reset_job_id=jid, owner=owner)
            | SessionExpired(reset_job_id=jid, owner=owner)
        ):
            return _new(jid, event.fpga_id, "reset", owner, at)
    if job is None or job.status in TERMINAL_STATUSES:
        return job
    match event:
        case BuildStarted():
            return _running(job, "building", at)
        case BuildSucceeded(cache_hit=hit, utilisation=used, fmax_mhz=fmax, window_size=size):
            built = replace(
                job, cache_hit=hit, utilisation=used, fmax_mhz=fmax, window_size=size,
                stages=event.stages,
            )  # fmt: skip
            return _running(built, "built", at)
        case ProgrammingStarted():
            return _running(job, "programming", at)
        case Programmed():
            return _running(job, "programmed", at)
        case SessionOpened():
            return replace(job, status="complete", stage="reserved", updated_at=at)
        case RunStarted():
            return _running(job, "running", at)
        case ResetStarted():
            return _running(job, "resetting", at)
        case BoardReset():
            return replace(job, status="complete", stage="idle", updated_at=at)
        case WishboneResult(ok=ok, data=data, error=error):
            result = RunResult(ok=ok, data=data, error=error)
            status = "complete" if ok else "failed"
            return replace(
                job, status=status, stage="done", result=result, error=error, updated_at=at
            )
        case JobCancelled():
            return replace(job, status="cancelled", stage="cancelled", updated_at=at)
        case BuildFailed(reason=r) | ProgrammingFailed(reason=r) | JobFailed(reason=r):
            return replace(job, status="failed", stage="failed", error=r, updated_at=at)
        case BoardFaulted(reason=r):
            return replace(job, status="failed", stage="failed", error=r, updated_at=at)
        case _:
            return job


def _new(job_id: uuid.UUID, fpga_id: int, kind: JobType, owner: str, at: datetime) -> JobView:
    return JobView(
        job_id=job_id, fpga_id=fpga_id, type=kind, status="queued", created_at=at,
        updated_at=at, owner=owner,
    )  # fmt: skip


def _running(job: JobView, stage: str, at: datetime) -> JobView:
    return replace(job, status="running", stage=stage, updated_at=at)
