"""The board decider: ``decide(command, board, job) -> event``, pure; errors say why not."""

from __future__ import annotations

from events.types import (
    BoardEvent,
    JobCancelled,
    JobQueued,
    ResetQueued,
    RunQueued,
    SessionReleased,
    StreamOpened,
)
from projections.views import BoardView, JobView
from services.domain.commands import Cancel, Command, OpenStream, Release, Reset, Run, Submit
from services.domain.errors import (
    AddressOutOfRange,
    FpgaNotIdle,
    FpgaNotReserved,
    FpgaNotResettable,
    FpgaOutOfService,
    JobNotCancellable,
    JobNotFound,
    NoActiveSession,
    NotSessionOwner,
)

OP_WRITE = 1
OP_READ = 2
RESETTABLE = frozenset({"reserved", "error"})


def decide(command: Command, board: BoardView, job: JobView | None = None) -> BoardEvent:
    """Decide the one event a command produces against the board's current view.

    Args:
        command: the validated command.
        board: the board's view (its ``last_seq`` is the append's expected sequence).
        job: for ``Cancel``, the job being cancelled, if it exists.

    Raises:
        DomainError: the command is not allowed in this state.
    """
    fpga_id = board.fpga_id
    match command:
        case Submit():
            if not board.in_service:
                raise FpgaOutOfService(f"FPGA {fpga_id} is out of service.")
            if board.state != "idle":
                raise FpgaNotIdle(f"FPGA {fpga_id} is {board.state}, not idle.")
            return JobQueued(
                fpga_id=fpga_id,
                job_id=command.job_id,
                owner=command.owner,
                design_sha256=command.design_sha256,
                design_size=command.design_size,
                filename=command.filename,
            )
        case Run():
            if board.state != "reserved" or board.session is None:
                raise FpgaNotReserved(f"FPGA {fpga_id} is {board.state}, not reserved.")
            _check_window(command, board)
            return RunQueued(
                fpga_id=fpga_id,
                job_id=command.job_id,
                owner=command.owner,
                op=command.op,
                address=command.address,
                data=command.data,
                count=command.count,
                session_id=board.session.session_id,
            )
        case Reset():
            if board.state not in RESETTABLE:
                raise FpgaNotResettable(
                    f"FPGA {fpga_id} is {board.state}; reset needs reserved or error."
                )
            return ResetQueued(fpga_id=fpga_id, job_id=command.job_id, owner=command.owner)
        case Release():
            if board.session is None:
                raise NoActiveSession(f"FPGA {fpga_id} has no active session.")
            return SessionReleased(
                fpga_id=fpga_id,
                session_id=board.session.session_id,
                reset_job_id=command.job_id,
                owner=command.owner,
            )
        case Cancel():
            if job is None or job.fpga_id != fpga_id:
                raise JobNotFound(f"Job {command.job_id} not found on FPGA {fpga_id}.")
            if job.type == "reset":
                raise JobNotCancellable(f"Job {job.job_id} is a reset; resets cannot be cancelled.")
            if job.status != "queued":
                raise JobNotCancellable(
                    f"Job {job.job_id} is {job.status}; only queued jobs can be cancelled."
                )
            return JobCancelled(fpga_id=fpga_id, job_id=job.job_id, by=command.by)
        case OpenStream():
            session = board.session
            if board.state != "reserved" or session is None:
                raise FpgaNotReserved(f"FPGA {fpga_id} is {board.state}, not reserved.")
            if command.session_id != str(session.session_id):
                raise NotSessionOwner(f"X-Session-ID does not match the session of FPGA {fpga_id}.")
            return StreamOpened(
                fpga_id=fpga_id,
                stream_id=command.stream_id,
                session_id=session.session_id,
                owner=command.owner,
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
