"""A board's worker against a real nats-server, with an in-memory fake driver.

The worker only sees the board's events; every assertion is on what it appended to the stream,
what it wrote to the log stream, and which hardware calls the fake driver recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from events.errors import WrongExpectedSequence
from events.store import EventStore
from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardReset,
    BuildFailed,
    BuildStarted,
    BuildSucceeded,
    JobCancelled,
    JobFailed,
    JobQueued,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionOpened,
    SessionReleased,
    WishboneResult,
)
from hwbridge.worker import BoardWorker
from projections import board as board_fold
from projections.job import job_id_of
from projections.views import BoardView
from tests.fakes import DESIGN, WINDOW_BASE, WINDOW_SIZE, FakeDriver, RecordingSemaphore, built
from tests.fakes import reservation as reservation_events

FPGA = 5
SHA = hashlib.sha256(DESIGN).hexdigest()
StartWorker = Callable[..., Awaitable[BoardWorker]]


# ------------------------------------------------------------------------------------ helpers


@pytest.fixture
async def start_worker(store: EventStore) -> AsyncIterator[StartWorker]:
    """Start workers on demand; every one is stopped before the server goes away."""
    started: list[BoardWorker] = []

    async def start(
        driver: FakeDriver, *, slots: asyncio.Semaphore | None = None, fpga_id: int = FPGA
    ) -> BoardWorker:
        worker = BoardWorker(
            store, fpga_id, driver, build_slots=slots or asyncio.Semaphore(2), lease_seconds=600
        )
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop()


async def until(
    store: EventStore,
    done: Callable[[list[BoardEvent]], bool],
    *,
    fpga_id: int = FPGA,
    timeout: float = 10.0,
) -> list[BoardEvent]:
    """Poll the board's stream until ``done(events)``; return the events."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        events = [s.event for s in await store.read_board(fpga_id)]
        if done(events):
            return events
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out; the stream holds {names(events)}")
        await asyncio.sleep(0.02)


async def until_true(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def has(
    kind: type[BoardEvent], job_id: uuid.UUID | None = None
) -> Callable[[list[BoardEvent]], bool]:
    def check(events: list[BoardEvent]) -> bool:
        return any(
            isinstance(e, kind) and (job_id is None or getattr(e, "job_id", None) == job_id)
            for e in events
        )

    return check


def names(events: Sequence[BoardEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def of_job(events: Sequence[BoardEvent], job_id: uuid.UUID) -> list[str]:
    return [type(e).__name__ for e in events if job_id_of(e) == job_id]


def board_view(events: Sequence[BoardEvent]) -> BoardView:
    view = BoardView(fpga_id=FPGA)
    for seq, event in enumerate(events, start=1):
        view = board_fold.apply(view, event, seq)
    return view


async def append_all(store: EventStore, events: Sequence[BoardEvent]) -> int:
    seq = 0
    for event in events:
        seq = (await store.append(event)).seq
    return seq


async def submit(store: EventStore, job_id: uuid.UUID, *, owner: str = "alice") -> None:
    """What the API does on an upload: store the design, then append the job."""
    await store.put_design(SHA, DESIGN)
    last = await store.read_board(FPGA)
    await store.append(
        JobQueued(
            fpga_id=FPGA, job_id=job_id, owner=owner, design_sha256=SHA, design_size=len(DESIGN)
        ),
        expected_seq=last[-1].seq if last else 0,
    )


def reservation(job: uuid.UUID, session: uuid.UUID) -> list[BoardEvent]:
    return reservation_events(FPGA, job, session, sha=SHA)


def run(
    job_id: uuid.UUID, op: int, address: int, *, data: Sequence[int] = (), count: int = 1
) -> RunQueued:
    return RunQueued(
        fpga_id=FPGA,
        job_id=job_id,
        owner="alice",
        op=op,
        address=address,
        data=list(data),
        count=count,
    )


# ---------------------------------------------------------------------------- build, program


async def test_submitted_job_is_built_programmed_and_reserved(
    store: EventStore, nc: NATS, start_worker: StartWorker
) -> None:
    seen: list[str] = []

    async def spy(msg: Msg) -> None:
        if msg.subject.startswith((f"fpga.{FPGA}.", f"fpgalog.{FPGA}.")):
            seen.append(msg.subject)

    # One wildcard subscription sees the board and log subjects in the server's order.
    await nc.subscribe(">", cb=spy)
    job = uuid.uuid4()
    await submit(store, job, owner="alice")
    driver = FakeDriver()
    await start_worker(driver)
    events = await until(store, has(SessionOpened, job))
    assert names(events) == [
        "JobQueued",
        "BuildStarted",
        "BuildSucceeded",
        "ProgrammingStarted",
        "Programmed",
        "SessionOpened",
    ]
    started, succeeded, opened = events[1], events[2], events[5]
    assert isinstance(started, BuildStarted) and started.attempt == 1
    assert isinstance(succeeded, BuildSucceeded)
    assert succeeded.artifact == f"artifact-{job.hex}"
    assert (succeeded.window_base, succeeded.window_size) == (WINDOW_BASE, WINDOW_SIZE)
    assert isinstance(opened, SessionOpened) and opened.owner == "alice"
    assert opened.expires_at > opened.occurred_at
    assert driver.names() == ["build", "program"]
    assert driver.sources == [DESIGN]
    view = board_view(events)
    assert view.state == "reserved" and view.window_size == WINDOW_SIZE
    # the build log was stored before the build's outcome
    logs = await store.read_logs(FPGA, job)
    lines = [(e.stage, line) for e in logs for line in e.lines]
    assert lines[:2] == [("build", "elaborating design.py"), ("build", "compiling the SoC")]
    assert ("program", f"loading artifact-{job.hex}") in lines
    await until_true(lambda: f"fpga.{FPGA}.SessionOpened" in seen)
    first_log = next(i for i, s in enumerate(seen) if s.startswith("fpgalog."))
    assert first_log < seen.index(f"fpga.{FPGA}.BuildSucceeded")


async def test_build_error_fails_the_job_and_frees_the_board(
    store: EventStore, start_worker: StartWorker
) -> None:
    job = uuid.uuid4()
    await submit(store, job)
    driver = FakeDriver(build_error="SyntaxError: invalid syntax (design.py, line 2)")
    await start_worker(driver)
    events = await until(store, has(BuildFailed, job))
    assert names(events) == ["JobQueued", "BuildStarted", "BuildFailed"]
    failed = events[-1]
    assert isinstance(failed, BuildFailed)
    assert failed.reason == "SyntaxError: invalid syntax (design.py, line 2)"
    assert board_view(events).state == "idle"
    assert driver.names() == ["build"]
    logs = await store.read_logs(FPGA, job)
    lines = [line for e in logs for line in e.lines]
    assert lines[-1] == "error: SyntaxError: invalid syntax (design.py, line 2)"


async def test_programming_failure_resets_the_board_and_needs_a_reset(
    store: EventStore, start_worker: StartWorker
) -> None:
    job = uuid.uuid4()
    await submit(store, job)
    driver = FakeDriver(program_error="the board did not answer the probe")
    await start_worker(driver)
    events = await until(store, has(ProgrammingFailed, job))
    assert names(events) == [
        "JobQueued",
        "BuildStarted",
        "BuildSucceeded",
        "ProgrammingStarted",
        "ProgrammingFailed",
    ]
    assert isinstance(events[-1], ProgrammingFailed)
    assert events[-1].reason == "the board did not answer the probe"
    assert driver.names() == ["build", "program", "reset"]
    assert board_view(events).state == "error"


# ----------------------------------------------------------------------------------------- run


async def test_runs_execute_in_order_exactly_once(
    store: EventStore, start_worker: StartWorker
) -> None:
    job = uuid.uuid4()
    await submit(store, job)
    driver = FakeDriver()
    await start_worker(driver)
    await until(store, has(SessionOpened, job))
    runs = [
        run(uuid.uuid4(), 1, 0, data=[0x11, 0x22, 0x33]),
        run(uuid.uuid4(), 2, 4, count=2),
        run(uuid.uuid4(), 1, 4, data=[0xAB]),
        run(uuid.uuid4(), 2, 0, count=3),
        run(uuid.uuid4(), 2, 60),
    ]
    # appended back to back while the worker is running: its claims race the appends
    for r in runs:
        await store.append(r)
    events = await until(store, lambda es: sum(isinstance(e, WishboneResult) for e in es) == 5)
    results = [e for e in events if isinstance(e, WishboneResult)]
    assert [r.job_id for r in results] == [r.job_id for r in runs]
    assert [(r.ok, r.data) for r in results] == [
        (True, [0x11, 0x22, 0x33]),
        (True, [0x22, 0x33]),
        (True, [0xAB]),
        (True, [0x11, 0xAB, 0x33]),
        (True, [0]),
    ]
    for r in runs:
        assert of_job(events, r.job_id) == ["RunQueued", "RunStarted", "WishboneResult"]
    assert driver.calls[2:] == [
        ("write", 0, (0x11, 0x22, 0x33)),
        ("read", 4, 2),
        ("write", 4, (0xAB,)),
        ("read", 0, 3),
        ("read", 60, 1),
    ]
    assert board_view(events).state == "reserved"


async def test_run_on_a_board_without_a_design_fails_cleanly(
    store: EventStore, start_worker: StartWorker
) -> None:
    job, session, run_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await append_all(store, [*reservation(job, session), run(run_id, 2, 0)])
    # the run is older than the restore of the design, so it finds no design loaded
    driver = FakeDriver()
    await start_worker(driver)
    events = await until(store, has(WishboneResult, run_id))
    result = next(e for e in events if isinstance(e, WishboneResult))
    assert not result.ok and result.error == "the board has no design loaded"
    assert "read" not in driver.names()


# ------------------------------------------------------------------------------------- cancel


async def test_cancel_while_waiting_for_a_build_slot_means_the_build_never_runs(
    store: EventStore, start_worker: StartWorker
) -> None:
    slots = RecordingSemaphore(1)
    await slots.acquire()  # another board's build holds the only slot
    job = uuid.uuid4()
    await submit(store, job)
    driver = FakeDriver()
    worker = await start_worker(driver, slots=slots)
    await asyncio.wait_for(slots.contended.wait(), 10.0)
    # what DELETE does: decide against the board and append at its sequence
    last = (await store.read_board(FPGA))[-1].seq
    await store.append(JobCancelled(fpga_id=FPGA, job_id=job, by="alice"), expected_seq=last)
    await until_true(lambda: worker.wl.item(job) is None)
    slots.release()
    # the next job proves the worker has moved past the cancelled one
    second = uuid.uuid4()
    await submit(store, second)
    events = await until(store, has(SessionOpened, second))
    assert of_job(events, job) == ["JobQueued", "JobCancelled"]
    assert driver.calls[0] == ("build", second)
    assert [c for c in driver.calls if c[0] == "build"] == [("build", second)]


async def test_a_claimed_build_cannot_be_cancelled_by_the_worker_race(
    store: EventStore, start_worker: StartWorker
) -> None:
    gate = asyncio.Event()
    job = uuid.uuid4()
    await submit(store, job)
    driver = FakeDriver(build_gate=gate)
    await start_worker(driver)
    events = await until(store, has(BuildStarted, job))
    queued_seq = (await store.read_board(FPGA))[0].seq
    # a cancel decided on the stale (queued) view loses against the claim
    with pytest.raises(WrongExpectedSequence):
        await store.append(JobCancelled(fpga_id=FPGA, job_id=job), expected_seq=queued_seq)
    gate.set()
    events = await until(store, has(SessionOpened, job))
    assert "JobCancelled" not in names(events)


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
    lines = [line for e in await store.read_logs(FPGA, job) for line in e.lines]
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
    assert names(events)[-1] == "ProgrammingFailed"
    assert driver.names() == ["reset"]
    assert board_view(events).state == "error"


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
    faulted = events[-1]
    assert isinstance(faulted, BoardFaulted)
    assert "the bitstream is gone" in faulted.reason
    assert driver.names() == ["program", "reset"]
    view = board_view(events)
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
    worker = BoardWorker(store, FPGA, driver, build_slots=asyncio.Semaphore(1), lease_seconds=1)
    await worker.start()
    await worker.stop()
    assert driver.closed


async def test_stop_is_not_lost_when_an_event_arrives_at_the_same_moment(
    store: EventStore,
) -> None:
    # On Python 3.11 asyncio.wait_for returns the inner result instead of raising when a
    # cancel and the inner completion meet; a worker idling in wait_for then never stops.
    driver = FakeDriver()
    worker = BoardWorker(store, FPGA, driver, build_slots=asyncio.Semaphore(1), lease_seconds=1)
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
