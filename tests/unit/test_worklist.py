"""The hwbridge worklist fold: what a board's worker still has to do, and in which order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardReset,
    BuildFailed,
    BuildStarted,
    JobCancelled,
    JobFailed,
    Programmed,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionReleased,
    WishboneResult,
)
from hwbridge import worklist
from hwbridge.worklist import Loaded, Worklist
from tests.fakes import WINDOW_BASE, WINDOW_SIZE, built, opened, queued, reservation

FPGA = 2


def fold(events: Sequence[BoardEvent], wl: Worklist | None = None) -> Worklist:
    wl = wl if wl is not None else Worklist(fpga_id=FPGA)
    for event in events:
        wl = worklist.apply(wl, event, wl.last_seq + 1)
    return wl


def todo(wl: Worklist) -> list[tuple[uuid.UUID, str, str]]:
    return [(i.job_id, i.kind, i.phase) for i in wl.items]


def _run(job: uuid.UUID, address: int = 0) -> RunQueued:
    return RunQueued(fpga_id=FPGA, job_id=job, owner="alice", op=2, address=address)


def test_empty_board_has_nothing_to_do() -> None:
    wl = Worklist(fpga_id=FPGA)
    assert worklist.next_item(wl) is None
    assert wl.loaded is None and not wl.reserved


def test_build_job_walks_through_its_phases_then_leaves_the_list() -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    events = reservation(FPGA, job, session, owner="alice", sha="cd" * 32)
    wl = Worklist(fpga_id=FPGA)
    phases: list[str | None] = []
    for seq, event in enumerate(events, start=1):
        wl = worklist.apply(wl, event, seq)
        item = worklist.next_item(wl)
        phases.append(item.phase if item else None)
        assert wl.last_seq == seq
    assert phases == ["queued", "started", "built", "programming", "programmed", None]
    assert wl.reserved
    assert wl.loaded == Loaded(
        job_id=job,
        artifact=f"artifact-{job.hex}",
        window_base=WINDOW_BASE,
        window_size=WINDOW_SIZE,
    )


def test_queued_build_item_carries_what_the_build_needs() -> None:
    job = uuid.uuid4()
    wl = fold([queued(FPGA, job, owner="bob", sha="ef" * 32)])
    item = worklist.next_item(wl)
    assert item is not None
    assert (item.job_id, item.kind, item.phase, item.attempt) == (
        job,
        "build_and_program",
        "queued",
        0,
    )
    assert (item.owner, item.design_sha256) == ("bob", "ef" * 32)


def test_built_item_keeps_the_build_output() -> None:
    job = uuid.uuid4()
    wl = fold([queued(FPGA, job), BuildStarted(fpga_id=FPGA, job_id=job), built(FPGA, job)])
    item = worklist.next_item(wl)
    assert item is not None and item.built is not None
    assert item.built.window_size == WINDOW_SIZE
    assert wl.loaded is None  # not loaded until Programmed


def test_restart_during_build_resumes_from_started_with_its_attempt() -> None:
    job = uuid.uuid4()
    wl = fold([queued(FPGA, job), BuildStarted(fpga_id=FPGA, job_id=job, attempt=2)])
    assert todo(wl) == [(job, "build_and_program", "started")]
    item = worklist.next_item(wl)
    assert item is not None and item.attempt == 2


def test_build_failure_or_cancel_drops_the_job() -> None:
    failed, cancelled = uuid.uuid4(), uuid.uuid4()
    wl = fold(
        [
            queued(FPGA, failed),
            BuildStarted(fpga_id=FPGA, job_id=failed),
            BuildFailed(fpga_id=FPGA, job_id=failed, reason="syntax"),
            queued(FPGA, cancelled),
            JobCancelled(fpga_id=FPGA, job_id=cancelled),
        ]
    )
    assert wl.items == ()
    assert not wl.reserved and wl.loaded is None


def test_runs_are_done_in_queue_order_and_leave_on_their_result() -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    runs = [uuid.uuid4() for _ in range(3)]
    wl = fold([*reservation(FPGA, job, session), *(_run(r, 4 * i) for i, r in enumerate(runs))])
    assert todo(wl) == [(r, "run", "queued") for r in runs]
    first = worklist.next_item(wl)
    assert first is not None and first.run is not None and first.run.address == 0
    wl = fold([RunStarted(fpga_id=FPGA, job_id=runs[0])], wl)
    assert todo(wl)[0] == (runs[0], "run", "started")
    wl = fold([WishboneResult(fpga_id=FPGA, job_id=runs[0], ok=True, data=[1])], wl)
    assert [i.job_id for i in wl.items] == runs[1:]
    wl = fold(
        [
            JobCancelled(fpga_id=FPGA, job_id=runs[2]),
            RunStarted(fpga_id=FPGA, job_id=runs[1]),
            JobFailed(fpga_id=FPGA, job_id=runs[1], reason="interrupted"),
        ],
        wl,
    )
    assert wl.items == ()
    assert wl.reserved  # the session outlives its runs


def test_restart_during_a_run_shows_it_started() -> None:
    job, session, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    wl = fold([*reservation(FPGA, job, session), _run(run), RunStarted(fpga_id=FPGA, job_id=run)])
    assert todo(wl) == [(run, "run", "started")]


def test_release_queues_a_reset_after_pending_runs() -> None:
    job, session, run, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    wl = fold(
        [
            *reservation(FPGA, job, session, owner="alice"),
            _run(run),
            SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="al"),
        ]
    )
    assert todo(wl) == [(run, "run", "queued"), (reset_job, "reset", "queued")]
    assert not wl.reserved
    assert wl.item(reset_job) is not None and wl.item(reset_job).owner == "al"  # type: ignore[union-attr]


def test_reset_lifecycle_unloads_the_design() -> None:
    job, session, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    wl = fold(
        [*reservation(FPGA, job, session), ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="a")]
    )
    assert todo(wl) == [(reset_job, "reset", "queued")]
    assert wl.loaded is not None
    wl = fold([ResetStarted(fpga_id=FPGA, job_id=reset_job)], wl)
    wl = fold([BoardReset(fpga_id=FPGA, job_id=reset_job)], wl)
    assert wl.items == () and wl.loaded is None and not wl.reserved


def test_restart_during_a_reset_shows_it_started() -> None:
    # A restarted worker must finish the reset, not claim it a second time.
    job, session, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    wl = fold(
        [
            *reservation(FPGA, job, session),
            ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="a"),
            ResetStarted(fpga_id=FPGA, job_id=reset_job),
        ]
    )
    assert todo(wl) == [(reset_job, "reset", "started")]
    assert not wl.reserved


def test_programming_failure_drops_the_job_and_unloads() -> None:
    job, reset_job = uuid.uuid4(), uuid.uuid4()
    wl = fold(
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            built(FPGA, job),
            ProgrammingStarted(fpga_id=FPGA, job_id=job),
            ProgrammingFailed(fpga_id=FPGA, job_id=job, reason="x"),
        ]
    )
    assert wl.items == () and wl.loaded is None and not wl.reserved
    wl = fold(
        [
            ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="a"),
            BoardReset(fpga_id=FPGA, job_id=reset_job),
        ],
        wl,
    )
    assert wl.items == ()


def test_programmed_but_not_yet_opened_is_the_programmed_phase() -> None:
    job = uuid.uuid4()
    wl = fold(
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            built(FPGA, job),
            ProgrammingStarted(fpga_id=FPGA, job_id=job),
            Programmed(fpga_id=FPGA, job_id=job),
        ]
    )
    assert todo(wl) == [(job, "build_and_program", "programmed")]
    assert wl.loaded is not None and not wl.reserved
    wl = fold([opened(FPGA, job, uuid.uuid4())], wl)
    assert wl.items == () and wl.reserved


def test_board_fault_unloads_and_unreserves() -> None:
    job, session, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    wl = fold(
        [*reservation(FPGA, job, session), _run(run), BoardFaulted(fpga_id=FPGA, reason="died")]
    )
    assert wl.loaded is None and not wl.reserved
    assert todo(wl) == [(run, "run", "queued")]  # the run still gets its (failed) answer


def test_board_fault_of_a_job_drops_it() -> None:
    job = uuid.uuid4()
    wl = fold(
        [
            queued(FPGA, job),
            BuildStarted(fpga_id=FPGA, job_id=job),
            BoardFaulted(fpga_id=FPGA, reason="died", job_id=job),
        ]
    )
    assert wl.items == ()


def test_a_redelivered_queue_event_does_not_duplicate_the_job() -> None:
    job = uuid.uuid4()
    event = queued(FPGA, job)
    wl = fold([event, event])
    assert todo(wl) == [(job, "build_and_program", "queued")]


def test_events_for_unknown_jobs_change_nothing_but_the_sequence() -> None:
    job = uuid.uuid4()
    wl = fold([queued(FPGA, job)])
    after = fold([BuildStarted(fpga_id=FPGA, job_id=uuid.uuid4())], wl)
    assert after.items == wl.items
    assert after.last_seq == wl.last_seq + 1
