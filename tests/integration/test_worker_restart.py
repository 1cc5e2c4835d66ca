"""A board's worker restarted at every step, and its lifecycle, against a real nats-server.

A new worker folds the board's history first: interrupted steps are resumed, failed or finished,
never silently repeated; every assertion is on the stream and the fake driver's calls.
"""

from __future__ import annotations

import asyncio
import uuid

from events.store import EventStore
from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardReset,
    BuildFailed,
    BuildStarted,
    JobFailed,
    JobQueued,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunStarted,
    SessionOpened,
    SessionReleased,
    WishboneResult,
)
from hwbridge.worker import BoardWorker
from projections.views import BoardView
from tests.buildlog import untimed
from tests.fakes import DESIGN, WINDOW_BASE, WINDOW_SIZE, FakeDriver, built
from tests.integration.workerkit import (
    FPGA,
    SHA,
    StartWorker,
    append_all,
    board_view,
    has,
    names,
    of_job,
    reservation,
    run,
    submit,
    until,
    until_true,
)

# ------------------------------------------------------------------------------------ restart


async def test_interrupted_run_is_failed_not_repeated(
    store: EventStore, start_worker: StartWorker
) -> None:
    job, session, run_id, after = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await append_all(
        store,
        [
            *reservation(job, session),
            run(run_id, 1, 0, data=[7]),
            RunStarted(fpga_id=FPGA, job_id=run_id),
        ],
    )
    driver = FakeDriver(programmed_at_start=True)
    await start_worker(driver)
    events = await until(store, has(JobFailed, run_id))
    failed = next(e for e in events if isinstance(e, JobFailed))
    assert "interrupted" in failed.reason
    assert of_job(events, run_id) == ["RunQueued", "RunStarted", "JobFailed"]
    assert driver.calls == []  # neither written again nor re-programmed
    # and the board still serves new runs
    await store.append(run(after, 2, 0))
    events = await until(store, has(WishboneResult, after))
    assert of_job(events, run_id) == ["RunQueued", "RunStarted", "JobFailed"]
    assert driver.calls == [("read", 0, 1)]


async def test_interrupted_build_is_resumed_once(
    store: EventStore, start_worker: StartWorker
) -> None:
    job = uuid.uuid4()
    await store.put_design(SHA, DESIGN)
    await append_all(
        store,
        [
            JobQueued(
                fpga_id=FPGA, job_id=job, owner="alice", design_sha256=SHA, design_size=len(DESIGN)
            ),
            BuildStarted(fpga_id=FPGA, job_id=job, attempt=1),
        ],
    )
    driver = FakeDriver()
    await start_worker(driver)
    events = await until(store, has(SessionOpened, job))
    starts = [e for e in events if isinstance(e, BuildStarted)]
    assert [s.attempt for s in starts] == [1, 2]
    assert driver.names() == ["build", "program"]
    lines = [untimed(line) for e in await store.read_logs(FPGA, job) for line in e.lines]
    assert "resuming an interrupted build (attempt 2)" in lines


async def test_build_interrupted_twice_is_given_up(
    store: EventStore, start_worker: StartWorker
) -> None:
    job = uuid.uuid4()
    await append_all(
        store,
        [
            JobQueued(fpga_id=FPGA, job_id=job, owner="a", design_sha256=SHA, design_size=1),
            BuildStarted(fpga_id=FPGA, job_id=job, attempt=1),
            BuildStarted(fpga_id=FPGA, job_id=job, attempt=2),
        ],
    )
    driver = FakeDriver()
    await start_worker(driver)
    events = await until(store, has(BuildFailed, job))
    assert "interrupted 2 times" in events[-1].reason  # type: ignore[union-attr]
    assert driver.calls == []
    assert board_view(events).state == "idle"


async def test_interrupted_programming_is_failed_and_the_board_reset(
    store: EventStore, start_worker: StartWorker
) -> None:
    job = uuid.uuid4()
    await append_all(
        store,
        [
            JobQueued(fpga_id=FPGA, job_id=job, owner="a", design_sha256=SHA, design_size=1),
            BuildStarted(fpga_id=FPGA, job_id=job),
            built(FPGA, job),
            ProgrammingStarted(fpga_id=FPGA, job_id=job),
        ],
    )
    driver = FakeDriver()
    await start_worker(driver)
    events = await until(store, has(ProgrammingFailed, job))
    at = names(events).index("ProgrammingFailed")
    # Reset, then failed; the error board's own reset may follow at once.
    assert driver.names()[:1] == ["reset"]
    assert board_view(events[: at + 1]).state == "error"


async def test_start_returns_only_once_the_whole_history_is_folded(
    store: EventStore, start_worker: StartWorker
) -> None:
    # A worker that starts working on half of its history would, e.g., see a run as
    # "started" and fail it although its result is further down the stream.
    job, session = uuid.uuid4(), uuid.uuid4()
    history: list[BoardEvent] = list(reservation(job, session))
    for _ in range(150):
        run_id = uuid.uuid4()
        history += [
            run(run_id, 2, 0),
            RunStarted(fpga_id=FPGA, job_id=run_id),
            WishboneResult(fpga_id=FPGA, job_id=run_id, ok=True, data=[0]),
        ]
    last = await append_all(store, history)
    driver = FakeDriver(programmed_at_start=True)
    worker = await start_worker(driver)
    assert worker.wl.last_seq == last
    assert worker.wl.items == () and worker.wl.reserved
    probe = uuid.uuid4()
    await store.append(run(probe, 2, 4))
    events = await until(store, has(WishboneResult, probe))
    assert names(events[len(history) :]) == ["RunQueued", "RunStarted", "WishboneResult"]
    assert driver.calls == [("read", 4, 1)]


async def test_worker_replaying_a_finished_history_repeats_nothing(
    store: EventStore, start_worker: StartWorker
) -> None:
    job, session, run_id, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    history: list[BoardEvent] = [
        *reservation(job, session),
        run(run_id, 2, 0),
        RunStarted(fpga_id=FPGA, job_id=run_id),
        WishboneResult(fpga_id=FPGA, job_id=run_id, ok=True, data=[1]),
        SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="a"),
        ResetStarted(fpga_id=FPGA, job_id=reset_job),
        BoardReset(fpga_id=FPGA, job_id=reset_job),
    ]
    await append_all(store, history)
    driver = FakeDriver()
    await start_worker(driver)
    second = uuid.uuid4()
    await submit(store, second)
    events = await until(store, has(SessionOpened, second))
    assert names(events[: len(history)]) == names(history)
    assert names(events[len(history) :]) == [
        "JobQueued",
        "BuildStarted",
        "BuildSucceeded",
        "ProgrammingStarted",
        "Programmed",
        "SessionOpened",
    ]
    assert driver.names() == ["build", "program"]


# -------------------------------------------------------------------------------------- reset


async def test_reset_job_resets_the_board(store: EventStore, start_worker: StartWorker) -> None:
    job, session, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await append_all(
        store, [*reservation(job, session), ResetQueued(fpga_id=FPGA, job_id=reset_job, owner="a")]
    )
    driver = FakeDriver(programmed_at_start=True)
    await start_worker(driver)
    events = await until(store, has(BoardReset, reset_job))
    assert of_job(events, reset_job) == ["ResetQueued", "ResetStarted", "BoardReset"]
    assert driver.names() == ["reset"]
    assert not driver.programmed()
    assert board_view(events) == BoardView(fpga_id=FPGA, last_seq=len(events))


async def test_interrupted_reset_is_finished_without_a_second_claim(
    store: EventStore, start_worker: StartWorker
) -> None:
    job, session, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await append_all(
        store,
        [
            *reservation(job, session),
            SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="a"),
            ResetStarted(fpga_id=FPGA, job_id=reset_job),
        ],
    )
    driver = FakeDriver(programmed_at_start=True)
    await start_worker(driver)
    events = await until(store, has(BoardReset, reset_job))
    assert of_job(events, reset_job) == ["SessionReleased", "ResetStarted", "BoardReset"]
    assert driver.names() == ["reset"]
    assert board_view(events).state == "idle"


async def test_release_after_runs_resets_after_they_finish(
    store: EventStore, start_worker: StartWorker
) -> None:
    job, session, run_id, reset_job = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await append_all(
        store,
        [
            *reservation(job, session),
            run(run_id, 1, 8, data=[5]),
            SessionReleased(fpga_id=FPGA, session_id=session, reset_job_id=reset_job, owner="a"),
        ],
    )
    driver = FakeDriver(programmed_at_start=True)
    await start_worker(driver)
    events = await until(store, has(BoardReset, reset_job))
    assert driver.names() == ["write", "reset"]
    assert names(events)[-5:] == [
        "SessionReleased",
        "RunStarted",
        "WishboneResult",
        "ResetStarted",
        "BoardReset",
    ]


# ----------------------------------------------------------------------- restore a session


async def test_reserved_board_without_its_design_is_reprogrammed(
    store: EventStore, start_worker: StartWorker
) -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    seq = await append_all(store, reservation(job, session))
    driver = FakeDriver()  # e.g. the simulator was restarted with the hwbridge
    await start_worker(driver)
    await until_true(driver.programmed)
    assert driver.calls == [("program", f"artifact-{job.hex}")]
    assert driver.loaded is not None
    assert (driver.loaded.window_base, driver.loaded.window_size) == (WINDOW_BASE, WINDOW_SIZE)
    lines = [line for e in await store.read_logs(FPGA, job) for line in e.lines]
    assert any("restoring" in line for line in lines)
    # the board stays reserved: a restore is not an event of the board
    run_id = uuid.uuid4()
    await store.append(run(run_id, 2, 0))
    events = await until(store, has(WishboneResult, run_id))
    assert len(events) == seq + 3
    assert board_view(events).state == "reserved"


async def test_reserved_board_whose_design_cannot_be_restored_is_faulted(
    store: EventStore, start_worker: StartWorker
) -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    await append_all(store, reservation(job, session))
    driver = FakeDriver(program_error="the bitstream is gone")
    await start_worker(driver)
    events = await until(store, has(BoardFaulted))
    at = next(i for i, e in enumerate(events) if isinstance(e, BoardFaulted))
    faulted = events[at]
    assert isinstance(faulted, BoardFaulted)
    assert "the bitstream is gone" in faulted.reason
    # Programming failed, the board was reset and faulted (the health check may then reset it
    # again to bring it back: the service owner's reset of an error board).
    assert driver.names()[:2] == ["program", "reset"]
    view = board_view(events[: at + 1])
    assert (view.state, view.session) == ("error", None)


async def test_programmed_board_is_left_alone(store: EventStore, start_worker: StartWorker) -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    await append_all(store, reservation(job, session))
    driver = FakeDriver(programmed_at_start=True)
    await start_worker(driver)
    run_id = uuid.uuid4()
    await store.append(run(run_id, 2, 0))
    await until(store, has(WishboneResult, run_id))
    assert driver.names() == ["read"]


async def test_stop_closes_the_driver(store: EventStore) -> None:
    driver = FakeDriver()
    worker = BoardWorker(store, FPGA, driver, build_slots=asyncio.Semaphore(1))
    await worker.start()
    await worker.stop()
    assert driver.closed


async def test_stop_is_not_lost_when_an_event_arrives_at_the_same_moment(
    store: EventStore,
) -> None:
    # On Python 3.11 asyncio.wait_for returns the inner result instead of raising when a
    # cancel and the inner completion meet; a worker idling in wait_for then never stops.
    driver = FakeDriver()
    worker = BoardWorker(store, FPGA, driver, build_slots=asyncio.Semaphore(1))
    await worker.start()
    await asyncio.sleep(0)  # let the loop reach its idle wait
    worker._dirty.set()  # what _on_msg does for a new event
    stopping = asyncio.create_task(worker.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5.0)
    if not done:  # leave no worker behind before failing
        stopping.cancel()
        await asyncio.wait({stopping})
    assert stopping in done, "stop() never returned"
    assert driver.closed


async def test_worker_ignores_other_boards(store: EventStore, start_worker: StartWorker) -> None:
    other = uuid.uuid4()
    await store.put_design(SHA, DESIGN)
    await store.append(
        JobQueued(
            fpga_id=FPGA + 1, job_id=other, owner="a", design_sha256=SHA, design_size=len(DESIGN)
        )
    )
    driver = FakeDriver()
    await start_worker(driver)
    mine = uuid.uuid4()
    await submit(store, mine)
    await until(store, has(SessionOpened, mine))
    assert [c for c in driver.calls if c[0] == "build"] == [("build", mine)]
    assert [type(s.event).__name__ for s in await store.read_board(FPGA + 1)] == ["JobQueued"]
