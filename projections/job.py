"""Job view fold: ``apply(job, event) -> job``, pure; ``None`` before the job exists."""

from __future__ import annotations

from msgspec.structs import replace

from events.jobs import TERMINAL_STATUSES, job_ended, job_opened
from events.types import (
    BoardEvent,
    BoardReset,
    BuildStarted,
    BuildSucceeded,
    JobQueued,
    Programmed,
    ProgrammingStarted,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionOpened,
    WishboneResult,
)
from projections.views import JobView, RunResult

#: The stage a job shows after the event that ended it (else its status: failed, cancelled).
_FINAL_STAGE: dict[type[BoardEvent], str] = {
    SessionOpened: "reserved", BoardReset: "idle", WishboneResult: "done",
}  # fmt: skip


def apply(job: JobView | None, event: BoardEvent) -> JobView | None:
    """Fold one event into the job it concerns."""
    at = event.occurred_at
    opened = job_opened(event)
    if opened is not None:
        job = JobView(
            job_id=opened.job_id, fpga_id=event.fpga_id, type=opened.type, status="queued",
            created_at=at, updated_at=at, owner=opened.owner,
        )  # fmt: skip
        match event:
            case JobQueued(language=language, top=top):
                return replace(job, language=language, top=top)
            case RunQueued(session_id=sid):
                return replace(job, session_id=sid)
        return job
    if job is None or job.status in TERMINAL_STATUSES:
        return job
    ended = job_ended(event)
    if ended is not None:
        stage = _FINAL_STAGE.get(type(event), ended.status)
        job = replace(job, status=ended.status, stage=stage, error=ended.error, updated_at=at)
        if isinstance(event, WishboneResult):
            job = replace(job, result=RunResult(ok=event.ok, data=event.data, error=event.error))
        return job
    match event:
        case BuildStarted():
            stage = "building"
        case BuildSucceeded(cache_hit=hit, utilisation=used, fmax_mhz=fmax, window_size=size):
            job = replace(
                job, cache_hit=hit, utilisation=used, fmax_mhz=fmax, window_size=size,
                stages=event.stages,
            )  # fmt: skip
            stage = "built"
        case ProgrammingStarted():
            stage = "programming"
        case Programmed():
            stage = "programmed"
        case RunStarted():
            stage = "running"
        case ResetStarted():
            stage = "resetting"
        case _:
            return job
    return replace(job, status="running", stage=stage, updated_at=at)
