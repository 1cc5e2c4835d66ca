"""Board view fold: ``apply(view, event, seq) -> view``, pure."""

from __future__ import annotations

from datetime import timedelta

from msgspec.structs import replace

from events.jobs import board_fault, job_ended
from events.types import (
    BoardDrained,
    BoardEvent,
    BoardHealthChecked,
    BoardRegistered,
    BoardReset,
    BoardRestored,
    BoardRetired,
    BuildStarted,
    BuildSucceeded,
    JobQueued,
    Programmed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionExpired,
    SessionOpened,
    SessionReleased,
    StreamOpened,
    TraceFailed,
    TraceRecorded,
    TraceRequested,
    TraceStopRequested,
    WishboneResult,
)
from projections.views import BoardView, SessionView


def apply(board: BoardView, event: BoardEvent, seq: int) -> BoardView:
    """Fold one event of this board into its view; ``seq`` is the event's stream sequence."""
    board = replace(board, last_seq=seq)
    resetting = board.current_job_id if board.current_job_type == "reset" else None
    fault = board_fault(event, resetting)
    if fault is not None:
        return replace(
            board, state="error", session=None, current_job_id=None, current_job_type=None,
            error=fault,
        )  # fmt: skip
    ended = job_ended(event)
    if (
        ended is not None
        and ended.job_id == board.current_job_id
        and ended.status != "complete"
        and board.current_job_type == "build_and_program"
    ):
        return replace(board, state="idle", current_job_id=None, current_job_type=None)
    match event:
        case JobQueued(job_id=job_id):
            return replace(
                board,
                state="queued",
                current_job_id=job_id,
                current_job_type="build_and_program",
                error=None,
            )
        case BuildStarted():
            return replace(board, state="building")
        case BuildSucceeded(window_size=size):
            return replace(board, window_size=size)
        case ProgrammingStarted():
            return replace(board, state="programming")
        case SessionOpened(session_id=sid, owner=owner, expires_at=expires):
            session = SessionView(
                session_id=sid,
                fpga_id=board.fpga_id,
                owner=owner,
                expires_at=expires,
                opened_at=event.occurred_at,
                lease_seconds=event.lease_seconds,
                ends_by=event.occurred_at + timedelta(seconds=event.max_session_seconds),
            )
            return replace(
                board,
                state="reserved",
                session=session,
                current_job_id=None,
                current_job_type=None,
                recording=None,
                recording_stopping=False,
            )
        case (
            SessionReleased(reset_job_id=job_id)
            | SessionExpired(reset_job_id=job_id)
            | ResetQueued(job_id=job_id)
        ):
            return replace(
                board,
                state="programming",
                session=None,
                current_job_id=job_id,
                current_job_type="reset",
            )
        case ResetStarted():
            return board
        case BoardReset():
            return replace(
                board, state="idle", session=None, current_job_id=None, current_job_type=None,
                window_size=None, error=None,
            )  # fmt: skip
        case BoardRegistered(driver=driver, host=host, in_service=in_service):
            return replace(board, driver=driver, host=host, in_service=in_service)
        case BoardHealthChecked(ok=ok):
            failed = 0 if ok else board.failed_probes + 1
            return replace(board, failed_probes=failed, last_probe_at=event.occurred_at)
        case BoardDrained():
            return replace(board, availability="maintenance")
        case BoardRetired():
            return replace(board, availability="retired")
        case BoardRestored():
            return replace(board, availability="active", failed_probes=0)
        case RunQueued(lease_expires_at=until) | StreamOpened(lease_expires_at=until) if (
            until is not None and board.session is not None
        ):
            return replace(board, session=replace(board.session, expires_at=until))
        case TraceRequested(trace_id=tid):
            return replace(board, recording=tid, recording_stopping=False)
        case TraceStopRequested(trace_id=tid) if tid == board.recording:
            return replace(board, recording_stopping=True)
        case TraceRecorded(trace_id=tid) | TraceFailed(trace_id=tid) if tid == board.recording:
            return replace(board, recording=None, recording_stopping=False)
        case Programmed() | RunQueued() | RunStarted() | WishboneResult():
            return board
        case _:
            return board
