"""Concurrent commands on one board: exactly one wins where the contract says so.

The seed prototype checked, then set, in separate round trips: 20 concurrent submits to one
idle board were all answered 202. Here the board's stream sequence is the arbiter, inside one
API process and across API replicas.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from msgspec.structs import replace

from events.store import EventStore
from events.types import BoardEvent, JobQueued, RunQueued
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.nats.server import NatsServer
from tests.fakes import reservation
from tests.integration.conftest import TEST_SETTINGS, api_replica
from tests.keys import ALICE

N = 20
DESIGN = b"from migen import *\n"


async def append(store: EventStore, runner: ProjectionRunner, events: Sequence[BoardEvent]) -> None:
    seq = 0
    for event in events:
        seq = (await store.append(event)).seq
    await runner.wait_for(seq)


async def reserve(store: EventStore, runner: ProjectionRunner, fpga_id: int) -> dict[str, str]:
    """Reserve the board for alice; the headers that name her session."""
    session = uuid.uuid4()
    await append(store, runner, reservation(fpga_id, uuid.uuid4(), session))
    return {"X-Session-ID": str(session)}


def outcomes(responses: Sequence[httpx.Response]) -> Counter[tuple[int, str | None]]:
    """``(status, error code)`` of each response, counted."""
    out: Counter[tuple[int, str | None]] = Counter()
    for r in responses:
        code = r.json()["detail"]["error"] if r.status_code >= 400 else None
        out[(r.status_code, code)] += 1
    return out


async def _submit(client: httpx.AsyncClient, fpga_id: int) -> httpx.Response:
    return await client.post(f"/fpga/{fpga_id}/submit", files={"file": ("design.py", DESIGN)})


async def test_concurrent_submits_to_one_idle_board_queue_one_job(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    responses = await asyncio.gather(*(_submit(client, 3) for _ in range(N)))
    assert outcomes(responses) == {(202, None): 1, (409, "fpga_not_idle"): N - 1}
    queued = [s.event for s in await store.read_board(3) if isinstance(s.event, JobQueued)]
    assert len(queued) == 1
    winner = next(r for r in responses if r.status_code == 202)
    assert str(queued[0].job_id) == winner.json()["job_id"]
    board = (await client.get("/fpga/3")).json()
    assert board["current_job_id"] == winner.json()["job_id"]


async def test_concurrent_submits_to_different_boards_all_win(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    responses = await asyncio.gather(*(_submit(client, i) for i in range(10)))
    assert [r.status_code for r in responses] == [202] * 10
    for i in range(10):
        assert len(await store.read_board(i)) == 1


async def test_concurrent_submits_by_one_key_stop_at_its_board_limit(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> None:
    app = create_app(store, runner, replace(TEST_SETTINGS, max_boards_per_key=3), keyring)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api", headers=ALICE.headers
    ) as c:
        responses = await asyncio.gather(*(_submit(c, i) for i in range(10)))
        assert outcomes(responses) == {(202, None): 3, (409, "board_limit_reached"): 7}
    queued = [i for i in range(10) if await store.read_board(i)]
    assert len(queued) == 3


async def test_concurrent_resets_queue_one_reset(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    mine = await reserve(store, runner, 5)
    responses = await asyncio.gather(
        *(client.post("/fpga/5/reset", headers=mine) for _ in range(N))
    )
    assert outcomes(responses) == {(202, None): 1, (409, "fpga_not_resettable"): N - 1}
    types = [type(s.event).__name__ for s in await store.read_board(5)]
    assert types.count("ResetQueued") == 1


async def test_concurrent_releases_release_once(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    mine = await reserve(store, runner, 6)
    responses = await asyncio.gather(
        *(client.post("/fpga/6/session/release", headers=mine) for _ in range(N))
    )
    assert outcomes(responses) == {(202, None): 1, (404, "no_active_session"): N - 1}
    types = [type(s.event).__name__ for s in await store.read_board(6)]
    assert types.count("SessionReleased") == 1


async def test_concurrent_cancels_of_one_job_cancel_once(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    job_id = (await _submit(client, 2)).json()["job_id"]
    responses = await asyncio.gather(*(client.delete(f"/fpga/2/jobs/{job_id}") for _ in range(N)))
    assert outcomes(responses) == {(204, None): 1, (409, "job_not_cancellable"): N - 1}
    types = [type(s.event).__name__ for s in await store.read_board(2)]
    assert types == ["JobQueued", "JobCancelled"]


async def test_concurrent_runs_on_a_reserved_board_are_all_queued(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    mine = await reserve(store, runner, 1)
    responses = await asyncio.gather(
        *(
            client.post("/fpga/1/run", json={"op": 2, "address": 4 * (i % 8)}, headers=mine)
            for i in range(N)
        )
    )
    assert [r.status_code for r in responses] == [202] * N
    ids = {r.json()["job_id"] for r in responses}
    assert len(ids) == N
    runs = [s.event for s in await store.read_board(1) if isinstance(s.event, RunQueued)]
    assert len(runs) == N
    assert {str(r.job_id) for r in runs} == ids


async def test_submit_and_cancel_racing_leave_a_consistent_board(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    first = (await _submit(client, 4)).json()["job_id"]
    cancel, *submits = await asyncio.gather(
        client.delete(f"/fpga/4/jobs/{first}"), *(_submit(client, 4) for _ in range(5))
    )
    assert cancel.status_code == 204
    accepted = [r for r in submits if r.status_code == 202]
    assert len(accepted) <= 1
    assert all(r.status_code == 409 for r in submits if r.status_code != 202)
    queued = [s.event for s in await store.read_board(4) if isinstance(s.event, JobQueued)]
    assert len(queued) == 1 + len(accepted)
    board = (await client.get("/fpga/4")).json()
    assert board["state"] == ("queued" if accepted else "idle")


# ------------------------------------------------------------------------------- two replicas


@pytest.fixture
async def replica(nats_server: NatsServer, keyring: KeyRing) -> AsyncIterator[httpx.AsyncClient]:
    """A second, independent API stack: its own connection, projections and app."""
    async with api_replica(nats_server, TEST_SETTINGS) as c:
        c.headers.update(ALICE.headers)
        yield c


async def test_concurrent_submits_across_two_replicas_queue_one_job(
    client: httpx.AsyncClient, replica: httpx.AsyncClient, store: EventStore
) -> None:
    # Each replica serialises its own requests with a lock; only the store's
    # expected-last-subject-sequence check can stop the other replica.
    calls = [_submit(client if i % 2 else replica, 8) for i in range(N)]
    responses = await asyncio.gather(*calls)
    assert outcomes(responses) == {(202, None): 1, (409, "fpga_not_idle"): N - 1}
    queued = [s.event for s in await store.read_board(8) if isinstance(s.event, JobQueued)]
    assert len(queued) == 1


async def test_concurrent_runs_across_two_replicas_are_all_queued(
    client: httpx.AsyncClient,
    replica: httpx.AsyncClient,
    store: EventStore,
    runner: ProjectionRunner,
) -> None:
    mine = await reserve(store, runner, 7)

    async def reserved(c: httpx.AsyncClient) -> bool:
        state: str = (await c.get("/fpga/7")).json()["state"]
        return state == "reserved"

    deadline = asyncio.get_running_loop().time() + 5.0
    while not await reserved(replica):
        assert asyncio.get_running_loop().time() < deadline, "replica never caught up"
        await asyncio.sleep(0.02)
    calls = [
        (client if i % 2 else replica).post(
            "/fpga/7/run", json={"op": 2, "address": 0}, headers=mine
        )
        for i in range(N)
    ]
    responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [202] * N
    runs = [s.event for s in await store.read_board(7) if isinstance(s.event, RunQueued)]
    assert len(runs) == N
    assert len({r.job_id for r in runs}) == N
