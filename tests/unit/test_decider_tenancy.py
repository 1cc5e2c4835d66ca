"""The decider's tenancy rules: session ownership, admin overrides, leases, the board limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from events.types import JobCancelled, ResetQueued, RunQueued, SessionExpired, SessionReleased
from projections.views import BoardView, JobView, SessionView
from services.domain.commands import (
    Cancel,
    Expire,
    OpenStream,
    Release,
    Reset,
    Run,
    Submit,
)
from services.domain.decider import decide
from services.domain.errors import (
    BoardLimitReached,
    JobNotFound,
    LeaseNotExpired,
    NotSessionOwner,
    SessionExpiredError,
)
from tests.fakes import WINDOW_SIZE

FPGA = 5
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SID = uuid.UUID("44444444-4444-4444-4444-444444444444")
LEASE = timedelta(hours=1)
MAX_SESSION = timedelta(hours=8)
#: As the session's SessionOpened left it: its lengths were decided with its submit.
SESSION = SessionView(
    session_id=SID, fpga_id=FPGA, owner="alice", expires_at=T0 + LEASE, opened_at=T0,
    lease_seconds=int(LEASE.total_seconds()), ends_by=T0 + MAX_SESSION,
)  # fmt: skip
RESERVED = BoardView(
    fpga_id=FPGA, state="reserved", session=SESSION, window_size=WINDOW_SIZE, last_seq=9
)
NOW = T0 + timedelta(minutes=30)


def _run(
    owner: str = "alice", session_id: str | None = str(SID), now: datetime | None = NOW
) -> Run:
    return Run(
        fpga_id=FPGA, job_id=uuid.uuid4(), owner=owner, session_id=session_id,
        op=2, address=0, data=[], count=1, now=now,
    )  # fmt: skip


def test_the_owner_with_its_session_id_may_run_and_renews_the_lease() -> None:
    event = decide(_run(), RESERVED)
    assert isinstance(event, RunQueued)
    assert event.session_id == SID
    assert event.lease_expires_at == NOW + LEASE


def test_renewal_never_passes_the_session_maximum() -> None:
    late = T0 + timedelta(hours=7, minutes=30)
    board = replace(
        RESERVED, session=replace(SESSION, expires_at=T0 + timedelta(hours=7, minutes=45))
    )
    event = decide(_run(now=late), board)
    assert isinstance(event, RunQueued)
    assert event.lease_expires_at == T0 + MAX_SESSION


def test_the_session_s_own_lengths_decide_the_renewal() -> None:
    """Lengths come from the session's events, so every replica and host renews alike."""
    short = replace(
        SESSION, expires_at=NOW + timedelta(seconds=30), lease_seconds=60,
        ends_by=T0 + timedelta(minutes=45),
    )  # fmt: skip
    event = decide(_run(), replace(RESERVED, session=short))
    assert isinstance(event, RunQueued) and event.lease_expires_at == NOW + timedelta(minutes=1)
    late = T0 + timedelta(minutes=44, seconds=30)
    ending = replace(short, expires_at=late + timedelta(seconds=10))
    event = decide(_run(now=late), replace(RESERVED, session=ending))
    assert isinstance(event, RunQueued) and event.lease_expires_at == T0 + timedelta(minutes=45)


def test_renewal_never_shortens_a_longer_lease() -> None:
    board = replace(RESERVED, session=replace(SESSION, expires_at=T0 + timedelta(hours=3)))
    event = decide(_run(), board)
    assert isinstance(event, RunQueued) and event.lease_expires_at is None


@pytest.mark.parametrize(
    ("owner", "session_id"),
    [("bob", str(SID)), ("alice", None), ("alice", str(uuid.uuid4())), ("alice", "not-a-uuid")],
)
def test_others_or_a_wrong_session_id_are_refused(owner: str, session_id: str | None) -> None:
    with pytest.raises(NotSessionOwner) as info:
        decide(_run(owner, session_id), RESERVED)
    assert (info.value.status_code, info.value.code) == (403, "not_session_owner")


def test_a_run_after_the_lease_ran_out_is_refused() -> None:
    with pytest.raises(SessionExpiredError) as info:
        decide(_run(now=SESSION.expires_at), RESERVED)
    assert (info.value.status_code, info.value.code) == (409, "session_expired")


def test_the_stream_follows_the_same_rules() -> None:
    ok = OpenStream(fpga_id=FPGA, stream_id=uuid.uuid4(), session_id=str(SID), owner="alice")
    assert decide(ok, RESERVED).fpga_id == FPGA
    with pytest.raises(NotSessionOwner):
        decide(replace(ok, owner="bob"), RESERVED)


def test_release_by_owner_admin_and_others() -> None:
    mine = Release(fpga_id=FPGA, job_id=uuid.uuid4(), owner="alice", session_id=str(SID))
    event = decide(mine, RESERVED)
    assert isinstance(event, SessionReleased) and (event.owner, event.by) == ("alice", "alice")
    with pytest.raises(NotSessionOwner):
        decide(replace(mine, owner="bob"), RESERVED)
    with pytest.raises(NotSessionOwner):
        decide(replace(mine, session_id=None), RESERVED)
    by_admin = decide(replace(mine, owner="ops", admin=True, session_id=None), RESERVED)
    # The reset job still belongs to the session's owner; the admin is recorded as ``by``.
    assert isinstance(by_admin, SessionReleased) and (by_admin.owner, by_admin.by) == (
        "alice",
        "ops",
    )


def test_reset_of_a_reserved_board_needs_its_owner_or_an_admin() -> None:
    cmd = Reset(fpga_id=FPGA, job_id=uuid.uuid4(), owner="bob")
    with pytest.raises(NotSessionOwner):
        decide(cmd, RESERVED)
    assert isinstance(decide(replace(cmd, admin=True), RESERVED), ResetQueued)
    owner = replace(cmd, owner="alice", session_id=str(SID))
    assert isinstance(decide(owner, RESERVED), ResetQueued)


def test_anyone_may_reset_a_board_in_error_which_holds_no_session() -> None:
    board = BoardView(fpga_id=FPGA, state="error", error="died", last_seq=3)
    assert isinstance(
        decide(Reset(fpga_id=FPGA, job_id=uuid.uuid4(), owner="bob"), board), ResetQueued
    )


def test_cancel_of_another_keys_job_is_not_found() -> None:
    job = JobView(
        job_id=uuid.uuid4(), fpga_id=FPGA, type="build_and_program", status="queued",
        created_at=T0, updated_at=T0, owner="alice",
    )  # fmt: skip
    board = BoardView(fpga_id=FPGA, state="queued", current_job_id=job.job_id, last_seq=2)
    with pytest.raises(JobNotFound):
        decide(Cancel(fpga_id=FPGA, job_id=job.job_id, by="bob"), board, job)
    assert isinstance(
        decide(Cancel(fpga_id=FPGA, job_id=job.job_id, by="ops", admin=True), board, job),
        JobCancelled,
    )


def test_expire_only_once_the_lease_ran_out() -> None:
    before = Expire(
        fpga_id=FPGA, job_id=uuid.uuid4(), now=SESSION.expires_at - timedelta(seconds=1)
    )
    with pytest.raises(LeaseNotExpired):
        decide(before, RESERVED)
    at = replace(before, now=SESSION.expires_at)
    event = decide(at, RESERVED)
    assert isinstance(event, SessionExpired)
    assert (event.session_id, event.owner, event.reset_job_id) == (SID, "alice", at.job_id)
    with pytest.raises(LeaseNotExpired):
        decide(at, BoardView(fpga_id=FPGA, last_seq=1))


def test_submit_beyond_the_board_limit_is_refused_with_its_own_code() -> None:
    cmd = Submit(
        fpga_id=FPGA, job_id=uuid.uuid4(), owner="alice", design_sha256="ab" * 32,
        design_size=10, filename="design.py", held=2, max_boards=2,
    )  # fmt: skip
    with pytest.raises(BoardLimitReached) as info:
        decide(cmd, BoardView(fpga_id=FPGA))
    assert (info.value.status_code, info.value.code) == (409, "board_limit_reached")
    assert decide(replace(cmd, held=1), BoardView(fpga_id=FPGA)).fpga_id == FPGA
