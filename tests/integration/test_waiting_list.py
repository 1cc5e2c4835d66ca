"""The farm's waiting list: any-board submits wait in line, fairly, and survive restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from msgspec.structs import replace

from events.codec import decode_stored
from events.farm import JobAssigned
from events.store import EventStore
from events.subjects import BOARD_STREAM_FILTERS
from events.types import BoardRetired, JobCancelled, JobQueued
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.nats.server import NatsServer
from tests.integration.conftest import TEST_SETTINGS, api_replica, asgi_client
from tests.integration.contract import append, assert_error, eventually
from tests.keys import ADMIN, ALICE, BOB, CAROL, KnownKey

DESIGN = b"from migen import *\n"
SETTINGS = replace(TEST_SETTINGS, max_boards_per_key=3, max_waiting_per_key=20)


async def _retire_all_but(store: EventStore, runner: ProjectionRunner, *free: int) -> None:
    """Only the boards ``free`` take jobs."""
    retired = [BoardRetired(fpga_id=i, by=ADMIN.key_id) for i in range(10) if i not in free]
    await append(store, runner, retired)


@pytest.fixture
async def farm(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its dispatcher running, as the API process runs it."""
    app = create_app(store, runner, SETTINGS, keyring)
    dispatcher = app.state.services.dispatcher
    await dispatcher.start()
    async with asgi_client(app) as client:
        yield client
    await dispatcher.stop()


async def _wait_any(client: httpx.AsyncClient, key: KnownKey, **fields: str) -> dict[str, object]:
    files = {"file": ("design.py", DESIGN)}
    resp = await client.post("/jobs", files=files, data=fields, headers=key.headers)
    assert resp.status_code == 202, resp.text
    body: dict[str, object] = resp.json()
    return body


async def _board_job(runner: ProjectionRunner, fpga_id: int) -> uuid.UUID | None:
    board = runner.views.boards[fpga_id]
    return board.current_job_id if board.state == "queued" else None


async def test_an_idle_board_takes_the_job_at_once(farm: httpx.AsyncClient) -> None:
    body = await _wait_any(farm, ALICE)
    assert body["status"] == "queued" and body["fpga_id"] == 0 and body["position"] is None
    job = (await farm.get(f"/jobs/{body['job_id']}", headers=ALICE.headers)).json()
    assert (job["status"], job["fpga_id"], job["position"]) == ("queued", 0, None)
    # The same job under its board, as any other.
    same = await farm.get(f"/fpga/0/jobs/{body['job_id']}", headers=ALICE.headers)
    assert same.status_code == 200 and same.json()["status"] == "queued"


async def test_keys_take_turns_for_the_next_free_board(
    farm: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await _retire_all_but(store, runner, 0)
    first = await _wait_any(farm, ADMIN)  # holds the one free board
    assert first["fpga_id"] == 0
    demand = [ALICE] * 5 + [BOB] * 2 + [CAROL]
    jobs: dict[str, str] = {}
    for n, key in enumerate(demand):
        body = await _wait_any(farm, key)
        assert body["status"] == "waiting" and body["fpga_id"] is None
        jobs[str(body["job_id"])] = f"{key.name}{sum(k is key for k in demand[: n + 1])}"
    expected = ["alice1", "bob1", "carol1", "alice2", "bob2", "alice3", "alice4", "alice5"]
    line = (await farm.get("/jobs", headers=BOB.headers)).json()
    assert [jobs[w["job_id"]] for w in line] == expected
    assert [w["position"] for w in line] == list(range(1, 9))
    # Each time the board comes free (its job cancelled), the next in line gets it.
    holder, owner = str(first["job_id"]), ADMIN
    served = []
    for _ in expected:
        cancel = await farm.delete(f"/fpga/0/jobs/{holder}", headers=owner.headers)
        assert cancel.status_code == 204

        async def next_on_board(previous: str = holder) -> bool:
            job = await _board_job(runner, 0)
            return job is not None and str(job) != previous

        await eventually(next_on_board, timeout=2.0)
        holder = str(await _board_job(runner, 0))
        served.append(jobs[holder])
        owner = {"alice": ALICE, "bob": BOB, "carol": CAROL}[jobs[holder].rstrip("0123456789")]
    assert served == expected


async def test_a_waiting_job_can_be_cancelled_and_shows_its_place(
    farm: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await _retire_all_but(store, runner)
    a = await _wait_any(farm, ALICE)
    b = await _wait_any(farm, BOB)
    assert (a["position"], b["position"]) == (1, 2)
    assert_error(
        await farm.delete(f"/jobs/{a['job_id']}", headers=BOB.headers), 404, "job_not_found"
    )
    assert (await farm.delete(f"/jobs/{a['job_id']}", headers=ALICE.headers)).status_code == 204
    gone = (await farm.get(f"/jobs/{a['job_id']}", headers=ALICE.headers)).json()
    assert (gone["status"], gone["fpga_id"], gone["position"]) == ("cancelled", None, None)
    line = (await farm.get("/jobs", headers=ALICE.headers)).json()
    assert [w["job_id"] for w in line] == [b["job_id"]] and line[0]["position"] == 1
    again = await farm.delete(f"/jobs/{a['job_id']}", headers=ALICE.headers)
    assert_error(again, 409, "job_not_cancellable")


async def test_the_waiting_cap_is_per_key(
    farm: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await _retire_all_but(store, runner)
    for _ in range(SETTINGS.max_waiting_per_key):
        await _wait_any(farm, ALICE)
    files = {"file": ("design.py", DESIGN)}
    refused = await farm.post("/jobs", files=files, headers=ALICE.headers)
    assert_error(refused, 409, "waiting_limit_reached")
    assert (await _wait_any(farm, BOB))["status"] == "waiting"


async def test_bad_any_board_submits_are_refused(farm: httpx.AsyncClient) -> None:
    files = {"file": ("design.py", DESIGN)}
    bad = await farm.post("/jobs", files=files, data={"driver": "fpga9000"}, headers=ALICE.headers)
    assert_error(bad, 422, "validation_error")
    assert_error(await farm.post("/jobs", headers=ALICE.headers), 422, "validation_error")
    assert_error(await farm.get("/jobs/not-a-uuid", headers=ALICE.headers), 404, "job_not_found")


async def test_the_line_survives_a_restart_in_the_same_order(
    farm: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await _retire_all_but(store, runner)
    for key in (ALICE, ALICE, BOB, CAROL, BOB):
        await _wait_any(farm, key)
    before = (await farm.get("/jobs", headers=ALICE.headers)).json()
    fresh = ProjectionRunner(store, range(10))  # a restarted API: views from the stream alone
    await fresh.start()
    try:
        keyring = KeyRing(store)
        await keyring.start()
        async with asgi_client(create_app(store, fresh, SETTINGS, keyring)) as again:
            after = (await again.get("/jobs", headers=ALICE.headers)).json()
        await keyring.stop()
    finally:
        await fresh.stop()
    assert after == before and len(after) == 5


async def test_two_replicas_never_give_one_board_twice(
    nats_server: NatsServer, keyring: KeyRing, store: EventStore, runner: ProjectionRunner
) -> None:
    await _retire_all_but(store, runner, 0, 1, 2)
    keys = {k.key_id: k for k in (ALICE, BOB, CAROL)}
    async with (
        api_replica(nats_server, SETTINGS, "replica-a", dispatch=True) as a,
        api_replica(nats_server, SETTINGS, "replica-b", dispatch=True) as b,
    ):
        calls = [
            (a if n % 2 else b).post(
                "/jobs", files={"file": ("d.py", DESIGN)}, headers=[*keys.values()][n % 3].headers
            )
            for n in range(24)
        ]
        assert {r.status_code for r in await asyncio.gather(*calls)} == {202}
        # Free the boards again and again; both replicas race to fill them.
        for _ in range(7):
            await eventually(lambda: _all_queued(runner, (0, 1, 2)), timeout=5.0)
            for fpga_id in (0, 1, 2):
                job = runner.views.boards[fpga_id].current_job_id
                assert job is not None
                owner = keys[runner.views.jobs[job].owner]
                resp = await a.delete(f"/fpga/{fpga_id}/jobs/{job}", headers=owner.headers)
                assert resp.status_code == 204
    history = [decode_stored(raw.data) async for raw in store.read_raw(BOARD_STREAM_FILTERS)]
    assigned = Counter(e.job_id for e in history if isinstance(e, JobAssigned))
    assert assigned and max(assigned.values()) == 1
    for fpga_id in (0, 1, 2):  # a board never holds two jobs at once
        holder: uuid.UUID | None = None
        for e in history:
            if isinstance(e, JobQueued) and e.fpga_id == fpga_id:
                assert holder is None, f"FPGA {fpga_id} given to {e.job_id} while {holder} held it"
                holder = e.job_id
            elif isinstance(e, JobCancelled) and e.fpga_id == fpga_id:
                assert e.job_id == holder
                holder = None


async def _all_queued(runner: ProjectionRunner, boards: tuple[int, ...]) -> bool:
    return all(runner.views.boards[i].state == "queued" for i in boards)
