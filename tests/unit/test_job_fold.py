"""The job view fold and the ``Views`` that hold every board and job, pure."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from events.jobs import job_id_of
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
from projections import job as job_fold
from projections.runner import Views
from projections.views import BoardView, JobView, RunResult
from tests.fakes import built, queued, reservation

FPGA = 6
T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def stamped(events: Sequence[BoardEvent]) -> list[BoardEvent]:
    """The events with increasing, known times (one second apart from ``T0``)."""
    return [
        msgspec.structs.replace(e, occurred_at=T0 + timedelta(seconds=i))
        for i, e in enumerate(events)
    ]


def track(job_id: uuid.UUID, events: Sequence[BoardEvent]) -> list[JobView | None]:
    """The view of one job after each event (events of other jobs leave it as it was)."""
    job: JobView | None = None
    out: list[JobView | None] = []
    for event in events:
        if job_id_of(event) == job_id:
            job = job_fold.apply(job, event)
        out.append(job)
    return out


def status_stage(views: Sequence[JobView | None]) -> list[tuple[str, str] | None]:
    return [(v.status, v.stage) if v else None for v in views]


def test_build_job_lifecycle_statuses_and_stages() -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    events = stamped(reservation(FPGA, job, session, owner="alice"))
    views = track(job, events)
    assert status_stage(views) == [
        ("queued", "queued"),
        ("running", "building"),
        ("running", "built"),
        ("running", "programming"),
        ("running", "programmed"),
        ("complete", "reserved"),
    ]
    final = views[-1]
    assert final is not None
    assert (final.job_id, final.fpga_id, final.type, final.owner) == (
        job,
        FPGA,
        "build_and_program",
        "alice",
    )
    assert final.created_at == T0
    assert final.updated_at == T0 + timedelta(seconds=5)
    assert final.error is None and final.result is None


def test_run_job_lifecycle_carries_its_result() -> None:
    run, session = uuid.uuid4(), uuid.uuid4()
    events = stamped(
        [
            RunQueued(
                fpga_id=FPGA,
                job_id=run,
                owner="alice",
                op=2,
                address=4,
                count=2,
                session_id=session,
            ),
            RunStarted(fpga_id=FPGA, job_id=run),
            WishboneResult(fpga_id=FPGA, job_id=run, ok=True, data=[0xDEAD, 0xBEEF]),
        ]
    )
    views = track(run, events)
    assert status_stage(views) == [
        ("queued", "queued"),
        ("running", "running"),
        ("complete", "done"),
    ]
    final = views[-1]
    assert final is not None
    assert final.type == "run"
    assert final.session_id == session
    assert final.result == RunResult(ok=True, data=[0xDEAD, 0xBEEF], error=None)
    assert final.updated_at == T0 + timedelta(seconds=2)


def test_failed_wishbone_result_fails_the_run_with_its_error() -> None:
    run = uuid.uuid4()
    views = track(
        run,
        [
            RunQueued(fpga_id=FPGA, job_id=run, owner="a", op=1, address=0, data=[1]),
            RunStarted(fpga_id=FPGA, job_id=run),
            WishboneResult(fpga_id=FPGA, job_id=run, ok=False, error="bus timeout"),
        ],
    )
    final = views[-1]
    assert final is not None
    assert (final.status, final.error) == ("failed", "bus timeout")
    assert final.result == RunResult(ok=False, data=[], error="bus timeout")


def test_interrupted_run_is_failed_with_the_reason_and_no_result() -> None:
    run = uuid.uuid4()
    views = track(
        run,
        [
            RunQueued(fpga_id=FPGA, job_id=run, owner="a", op=2, address=0),
            RunStarted(fpga_id=FPGA, job_id=run),
            JobFailed(fpga_id=FPGA, job_id=run, reason="interrupted by a worker restart"),
        ],
    )
    final = views[-1]
    assert final is not None
    assert (final.status, final.stage) == ("failed", "failed")
    assert final.error == "interrupted by a worker restart"
    assert final.result is None


def test_build_failure_fails_the_job_with_its_reason() -> None:
    job = uuid.uuid4()
    views = track(
        job,
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            BuildFailed(fpga_id=FPGA, job_id=job, reason="NameError: name 'Modul' is not defined"),
        ],
    )
    final = views[-1]
    assert final is not None
    assert (final.status, final.stage) == ("failed", "failed")
    assert final.error == "NameError: name 'Modul' is not defined"


def test_programming_failure_fails_the_build_job() -> None:
    job = uuid.uuid4()
    views = track(
        job,
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            built(FPGA, job),
            ProgrammingStarted(fpga_id=FPGA, job_id=job),
            ProgrammingFailed(fpga_id=FPGA, job_id=job, reason="no answer"),
        ],
    )
    assert status_stage(views)[-1] == ("failed", "failed")
    assert views[-1] is not None and views[-1].error == "no answer"


def test_board_faulted_with_a_job_fails_that_job() -> None:
    job = uuid.uuid4()
    views = track(
        job,
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            BoardFaulted(fpga_id=FPGA, reason="disk full", job_id=job),
        ],
    )
    assert views[-1] is not None
    assert (views[-1].status, views[-1].error) == ("failed", "disk full")


def test_cancelled_job_stays_cancelled() -> None:
    job = uuid.uuid4()
    views = track(
        job,
        [
            queued(FPGA, job),
            JobCancelled(fpga_id=FPGA, job_id=job, by="alice"),
            BuildStarted(fpga_id=FPGA, job_id=job),  # a late claim must not revive it
            JobFailed(fpga_id=FPGA, job_id=job, reason="late"),
        ],
    )
    assert status_stage(views) == [
        ("queued", "queued"),
        ("cancelled", "cancelled"),
        ("cancelled", "cancelled"),
        ("cancelled", "cancelled"),
    ]
    assert views[-1] is not None and views[-1].error is None


def test_finished_job_ignores_later_events() -> None:
    run = uuid.uuid4()
    views = track(
        run,
        [
            RunQueued(fpga_id=FPGA, job_id=run, owner="a", op=2, address=0),
            RunStarted(fpga_id=FPGA, job_id=run),
            WishboneResult(fpga_id=FPGA, job_id=run, ok=True, data=[1]),
            JobFailed(fpga_id=FPGA, job_id=run, reason="duplicate restart verdict"),
        ],
    )
    assert views[-1] == views[-2]


def test_release_creates_a_reset_job_that_completes_on_board_reset() -> None:
    session, reset_job = uuid.uuid4(), uuid.uuid4()
    views = track(
        reset_job,
        [
            SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="a"),
            ResetStarted(fpga_id=FPGA, job_id=reset_job),
            BoardReset(fpga_id=FPGA, job_id=reset_job),
        ],
    )
    assert status_stage(views) == [
        ("queued", "queued"),
        ("running", "resetting"),
        ("complete", "idle"),
    ]
    assert views[0] is not None and views[0].type == "reset" and views[0].owner == "a"


def test_reset_queued_creates_a_reset_job() -> None:
    reset_job = uuid.uuid4()
    event = ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="ops")
    job = job_fold.apply(None, event)
    assert job is not None
    assert (job.type, job.status, job.owner, job.fpga_id) == ("reset", "queued", "ops", FPGA)


def test_events_of_jobs_that_do_not_exist_create_nothing() -> None:
    assert job_fold.apply(None, BuildStarted(fpga_id=FPGA, job_id=uuid.uuid4())) is None
    assert job_id_of(BoardFaulted(fpga_id=FPGA, reason="x")) is None


# ---------------------------------------------------------------------------------- Views


def _history() -> list[BoardEvent]:
    job, session, run, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    other = uuid.uuid4()
    return [
        *reservation(FPGA, job, session),
        queued(FPGA + 1, other),
        RunQueued(fpga_id=FPGA, job_id=run, owner="alice", op=2, address=0),
        RunStarted(fpga_id=FPGA, job_id=run),
        WishboneResult(fpga_id=FPGA, job_id=run, ok=True, data=[5]),
        JobCancelled(fpga_id=FPGA + 1, job_id=other),
        SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="alice"),
    ]


def test_views_fold_boards_and_jobs() -> None:
    history = _history()
    views = Views(range(10))
    for seq, event in enumerate(history, start=1):
        views.apply(seq, event)
    assert views.applied_seq == len(history)
    assert views.boards[FPGA].state == "programming"
    assert views.boards[FPGA].last_seq == len(history)
    assert views.boards[FPGA + 1] == BoardView(fpga_id=FPGA + 1, last_seq=11)
    assert {j.type for j in views.jobs.values()} == {"build_and_program", "run", "reset"}
    assert len(views.jobs) == 4
    assert views.boards[0] == BoardView(fpga_id=0)


def test_replaying_the_same_events_twice_is_idempotent() -> None:
    history = _history()
    views = Views(range(10))
    for seq, event in enumerate(history, start=1):
        views.apply(seq, event)
    boards, jobs = copy.deepcopy(views.boards), copy.deepcopy(views.jobs)
    for seq, event in enumerate(history, start=1):  # a redelivery from the start
        views.apply(seq, event)
    assert views.boards == boards
    assert views.jobs == jobs
    assert views.applied_seq == len(history)


def test_an_older_sequence_is_ignored_even_if_its_event_is_new() -> None:
    views = Views([FPGA])
    views.apply(5, queued(FPGA, uuid.uuid4()))
    stale = queued(FPGA, uuid.uuid4())
    views.apply(5, stale)
    views.apply(3, stale)
    assert stale.job_id not in views.jobs
    assert views.boards[FPGA].last_seq == 5
    assert views.applied_seq == 5


def test_events_of_unknown_boards_do_not_crash_the_views() -> None:
    views = Views([0, 1])
    job = uuid.uuid4()
    views.apply(1, queued(42, job))
    assert set(views.boards) == {0, 1}
    assert views.applied_seq == 1
    assert views.jobs[job].fpga_id == 42
