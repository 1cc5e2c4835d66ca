"""Board health beside state: probes between sessions, a board that fails them leaves the
pool and comes back; a board left in error is reset by the service; admins drain, retire and
restore boards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from events.farm import JobAssigned
from events.store import EventStore
from events.types import (
    BoardDrained,
    BoardFaulted,
    BoardHealthChecked,
    BoardReset,
    BoardRestored,
    BoardRetired,
    ResetQueued,
)
from hwbridge.health import SERVICE_OWNER, Prober
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from tests.fakes import DESIGN, FakeDriver, reservation
from tests.integration.conftest import TEST_SETTINGS, asgi_client
from tests.integration.contract import append, assert_error, eventually, sid
from tests.integration.workerkit import StartWorker, until
from tests.keys import ADMIN, ALICE, BOB

PROBE_S = 0.2


@pytest.fixture
async def api(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(store, runner, TEST_SETTINGS, keyring)
    dispatcher = app.state.services.dispatcher
    await dispatcher.start()
    async with asgi_client(app) as client:
        yield client
    await dispatcher.stop()


async def _health(api: httpx.AsyncClient, fpga_id: int) -> str:
    health: str = (await api.get(f"/fpga/{fpga_id}", headers=ALICE.headers)).json()["health"]
    return health


async def test_a_board_failing_two_probes_leaves_the_pool_and_comes_back(
    api: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner, start_worker: StartWorker
) -> None:
    driver = FakeDriver(probe_error="no answer over UARTBone")
    await start_worker(driver, fpga_id=0, prober=Prober(PROBE_S))

    async def bad() -> bool:
        return await _health(api, 0) == "bad"

    await eventually(bad, timeout=10)
    checks = [s.event for s in await store.read_board(0) if isinstance(s.event, BoardHealthChecked)]
    assert [c.ok for c in checks][:2] == [False, False]
    assert checks[0].detail == "no answer over UARTBone" and checks[0].duration_s >= 0
    listed = (await api.get("/fpga", params={"health": "bad"}, headers=ALICE.headers)).json()
    assert [b["fpga_id"] for b in listed] == [0]
    assert [b["state"] for b in listed] == ["idle"]  # health is beside state
    files = {"file": ("design.py", DESIGN)}
    refused = await api.post("/fpga/0/submit", files=files, headers=ALICE.headers)
    assert_error(refused, 409, "fpga_unhealthy")
    # The waiting list skips it: the job goes to board 1, although 0 comes first.
    placed = (await api.post("/jobs", files=files, headers=ALICE.headers)).json()
    assert placed["fpga_id"] == 1
    # A passing probe brings it back by itself.
    driver.probe_error = None

    async def good() -> bool:
        return await _health(api, 0) == "good"

    await eventually(good, timeout=10)
    assert (await store.read_board(0))[-1].event.ok  # type: ignore[union-attr]


async def test_probes_wait_for_an_idle_board(
    store: EventStore, runner: ProjectionRunner, start_worker: StartWorker
) -> None:
    await append(store, runner, reservation(2, uuid.uuid4(), uuid.uuid4()))
    driver = FakeDriver(programmed_at_start=True)
    await start_worker(driver, fpga_id=2, prober=Prober(PROBE_S / 4))
    await asyncio.sleep(PROBE_S * 2)  # eight intervals: an idle board would have been probed
    assert "probe" not in driver.names()
    assert not any(isinstance(s.event, BoardHealthChecked) for s in await store.read_board(2))


async def test_a_board_left_in_error_is_reset_by_the_service(
    store: EventStore, runner: ProjectionRunner, start_worker: StartWorker
) -> None:
    await start_worker(FakeDriver(), fpga_id=3)
    await store.append(BoardFaulted(fpga_id=3, reason="the simulation died"))
    events = await until(store, lambda events: isinstance(events[-1], BoardReset), fpga_id=3)
    resets = [e for e in events if isinstance(e, ResetQueued)]
    assert [r.owner for r in resets] == [SERVICE_OWNER]
    await runner.wait_for(await store.last_seq())
    assert runner.views.boards[3].state == "idle"


async def test_admins_drain_retire_and_restore_boards(
    api: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    admin, alice = ADMIN.headers, ALICE.headers
    assert_error(await api.post("/fpga/4/maintenance", headers=alice), 403, "forbidden")
    assert_error(await api.post("/fpga/4/retire", headers=BOB.headers), 403, "forbidden")
    # A session in progress finishes: its runs still go through while the board drains.
    session = uuid.uuid4()
    await append(store, runner, reservation(4, uuid.uuid4(), session))
    drained = await api.post("/fpga/4/maintenance", json={"reason": "cable swap"}, headers=admin)
    assert drained.status_code == 200 and drained.json()["health"] == "maintenance"
    assert drained.json()["state"] == "reserved"
    run = await api.post(
        "/fpga/4/run", json={"op": 2, "address": 0}, headers={**alice, **sid(session)}
    )
    assert run.status_code == 202
    last = (await store.read_board(4))[-2].event
    assert isinstance(last, BoardDrained) and (last.by, last.reason) == (ADMIN.key_id, "cable swap")
    # Nothing new starts on it.
    files = {"file": ("design.py", DESIGN)}
    assert_error(await api.post("/fpga/5/maintenance", json={"why": 1}, headers=admin), 422,
                 "validation_error")  # fmt: skip
    retired = await api.post("/fpga/5/retire", headers=admin)
    assert retired.json()["health"] == "retired"
    refused = await api.post("/fpga/5/submit", files=files, headers=alice)
    assert_error(refused, 409, "fpga_out_of_service")
    listed = await api.get("/fpga", params={"health": "retired"}, headers=alice)
    assert [b["fpga_id"] for b in listed.json()] == [5]
    restored = await api.post("/fpga/5/restore", json={"reason": "fixed"}, headers=admin)
    assert restored.json()["health"] == "good"
    types = [type(s.event) for s in await store.read_board(5)]
    assert types == [BoardRetired, BoardRestored]
    assert (await api.post("/fpga/5/submit", files=files, headers=alice)).status_code == 202
    poor = await api.get("/fpga", params={"health": "poor"}, headers=alice)
    assert_error(poor, 422, "validation_error")


async def test_the_waiting_list_skips_boards_in_maintenance(
    api: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    for fpga_id in range(10):
        await api.post(f"/fpga/{fpga_id}/maintenance", headers=ADMIN.headers)
    files = {"file": ("design.py", DESIGN)}
    waiting = (await api.post("/jobs", files=files, headers=ALICE.headers)).json()
    assert waiting["status"] == "waiting"
    await api.post("/fpga/7/restore", headers=ADMIN.headers)

    async def placed() -> bool:
        job = (await api.get(f"/jobs/{waiting['job_id']}", headers=ALICE.headers)).json()
        return bool(job["fpga_id"] == 7)

    await eventually(placed, timeout=3)
    assigned = [r async for r in store.read_raw("fpgafarm.queue.JobAssigned")]
    assert len(assigned) == 1 and JobAssigned.__name__ in assigned[0].subject
