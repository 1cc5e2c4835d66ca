"""Leases: each run renews the session up to its maximum; an expired lease frees the board."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from msgspec.structs import replace

from events.store import EventStore
from events.types import JobQueued, SessionExpired
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.api.commands import CommandBus
from services.api.reaper import LeaseReaper
from tests.fakes import DESIGN, FakeDriver, reservation
from tests.integration.conftest import TEST_SETTINGS, asgi_client
from tests.integration.contract import append, assert_error, eventually, sid
from tests.integration.workerkit import StartWorker
from tests.keys import ALICE

FPGA = 6


async def _reserve_until(
    store: EventStore,
    runner: ProjectionRunner,
    expires_at: datetime,
    fpga_id: int = FPGA,
    lease_seconds: int = 3600,
    max_session_seconds: int = 8 * 3600,
) -> uuid.UUID:
    session = uuid.uuid4()
    events = reservation(
        fpga_id, uuid.uuid4(), session, expires_at=expires_at, lease_seconds=lease_seconds,
        max_session_seconds=max_session_seconds,
    )  # fmt: skip
    await append(store, runner, events)
    return session


def _expires(body: dict[str, str]) -> datetime:
    return datetime.fromisoformat(body["expires_at"])


async def test_a_run_renews_the_lease_as_the_session_says_up_to_its_maximum(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> None:
    """The lengths are the session's own (decided with its submit, carried by its events):
    an API whose settings say otherwise renews it the same."""
    now = datetime.now(UTC)
    session = await _reserve_until(
        store, runner, now + timedelta(minutes=5), lease_seconds=600, max_session_seconds=900
    )
    assert TEST_SETTINGS.lease_seconds != 600
    async with asgi_client(create_app(store, runner, TEST_SETTINGS, keyring), ALICE.headers) as c:
        before = _expires((await c.get(f"/fpga/{FPGA}/session")).json())
        assert before == now + timedelta(minutes=5)
        run = await c.post(f"/fpga/{FPGA}/run", json={"op": 2, "address": 0}, headers=sid(session))
        assert run.status_code == 202
        renewed = _expires((await c.get(f"/fpga/{FPGA}/session")).json())
        assert timedelta(minutes=9) < renewed - now <= timedelta(minutes=10, seconds=5)
        assert _expires((await c.get(f"/fpga/{FPGA}")).json()["session"]) == renewed
    capped = await _reserve_until(
        store, runner, now + timedelta(minutes=5), fpga_id=FPGA + 1, lease_seconds=600,
        max_session_seconds=420,
    )  # fmt: skip
    async with asgi_client(create_app(store, runner, TEST_SETTINGS, keyring), ALICE.headers) as c:
        await c.post(f"/fpga/{FPGA + 1}/run", json={"op": 2, "address": 0}, headers=sid(capped))
        body = (await c.get(f"/fpga/{FPGA + 1}/session")).json()
    opened = runner.views.boards[FPGA + 1].session
    assert opened is not None and opened.opened_at is not None
    assert _expires(body) == opened.opened_at + timedelta(seconds=420)


async def test_the_lease_is_decided_with_the_submit_and_the_worker_opens_the_session_with_it(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing, start_worker: StartWorker
) -> None:
    settings = replace(TEST_SETTINGS, lease_seconds=120, max_session_seconds=300)
    await start_worker(FakeDriver(), fpga_id=FPGA)
    async with asgi_client(create_app(store, runner, settings, keyring), ALICE.headers) as c:
        before = datetime.now(UTC)
        resp = await c.post(f"/fpga/{FPGA}/submit", files={"file": ("d.py", DESIGN)})
        assert resp.status_code == 202

        async def reserved() -> bool:
            return runner.views.boards[FPGA].state == "reserved"

        await eventually(reserved, timeout=10)
    queued = [s.event for s in await store.read_board(FPGA) if isinstance(s.event, JobQueued)]
    assert (queued[-1].lease_seconds, queued[-1].max_session_seconds) == (120, 300)
    session = runner.views.boards[FPGA].session
    assert session is not None and session.opened_at is not None
    assert (session.lease_seconds, session.ends_by) == (
        120, session.opened_at + timedelta(seconds=300),
    )  # fmt: skip
    assert before + timedelta(seconds=120) <= session.expires_at
    assert session.expires_at <= datetime.now(UTC) + timedelta(seconds=120)


async def test_a_run_after_the_lease_ran_out_is_refused(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    session = await _reserve_until(store, runner, datetime.now(UTC) - timedelta(seconds=1))
    resp = await client.post(
        f"/fpga/{FPGA}/run", json={"op": 2, "address": 0}, headers=sid(session)
    )
    assert_error(resp, 409, "session_expired")


async def test_an_expired_lease_resets_the_board_by_itself(
    client: httpx.AsyncClient,
    store: EventStore,
    runner: ProjectionRunner,
    start_worker: StartWorker,
) -> None:
    # The reservation is history the worker replays when it starts: a worker already running
    # would also act on the build these events record (and wait for its design).
    session = await _reserve_until(store, runner, datetime.now(UTC) + timedelta(seconds=0.5))
    await start_worker(FakeDriver(programmed_at_start=True), fpga_id=FPGA)
    reaper = LeaseReaper(runner, CommandBus(store, runner), interval_s=0.1)
    await reaper.start()
    try:

        async def idle() -> bool:
            return runner.views.boards[FPGA].state == "idle"

        await eventually(idle, timeout=10)
    finally:
        await reaper.stop()
    expired = [s.event for s in await store.read_board(FPGA) if isinstance(s.event, SessionExpired)]
    assert len(expired) == 1
    assert (expired[0].session_id, expired[0].owner) == (session, ALICE.key_id)
    reset = (await client.get(f"/fpga/{FPGA}/jobs/{expired[0].reset_job_id}")).json()
    assert (reset["type"], reset["status"]) == ("reset", "complete")
    assert_error(await client.get(f"/fpga/{FPGA}/session"), 404, "no_active_session")


async def test_expiries_that_passed_while_down_apply_at_start_once_across_replicas(
    store: EventStore, runner: ProjectionRunner
) -> None:
    # Two boards whose leases ran out while no API was running, one still leased.
    past = datetime.now(UTC) - timedelta(hours=2)
    for fpga_id in (1, 2):
        await _reserve_until(store, runner, past, fpga_id=fpga_id)
    await _reserve_until(store, runner, datetime.now(UTC) + timedelta(hours=1), fpga_id=3)
    # A restarted API: fresh views, and two replicas sweeping at once.
    fresh = ProjectionRunner(store, range(10))
    await fresh.start()
    try:
        reapers = [LeaseReaper(fresh, CommandBus(store, fresh)) for _ in range(2)]
        ended = await asyncio.gather(*(r.sweep() for r in reapers))
        assert sorted(ended[0] + ended[1]) == [1, 2]
    finally:
        await fresh.stop()
    for fpga_id, count in ((1, 1), (2, 1), (3, 0)):
        events = [s.event for s in await store.read_board(fpga_id)]
        assert sum(isinstance(e, SessionExpired) for e in events) == count
