"""A board's worker against a real nats-server, with an in-memory fake driver.

The worker only sees the board's events; every assertion is on what it appended to the stream,
what it wrote to the log stream, and which hardware calls the fake driver recorded.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from events.errors import WrongExpectedSequence
from events.store import EventStore
from events.types import (
    BoardReset,
    BuildFailed,
    BuildStarted,
    BuildSucceeded,
    JobCancelled,
    ProgrammingFailed,
    ResetQueued,
    SessionOpened,
    WishboneResult,
)
from hwbridge.health import SERVICE_OWNER
from tests.buildlog import TIMED, untimed
from tests.fakes import DESIGN, WINDOW_BASE, WINDOW_SIZE, FakeDriver, RecordingSemaphore
from tests.integration.workerkit import (
    FPGA,
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
    lines = [(e.stage, untimed(line)) for e in logs for line in e.lines]
    assert lines[:2] == [("build", "elaborating design.py"), ("build", "compiling the SoC")]
    # Each line starts with the seconds since the job's build started.
    assert all(TIMED.match(line) for e in logs for line in e.lines)
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
    lines = [untimed(line) for e in logs for line in e.lines]
    assert lines[-1] == "error: SyntaxError: invalid syntax (design.py, line 2)"


async def test_a_programming_failure_leaves_the_board_in_error_until_the_service_resets_it(
    store: EventStore, start_worker: StartWorker
) -> None:
    job = uuid.uuid4()
    await submit(store, job)
    driver = FakeDriver(program_error="the board did not answer the probe")
    await start_worker(driver)
    events = await until(store, lambda evs: isinstance(evs[-1], BoardReset))
    assert names(events) == [
        "JobQueued",
        "BuildStarted",
        "BuildSucceeded",
        "ProgrammingStarted",
        "ProgrammingFailed",
        "ResetQueued",
        "ResetStarted",
        "BoardReset",
    ]
    failed = events[4]
    assert isinstance(failed, ProgrammingFailed)
    assert failed.reason == "the board did not answer the probe"
    assert board_view(events[:5]).state == "error"
    reset = events[5]
    assert isinstance(reset, ResetQueued) and reset.owner == SERVICE_OWNER
    assert driver.names() == ["build", "program", "reset", "reset"]
    assert board_view(events).state == "idle"


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
