"""Job view fold: ``apply(job, event) -> job``, pure; ``None`` before the job exists."""

from __future__ import annotations

from msgspec.structs import replace

from events.farm import JobWaiting, StoredEvent
from events.jobs import TERMINAL_STATUSES, job_ended, job_opened
from events.types import (
    BoardReset,
    BuildStarted,
    BuildSucceeded,
    Event,
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
_FINAL_STAGE: dict[type[StoredEvent], str] = {
    SessionOpened: "reserved", BoardReset: "idle", WishboneResult: "done",
}  # fmt: skip


def apply(job: JobView | None, event: StoredEvent) -> JobView | None:
    """Fold one event into the job it concerns."""
    at = event.occurred_at
    opened = job_opened(event)
    if opened is not None:
        # A job that waited for any board keeps its creation when it lands on one.
        created = job.created_at if job is not None and job.status == "waiting" else at
        fresh = JobView(
            job_id=opened.job_id, fpga_id=None, type=opened.type, status="queued",
            created_at=created, updated_at=at, owner=opened.owner,
        )  # fmt: skip
        match event:
            case JobWaiting(language=language, top=top):
                return replace(fresh, status="waiting", stage="waiting", language=language, top=top)
            case JobQueued(fpga_id=fpga_id, language=language, top=top):
                return replace(fresh, fpga_id=fpga_id, language=language, top=top)
            case RunQueued(fpga_id=fpga_id, session_id=sid, trace_id=tid):
                return replace(fresh, fpga_id=fpga_id, session_id=sid, trace_id=tid)
            case Event(fpga_id=fpga_id):
                return replace(fresh, fpga_id=fpga_id)
        return fresh
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
