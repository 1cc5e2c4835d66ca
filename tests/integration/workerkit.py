"""Helpers of the board worker tests: events a worker would see, and waiting on the stream."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence

from events.jobs import job_id_of
from events.store import EventStore
from events.types import (
    BoardEvent,
    JobQueued,
    RunQueued,
)
from hwbridge.worker import BoardWorker
from projections import board as board_fold
from projections.views import BoardView
from tests.fakes import DESIGN
from tests.fakes import reservation as reservation_events

FPGA = 5
SHA = hashlib.sha256(DESIGN).hexdigest()
StartWorker = Callable[..., Awaitable[BoardWorker]]


# ------------------------------------------------------------------------------------ helpers


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
