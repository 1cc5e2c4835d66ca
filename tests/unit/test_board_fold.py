"""The board view fold, pure: each lifecycle of a board ends where a renter expects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardReset,
    BuildFailed,
    BuildStarted,
    JobCancelled,
    JobFailed,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionReleased,
    WishboneResult,
)
from projections import board as board_fold
from projections.views import BoardView, SessionView
from tests.fakes import WINDOW_SIZE, built, opened, queued, reservation
from tests.keys import ALICE

FPGA = 4


def fold(events: Sequence[BoardEvent], *, first_seq: int = 1) -> list[BoardView]:
    """The view after each event (the stream sequences start at ``first_seq``)."""
    views: list[BoardView] = []
    view = BoardView(fpga_id=FPGA)
    for seq, event in enumerate(events, start=first_seq):
        view = board_fold.apply(view, event, seq)
        views.append(view)
    return views


def states(views: Sequence[BoardView]) -> list[str]:
    return [v.state for v in views]


def _idle(view: BoardView, seq: int) -> None:
    assert view == BoardView(fpga_id=FPGA, last_seq=seq)


def test_full_lifecycle_from_submit_to_reset() -> None:
    job, session, reset_job, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events: list[BoardEvent] = [
        *reservation(FPGA, job, session),
        RunQueued(fpga_id=FPGA, job_id=run, owner="alice", op=2, address=0, session_id=session),
        RunStarted(fpga_id=FPGA, job_id=run),
        WishboneResult(fpga_id=FPGA, job_id=run, ok=True, data=[7]),
        SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="alice"),
        ResetStarted(fpga_id=FPGA, job_id=reset_job),
        BoardReset(fpga_id=FPGA, job_id=reset_job),
    ]
    views = fold(events)
    assert states(views) == [
        "queued",
        "building",
        "building",
        "programming",
        "programming",
        "reserved",
        "reserved",
        "reserved",
        "reserved",
        "programming",
        "programming",
        "idle",
    ]
    assert views[0].current_job_id == job
    assert views[0].current_job_type == "build_and_program"
    assert views[1].current_job_id == job
    assert views[2].window_size == WINDOW_SIZE
    reserved = views[5]
    assert reserved.current_job_id is None and reserved.current_job_type is None
    assert reserved.window_size == WINDOW_SIZE
    assert reserved.session == SessionView(
        session_id=session,
        fpga_id=FPGA,
        owner=ALICE.key_id,
        expires_at=events[5].expires_at,  # type: ignore[union-attr]
        opened_at=events[5].occurred_at,
        lease_seconds=3600,
        ends_by=events[5].occurred_at + timedelta(hours=8),
    )
    assert views[8] == BoardView(
        fpga_id=FPGA,
        state="reserved",
        session=reserved.session,
        window_size=WINDOW_SIZE,
        last_seq=9,
    )
    releasing = views[9]
    assert releasing.session is None
    assert (releasing.current_job_id, releasing.current_job_type) == (reset_job, "reset")
    _idle(views[-1], len(events))


def test_last_seq_tracks_every_event_even_those_that_change_nothing_else() -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    views = fold(reservation(FPGA, job, session), first_seq=100)
    assert [v.last_seq for v in views] == list(range(100, 106))
    run = RunQueued(fpga_id=FPGA, job_id=uuid.uuid4(), owner="a", op=2, address=0)
    after = board_fold.apply(views[-1], run, 250)
    assert after == BoardView(
        fpga_id=FPGA,
        state="reserved",
        session=views[-1].session,
        window_size=WINDOW_SIZE,
        last_seq=250,
    )


def test_build_failure_returns_the_board_to_idle() -> None:
    job = uuid.uuid4()
    views = fold(
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            BuildFailed(fpga_id=FPGA, job_id=job, reason="SyntaxError in design.py line 3"),
        ]
    )
    assert states(views) == ["queued", "building", "idle"]
    assert views[-1].current_job_id is None and views[-1].current_job_type is None
    assert views[-1].last_seq == 3


def test_cancel_of_a_queued_build_frees_the_board() -> None:
    # The seed prototype left the board "queued" for ever after a cancel.
    job = uuid.uuid4()
    views = fold([queued(FPGA, job), JobCancelled(fpga_id=FPGA, job_id=job, by="alice")])
    assert states(views) == ["queued", "idle"]
    assert views[-1].current_job_id is None


def test_cancel_of_another_job_leaves_the_build_alone() -> None:
    job = uuid.uuid4()
    views = fold([queued(FPGA, job), JobCancelled(fpga_id=FPGA, job_id=uuid.uuid4())])
    assert states(views) == ["queued", "queued"]
    assert views[-1].current_job_id == job


def test_programming_failure_puts_the_board_in_error_until_reset() -> None:
    job, reset_job = uuid.uuid4(), uuid.uuid4()
    views = fold(
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            built(FPGA, job),
            ProgrammingStarted(fpga_id=FPGA, job_id=job),
            ProgrammingFailed(fpga_id=FPGA, job_id=job, reason="no answer from the bridge"),
            ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="alice"),
            ResetStarted(fpga_id=FPGA, job_id=reset_job),
            BoardReset(fpga_id=FPGA, job_id=reset_job),
        ]
    )
    assert states(views) == [
        "queued",
        "building",
        "building",
        "programming",
        "error",
        "programming",
        "programming",
        "idle",
    ]
    failed = views[4]
    assert failed.error == "no answer from the bridge"
    assert failed.current_job_id is None and failed.current_job_type is None
    assert views[5].current_job_id == reset_job
    _idle(views[-1], 8)


def test_board_faulted_ends_the_session_and_needs_a_reset() -> None:
    job, session, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    views = fold(
        [
            *reservation(FPGA, job, session),
            BoardFaulted(fpga_id=FPGA, reason="the simulator died"),
            ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="ops"),
            BoardReset(fpga_id=FPGA, job_id=reset_job),
        ]
    )
    faulted = views[6]
    assert faulted.state == "error"
    assert faulted.session is None
    assert faulted.error == "the simulator died"
    assert faulted.current_job_id is None
    assert views[7].state == "programming"
    _idle(views[-1], 9)


def test_board_faulted_during_a_build_clears_the_job() -> None:
    job = uuid.uuid4()
    views = fold(
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            BoardFaulted(fpga_id=FPGA, reason="disk full", job_id=job),
        ]
    )
    assert views[-1].state == "error"
    assert views[-1].current_job_id is None and views[-1].current_job_type is None


def test_interrupted_run_failing_keeps_the_session() -> None:
    job, session, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    views = fold(
        [
            *reservation(FPGA, job, session),
            RunQueued(fpga_id=FPGA, job_id=run, owner="alice", op=2, address=0),
            RunStarted(fpga_id=FPGA, job_id=run),
            JobFailed(fpga_id=FPGA, job_id=run, reason="interrupted by a worker restart"),
        ]
    )
    assert states(views)[-3:] == ["reserved", "reserved", "reserved"]
    assert views[-1].session is not None and views[-1].session.session_id == session
    assert views[-1].error is None


def test_failed_build_job_after_interruption_frees_the_board() -> None:
    job = uuid.uuid4()
    views = fold(
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            JobFailed(fpga_id=FPGA, job_id=job, reason="worker lost"),
        ]
    )
    assert states(views) == ["queued", "building", "idle"]


def test_failed_reset_job_puts_the_board_in_error() -> None:
    job, session, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    views = fold(
        [
            *reservation(FPGA, job, session),
            SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="a"),
            ResetStarted(fpga_id=FPGA, job_id=reset_job),
            JobFailed(fpga_id=FPGA, job_id=reset_job, reason="base SoC did not come back"),
        ]
    )
    assert views[-1].state == "error"
    assert views[-1].error == "base SoC did not come back"
    assert views[-1].current_job_id is None


def test_resubmit_after_failure_clears_the_old_error() -> None:
    job, reset_job, again = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    views = fold(
        [
            queued(FPGA, job),
            ProgrammingFailed(fpga_id=FPGA, job_id=job, reason="bad bitstream"),
            ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="alice"),
            BoardReset(fpga_id=FPGA, job_id=reset_job),
            queued(FPGA, again),
        ]
    )
    assert views[-1].state == "queued"
    assert views[-1].error is None
    assert views[-1].window_size is None
    assert views[-1].current_job_id == again


def test_window_size_comes_from_the_latest_build() -> None:
    job, session, reset_job, again = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    views = fold(
        [
            *reservation(FPGA, job, session, window_size=16),
            ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="alice"),
            BoardReset(fpga_id=FPGA, job_id=reset_job),
            *reservation(FPGA, again, uuid.uuid4(), window_size=4096),
        ]
    )
    assert views[5].window_size == 16
    assert views[7].window_size is None
    assert views[-1].window_size == 4096
    assert views[-1].session is not None and views[-1].session.session_id != session


def test_opened_session_is_the_boards() -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    view = board_fold.apply(BoardView(fpga_id=FPGA), opened(FPGA, job, session, owner="zoe"), 1)
    assert view.session is not None
    assert (view.session.owner, view.session.fpga_id) == ("zoe", FPGA)
