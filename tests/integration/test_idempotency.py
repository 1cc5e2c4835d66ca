"""Commands sent with an Idempotency-Key: a retry gets the first answer and no second job, across
API replicas; the same key for another request is refused."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from events.store import EventStore
from events.types import JobQueued, ResetQueued, RunQueued
from projections.runner import ProjectionRunner
from services.api.idempotency import job_id_for
from services.nats.server import NatsServer
from tests.fakes import DESIGN, reservation
from tests.integration.conftest import TEST_SETTINGS, api_replica
from tests.integration.contract import append, assert_error, sid
from tests.keys import ALICE, BOB

FILES = {"file": ("design.py", DESIGN)}


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def test_a_retried_submit_gets_the_first_answer_and_no_second_job(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    key = _key()
    first = await client.post("/fpga/2/submit", files=FILES, headers=key)
    again = await client.post("/fpga/2/submit", files=FILES, headers=key)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert first.json()["job_id"] == str(job_id_for(ALICE.key_id, key["Idempotency-Key"]))
    queued = [s.event for s in await store.read_board(2) if isinstance(s.event, JobQueued)]
    assert len(queued) == 1
    # Without a key the same request is a new command: refused, the board is taken.
    assert_error(await client.post("/fpga/2/submit", files=FILES), 409, "fpga_not_idle")


async def test_the_same_key_for_another_request_is_refused(client: httpx.AsyncClient) -> None:
    key = _key()
    assert (await client.post("/fpga/3/submit", files=FILES, headers=key)).status_code == 202
    other = await client.post("/fpga/4/submit", files=FILES, headers=key)
    assert_error(other, 422, "idempotency_key_reused")
    # Keys are per API key: bob's request with alice's key string is his own.
    bobs = await client.post("/fpga/4/submit", files=FILES, headers={**key, **BOB.headers})
    assert bobs.status_code == 202


async def test_a_refusal_is_replayed_too(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await append(store, runner, reservation(5, uuid.uuid4(), uuid.uuid4()))
    key = _key()
    body = {"op": 2, "address": 0}
    refused = await client.post("/fpga/5/run", json=body, headers={**key, "X-Session-ID": "x"})
    assert_error(refused, 403, "not_session_owner")
    again = await client.post("/fpga/5/run", json=body, headers={**key, "X-Session-ID": "x"})
    assert again.status_code == 403 and again.json() == refused.json()


async def test_runs_resets_releases_and_cancels_take_keys(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    session = uuid.uuid4()
    await append(store, runner, reservation(6, uuid.uuid4(), session))
    run_key = {**_key(), **sid(session)}
    body = {"op": 1, "address": 0, "data": [7]}
    runs = [await client.post("/fpga/6/run", json=body, headers=run_key) for _ in range(3)]
    assert {r.status_code for r in runs} == {202} and len({r.json()["job_id"] for r in runs}) == 1
    release_key = {**_key(), **sid(session)}
    released = [await client.post("/fpga/6/session/release", headers=release_key) for _ in range(2)]
    assert [r.status_code for r in released] == [202, 202]
    assert released[0].json() == released[1].json()
    events = [s.event for s in await store.read_board(6)]
    assert sum(isinstance(e, RunQueued) for e in events) == 1
    assert sum(type(e).__name__ == "SessionReleased" for e in events) == 1
    submitted = await client.post("/fpga/7/submit", files=FILES)
    job = submitted.json()["job_id"]
    cancel_key = _key()
    cancels = [await client.delete(f"/fpga/7/jobs/{job}", headers=cancel_key) for _ in range(2)]
    assert [c.status_code for c in cancels] == [204, 204]
    assert not any(isinstance(e, ResetQueued) for e in events)


async def test_racing_retries_across_two_replicas_make_one_job(
    nats_server: NatsServer, client: httpx.AsyncClient, store: EventStore
) -> None:
    """The same keyed submit sent to two replicas at once: both answer the one job."""
    async with (
        api_replica(nats_server, TEST_SETTINGS, "replica-a") as a,
        api_replica(nats_server, TEST_SETTINGS, "replica-b") as b,
    ):
        for board in (0, 1):
            key = {**_key(), **ALICE.headers}
            answers = await asyncio.gather(
                *(c.post(f"/fpga/{board}/submit", files=FILES, headers=key) for c in (a, b, a, b))
            )
            assert {r.status_code for r in answers} == {202}, [r.text for r in answers]
            assert len({r.json()["job_id"] for r in answers}) == 1
            queued = [
                s.event for s in await store.read_board(board) if isinstance(s.event, JobQueued)
            ]
            assert len(queued) == 1


async def test_bad_keys_are_refused(client: httpx.AsyncClient) -> None:
    for bad in ("x" * 201, "tab\there"):
        resp = await client.post("/fpga/8/submit", files=FILES, headers={"Idempotency-Key": bad})
        assert_error(resp, 422, "validation_error")
