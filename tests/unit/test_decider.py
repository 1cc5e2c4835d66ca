"""The pure board decider: every command in every board state, allowed and refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from events.jobs import JobStatus, JobType
from events.types import (
    JobCancelled,
    JobQueued,
    ResetQueued,
    RunQueued,
    SessionReleased,
)
from projections.views import BoardState, BoardView, JobView, SessionView
from services.domain.commands import Cancel, Release, Reset, Run, Submit
from services.domain.decider import decide
from services.domain.errors import (
    AddressOutOfRange,
    DomainError,
    FpgaNotIdle,
    FpgaNotReserved,
    FpgaNotResettable,
    JobNotCancellable,
    JobNotFound,
    NoActiveSession,
)
from tests.fakes import WINDOW_SIZE

FPGA = 3
BUILD_JOB = uuid.UUID("11111111-1111-1111-1111-111111111111")
RESET_JOB = uuid.UUID("22222222-2222-2222-2222-222222222222")
SESSION = SessionView(
    session_id=uuid.UUID("33333333-3333-3333-3333-333333333333"),
    fpga_id=FPGA,
    owner="alice",
    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
)
T0 = datetime(2030, 1, 1, tzinfo=UTC)

BOARDS: dict[BoardState, BoardView] = {
    "idle": BoardView(fpga_id=FPGA, last_seq=7),
    "queued": BoardView(
        fpga_id=FPGA,
        state="queued",
        current_job_id=BUILD_JOB,
        current_job_type="build_and_program",
        last_seq=8,
    ),
    "building": BoardView(
        fpga_id=FPGA,
        state="building",
        current_job_id=BUILD_JOB,
        current_job_type="build_and_program",
        last_seq=9,
    ),
    "programming": BoardView(
        fpga_id=FPGA,
        state="programming",
        current_job_id=BUILD_JOB,
        current_job_type="build_and_program",
        window_size=WINDOW_SIZE,
        last_seq=11,
    ),
    "reserved": BoardView(
        fpga_id=FPGA, state="reserved", session=SESSION, window_size=WINDOW_SIZE, last_seq=13
    ),
    "error": BoardView(fpga_id=FPGA, state="error", error="the simulator died", last_seq=14),
}
ALL_STATES: list[BoardState] = list(BOARDS)


def _submit() -> Submit:
    return Submit(
        fpga_id=FPGA,
        job_id=uuid.uuid4(),
        owner="bob",
        design_sha256="cd" * 32,
        design_size=123,
        filename="design.py",
    )


def _run(op: int = 2, address: int = 0, data: list[int] | None = None, count: int = 1) -> Run:
    return Run(
        fpga_id=FPGA,
        job_id=uuid.uuid4(),
        owner="alice",
        session_id=str(SESSION.session_id),
        op=op,
        address=address,
        data=data or [],
        count=count,
    )


def _job(status: JobStatus, *, kind: JobType = "build_and_program", fpga_id: int = FPGA) -> JobView:
    return JobView(
        job_id=uuid.uuid4(),
        fpga_id=fpga_id,
        type=kind,
        status=status,
        created_at=T0,
        updated_at=T0,
        owner="alice",
    )


def _refused(exc: DomainError, cls: type[DomainError], status: int, code: str) -> None:
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.code == code
    assert exc.message and str(exc) == exc.message


# ------------------------------------------------------------------------------------- Submit


def test_submit_on_idle_board_queues_a_build_job() -> None:
    cmd = _submit()
    event = decide(cmd, BOARDS["idle"])
    assert isinstance(event, JobQueued)
    assert event.fpga_id == FPGA
    assert event.job_id == cmd.job_id
    assert event.owner == "bob"
    assert event.design_sha256 == "cd" * 32
    assert event.design_size == 123
    assert event.filename == "design.py"


@pytest.mark.parametrize("state", [s for s in ALL_STATES if s != "idle"])
def test_submit_on_busy_board_is_refused(state: BoardState) -> None:
    with pytest.raises(FpgaNotIdle) as info:
        decide(_submit(), BOARDS[state])
    _refused(info.value, FpgaNotIdle, 409, "fpga_not_idle")
    assert state in info.value.message


# ---------------------------------------------------------------------------------------- Run


def test_run_on_reserved_board_queues_a_run_bound_to_the_session() -> None:
    cmd = _run(op=1, address=8, data=[1, 2], count=2)
    event = decide(cmd, BOARDS["reserved"])
    assert isinstance(event, RunQueued)
    assert event.job_id == cmd.job_id
    assert (event.op, event.address, event.data, event.count) == (1, 8, [1, 2], 2)
    assert event.owner == "alice"
    assert event.session_id == SESSION.session_id


@pytest.mark.parametrize("state", [s for s in ALL_STATES if s != "reserved"])
def test_run_on_unreserved_board_is_refused(state: BoardState) -> None:
    with pytest.raises(FpgaNotReserved) as info:
        decide(_run(), BOARDS[state])
    _refused(info.value, FpgaNotReserved, 409, "fpga_not_reserved")


def test_run_on_reserved_state_without_session_is_refused() -> None:
    board = BoardView(fpga_id=FPGA, state="reserved", window_size=WINDOW_SIZE)
    with pytest.raises(FpgaNotReserved):
        decide(_run(), board)


@pytest.mark.parametrize(
    ("op", "address", "data", "count"),
    [
        (2, 0, None, 1),  # first word
        (2, WINDOW_SIZE - 4, None, 1),  # last word
        (2, 0, None, WINDOW_SIZE // 4),  # the whole window
        (1, WINDOW_SIZE - 8, [1, 2], 1),  # a write's length is its data, not count
        (1, 0, [0xFFFF_FFFF] * (WINDOW_SIZE // 4), 1),
    ],
)
def test_run_inside_the_window_is_allowed(
    op: int, address: int, data: list[int] | None, count: int
) -> None:
    assert isinstance(decide(_run(op, address, data, count), BOARDS["reserved"]), RunQueued)


@pytest.mark.parametrize(
    ("op", "address", "data", "count"),
    [
        (2, WINDOW_SIZE, None, 1),  # just past the end
        (2, WINDOW_SIZE - 4, None, 2),  # starts inside, ends outside
        (2, 0, None, WINDOW_SIZE // 4 + 1),
        (1, WINDOW_SIZE - 4, [1, 2], 1),  # a write of two words at the last word
        (2, 2, None, 1),  # unaligned
        (1, 6, [1], 1),  # unaligned write
        (2, 0x1000_0000, None, 1),  # far away
    ],
)
def test_run_outside_the_window_or_unaligned_is_refused(
    op: int, address: int, data: list[int] | None, count: int
) -> None:
    with pytest.raises(AddressOutOfRange) as info:
        decide(_run(op, address, data, count), BOARDS["reserved"])
    _refused(info.value, AddressOutOfRange, 422, "address_out_of_range")


def test_run_with_unknown_window_is_refused_even_at_zero() -> None:
    board = BoardView(fpga_id=FPGA, state="reserved", session=SESSION, window_size=None)
    with pytest.raises(AddressOutOfRange):
        decide(_run(address=0), board)


# -------------------------------------------------------------------------------------- Reset


@pytest.mark.parametrize("state", ["reserved", "error"])
def test_reset_from_reserved_or_error_queues_a_reset(state: BoardState) -> None:
    # An admin may reset any board; on a board in error, anyone may (see the tenancy tests).
    cmd = Reset(fpga_id=FPGA, job_id=RESET_JOB, owner="carol", admin=True)
    event = decide(cmd, BOARDS[state])
    assert isinstance(event, ResetQueued)
    assert (event.fpga_id, event.job_id, event.owner) == (FPGA, RESET_JOB, "carol")


@pytest.mark.parametrize("state", ["idle", "queued", "building", "programming"])
def test_reset_from_other_states_is_refused(state: BoardState) -> None:
    with pytest.raises(FpgaNotResettable) as info:
        decide(Reset(fpga_id=FPGA, job_id=RESET_JOB, owner="carol"), BOARDS[state])
    _refused(info.value, FpgaNotResettable, 409, "fpga_not_resettable")


# ------------------------------------------------------------------------------------ Release


def test_release_of_a_session_queues_its_reset_job() -> None:
    event = decide(
        Release(fpga_id=FPGA, job_id=RESET_JOB, owner="alice", session_id=str(SESSION.session_id)),
        BOARDS["reserved"],
    )
    assert isinstance(event, SessionReleased)
    assert event.session_id == SESSION.session_id
    assert event.reset_job_id == RESET_JOB
    assert event.owner == "alice"


@pytest.mark.parametrize("state", [s for s in ALL_STATES if s != "reserved"])
def test_release_without_session_is_refused(state: BoardState) -> None:
    with pytest.raises(NoActiveSession) as info:
        decide(
            Release(
                fpga_id=FPGA, job_id=RESET_JOB, owner="alice", session_id=str(SESSION.session_id)
            ),
            BOARDS[state],
        )
    _refused(info.value, NoActiveSession, 404, "no_active_session")


# ------------------------------------------------------------------------------------- Cancel


@pytest.mark.parametrize(("state", "kind"), [("queued", "build_and_program"), ("reserved", "run")])
def test_cancel_of_a_queued_job_is_allowed(state: BoardState, kind: JobType) -> None:
    job = _job("queued", kind=kind)
    event = decide(Cancel(fpga_id=FPGA, job_id=job.job_id, by="alice"), BOARDS[state], job)
    assert isinstance(event, JobCancelled)
    assert (event.fpga_id, event.job_id, event.by) == (FPGA, job.job_id, "alice")


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("status", ["running", "complete", "failed", "cancelled"])
@pytest.mark.parametrize("kind", ["build_and_program", "run"])
def test_cancel_of_a_started_or_finished_job_is_refused(
    state: BoardState, status: JobStatus, kind: JobType
) -> None:
    job = _job(status, kind=kind)
    with pytest.raises(JobNotCancellable) as info:
        decide(Cancel(fpga_id=FPGA, job_id=job.job_id, by="alice"), BOARDS[state], job)
    _refused(info.value, JobNotCancellable, 409, "job_not_cancellable")
    assert status in info.value.message


@pytest.mark.parametrize("status", ["queued", "running", "complete"])
def test_cancel_of_a_reset_job_is_refused(status: JobStatus) -> None:
    job = _job(status, kind="reset")
    board = BoardView(
        fpga_id=FPGA, state="programming", current_job_id=job.job_id, current_job_type="reset"
    )
    with pytest.raises(JobNotCancellable) as info:
        decide(Cancel(fpga_id=FPGA, job_id=job.job_id, by="alice"), board, job)
    _refused(info.value, JobNotCancellable, 409, "job_not_cancellable")


def test_cancel_of_an_unknown_job_is_not_found() -> None:
    with pytest.raises(JobNotFound) as info:
        decide(Cancel(fpga_id=FPGA, job_id=uuid.uuid4(), by="alice"), BOARDS["queued"], None)
    _refused(info.value, JobNotFound, 404, "job_not_found")


def test_cancel_of_a_job_on_another_board_is_not_found() -> None:
    job = _job("queued", fpga_id=FPGA + 1)
    with pytest.raises(JobNotFound):
        decide(Cancel(fpga_id=FPGA, job_id=job.job_id, by="alice"), BOARDS["queued"], job)


def test_decide_is_pure() -> None:
    board = BOARDS["idle"]
    cmd = _submit()
    first, second = decide(cmd, board), decide(cmd, board)
    assert board == BoardView(fpga_id=FPGA, last_seq=7)
    assert isinstance(first, JobQueued) and isinstance(second, JobQueued)
    assert first.job_id == second.job_id == cmd.job_id
