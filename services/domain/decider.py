"""The board decider: ``decide(command, board, job) -> event``, pure; errors say why not."""

from __future__ import annotations

from datetime import datetime, timedelta

from events.types import (
    BoardDrained,
    BoardEvent,
    BoardRestored,
    BoardRetired,
    JobCancelled,
    JobQueued,
    ResetQueued,
    RunQueued,
    SessionExpired,
    SessionReleased,
    StreamOpened,
    TraceRequested,
    TraceStopRequested,
)
from events.wire import OP_WRITE
from projections.views import TRACEABLE_DRIVER, BoardView, JobView, SessionView
from services.domain.commands import (
    Cancel,
    Command,
    Expire,
    OpenStream,
    Release,
    Reset,
    Run,
    SetAvailability,
    StartTrace,
    StopTrace,
    Submit,
)
from services.domain.errors import (
    AddressOutOfRange,
    BoardLimitReached,
    Forbidden,
    FpgaNotIdle,
    FpgaNotReserved,
    FpgaNotResettable,
    FpgaOutOfService,
    FpgaUnhealthy,
    JobNotCancellable,
    JobNotFound,
    LeaseNotExpired,
    NoActiveSession,
    NotSessionOwner,
    SessionExpiredError,
    TraceInProgress,
    TraceNotRecording,
    TraceUnavailable,
)

RESETTABLE = frozenset({"reserved", "error"})


def decide(command: Command, board: BoardView, job: JobView | None = None) -> BoardEvent:
    """Decide the one event a command produces against the board's current view.

    Args:
        command: the validated command.
        board: the board's view (its ``last_seq`` is the append's expected sequence).
        job: for ``Cancel``, the job being cancelled, if it exists.

    Raises:
        DomainError: the command is not allowed in this state, or not for this caller.
    """
    fpga_id = board.fpga_id
    match command:
        case Submit():
            _check_assignable(board)
            if board.state != "idle":
                raise FpgaNotIdle(f"FPGA {fpga_id} is {board.state}, not idle.")
            if command.max_boards and command.held >= command.max_boards:
                raise BoardLimitReached(
                    f"this API key holds {command.held} board(s), the most one key may hold; "
                    "release one first."
                )
            return JobQueued(
                fpga_id=fpga_id,
                job_id=command.job_id,
                owner=command.owner,
                design_sha256=command.design_sha256,
                design_size=command.design_size,
                filename=command.filename,
                language=command.language,
                top=command.top,
                lease_seconds=command.lease_seconds,
                max_session_seconds=command.max_session_seconds,
            )
        case Run():
            if command.trace_id is not None:
                _check_traceable(board)
            session = _owned_session(board, command.owner, command.session_id)
            _check_lease(board, session, command.now)
            _check_window(command, board)
            if command.trace_id is not None:
                _check_not_recording(board)
            return RunQueued(
                fpga_id=fpga_id,
                job_id=command.job_id,
                owner=command.owner,
                op=command.op,
                address=command.address,
                data=command.data,
                count=command.count,
                session_id=session.session_id,
                lease_expires_at=_renewed(session, command.now),
                trace_id=command.trace_id,
            )
        case StartTrace():
            _check_traceable(board)
            session = _owned_session(board, command.owner, command.session_id)
            _check_lease(board, session, command.now)
            _check_not_recording(board)
            return TraceRequested(
                fpga_id=fpga_id,
                trace_id=command.trace_id,
                owner=command.owner,
                session_id=session.session_id,
            )
        case StopTrace():
            _owned_session(board, command.owner, command.session_id)
            if board.recording is None:
                raise TraceNotRecording(f"FPGA {fpga_id} is not recording.")
            if board.recording_stopping:
                raise TraceNotRecording(
                    f"FPGA {fpga_id}'s recording {board.recording} is ending already."
                )
            return TraceStopRequested(fpga_id=fpga_id, trace_id=board.recording, by=command.owner)
        case Reset():
            if board.state not in RESETTABLE:
                raise FpgaNotResettable(
                    f"FPGA {fpga_id} is {board.state}; reset needs reserved or error."
                )
            if board.session is not None and not command.admin:
                _owned_session(board, command.owner, command.session_id)
            return ResetQueued(fpga_id=fpga_id, job_id=command.job_id, owner=command.owner)
        case Release():
            if board.session is None:
                raise NoActiveSession(f"FPGA {fpga_id} has no active session.")
            session = board.session
            if not command.admin:
                _owned_session(board, command.owner, command.session_id)
            return SessionReleased(
                fpga_id=fpga_id,
                session_id=session.session_id,
                reset_job_id=command.job_id,
                owner=session.owner,
                by=command.owner,
            )
        case Cancel():
            if (
                job is None
                or job.fpga_id != fpga_id
                or not (command.admin or job.owner == command.by)
            ):
                raise JobNotFound(f"Job {command.job_id} not found on FPGA {fpga_id}.")
            if job.type == "reset":
                raise JobNotCancellable(f"Job {job.job_id} is a reset; resets cannot be cancelled.")
            if job.status != "queued":
                raise JobNotCancellable(
                    f"Job {job.job_id} is {job.status}; only queued jobs can be cancelled."
                )
            return JobCancelled(fpga_id=fpga_id, job_id=job.job_id, by=command.by)
        case OpenStream():
            session = _owned_session(board, command.owner, command.session_id)
            _check_lease(board, session, command.now)
            return StreamOpened(
                fpga_id=fpga_id,
                stream_id=command.stream_id,
                session_id=session.session_id,
                owner=command.owner,
                lease_expires_at=_renewed(session, command.now),
                api_instance=command.api_instance,
            )
        case SetAvailability():
            return _availability(command, board)
        case Expire():
            current = board.session
            if current is None or current.expires_at > command.now:
                raise LeaseNotExpired(f"FPGA {fpga_id} has no expired session.")
            return SessionExpired(
                fpga_id=fpga_id,
                session_id=current.session_id,
                reset_job_id=command.job_id,
                owner=current.owner,
                expires_at=current.expires_at,
            )


def _check_assignable(board: BoardView) -> None:
    """A new job may start on the board: in service, healthy, in the pool."""
    fpga_id = board.fpga_id
    if not board.in_service:
        raise FpgaOutOfService(f"FPGA {fpga_id} is out of service; choose another board.")
    if board.health in ("maintenance", "retired"):
        state = "in maintenance" if board.health == "maintenance" else "retired"
        raise FpgaOutOfService(f"FPGA {fpga_id} is {state}; choose another board.")
    if board.health == "bad":
        raise FpgaUnhealthy(
            f"FPGA {fpga_id} failed its last {board.failed_probes} health probes; it returns "
            "to the pool when a probe passes. Choose another board."
        )


def _availability(command: SetAvailability, board: BoardView) -> BoardEvent:
    if not command.admin:
        raise Forbidden("only an admin key may drain, retire or restore a board.")
    by, reason, fpga_id = command.by, command.reason, board.fpga_id
    match command.to:
        case "maintenance":
            return BoardDrained(fpga_id=fpga_id, by=by, reason=reason)
        case "retired":
            return BoardRetired(fpga_id=fpga_id, by=by, reason=reason)
        case "active":
            return BoardRestored(fpga_id=fpga_id, by=by, reason=reason)


def _owned_session(board: BoardView, owner: str, session_id: str | None) -> SessionView:
    """The board's session if ``owner`` holds it and named it in ``X-Session-ID``."""
    session = board.session
    if board.state != "reserved" or session is None:
        raise FpgaNotReserved(f"FPGA {board.fpga_id} is {board.state}, not reserved.")
    if session.owner != owner:
        raise NotSessionOwner(f"FPGA {board.fpga_id} is reserved by another API key.")
    if session_id is None or session_id.strip().lower() != str(session.session_id):
        raise NotSessionOwner(
            f"X-Session-ID is missing or does not match the session of FPGA {board.fpga_id}."
        )
    return session


def _check_lease(board: BoardView, session: SessionView, now: datetime | None) -> None:
    if now is not None and now >= session.expires_at:
        raise SessionExpiredError(
            f"the session on FPGA {board.fpga_id} expired at {session.expires_at.isoformat()}."
        )


def _renewed(session: SessionView, now: datetime | None) -> datetime | None:
    """The lease after one more use: ``now`` plus the session's lease length, never shorter,
    never past the session's end (both lengths were decided with its submit)."""
    if now is None:
        return None
    until = max(session.expires_at, now + timedelta(seconds=session.lease_seconds))
    if session.ends_by is not None:
        until = min(until, session.ends_by)
    return until if until != session.expires_at else None


def _check_traceable(board: BoardView) -> None:
    """The board records waveforms: a virtual board (whoever asks: its kind is public)."""
    if board.driver != TRACEABLE_DRIVER:
        raise TraceUnavailable(
            f"FPGA {board.fpga_id} is a real board ({board.driver}): waveform traces need a "
            "virtual board, whose design runs as RTL in a simulator."
        )


def _check_not_recording(board: BoardView) -> None:
    """One recording at a time."""
    if board.recording is not None:
        raise TraceInProgress(
            f"FPGA {board.fpga_id} is recording already (trace {board.recording}); stop it "
            "first, or read the transaction in that recording."
        )


def _check_window(run: Run, board: BoardView) -> None:
    size = board.window_size or 0
    words = len(run.data) if run.op == OP_WRITE else run.count
    end = run.address + 4 * words
    if run.address % 4 or end > size:
        raise AddressOutOfRange(
            f"address 0x{run.address:x} (+{words} words) is outside the design's window "
            f"0x0-0x{size:x}, or not 4-byte aligned."
        )
