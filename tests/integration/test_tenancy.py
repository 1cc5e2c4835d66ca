"""Sessions belong to their owner: runs, results, logs, releases and the event feeds."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import websockets

from events.store import EventStore
from events.types import LogAppended, RunStarted, SessionReleased, WishboneResult
from projections.runner import ProjectionRunner
from tests.fakes import reservation
from tests.integration.conftest import LiveApi
from tests.integration.contract import append, assert_error, sid
from tests.keys import ADMIN, ALICE, BOB

FPGA = 4


async def _alices_board(store: EventStore, runner: ProjectionRunner) -> tuple[uuid.UUID, uuid.UUID]:
    job, session = uuid.uuid4(), uuid.uuid4()
    await append(store, runner, reservation(FPGA, job, session, owner=ALICE.key_id))
    await store.append_log(
        LogAppended(fpga_id=FPGA, job_id=job, stage="build", lines=["alice's secret log"])
    )
    return job, session


async def test_only_the_owner_with_its_session_may_run(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await _alices_board(store, runner)
    body = {"op": 2, "address": 0}
    as_bob = {**BOB.headers, **sid(session)}
    assert_error(await client.post(f"/fpga/{FPGA}/run", json=body, headers=as_bob), 403,
                 "not_session_owner")  # fmt: skip
    no_session = await client.post(f"/fpga/{FPGA}/run", json=body)
    assert "X-Session-ID" in assert_error(no_session, 403, "not_session_owner")["message"]
    stale = await client.post(f"/fpga/{FPGA}/run", json=body, headers=sid(uuid.uuid4()))
    assert_error(stale, 403, "not_session_owner")
    # An admin drives nobody's session: a run is always its owner's.
    as_admin = {**ADMIN.headers, **sid(session)}
    assert_error(await client.post(f"/fpga/{FPGA}/run", json=body, headers=as_admin), 403,
                 "not_session_owner")  # fmt: skip
    assert (
        await client.post(f"/fpga/{FPGA}/run", json=body, headers=sid(session))
    ).status_code == 202


async def test_jobs_logs_and_results_are_the_owners_and_admins_only(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    build, session = await _alices_board(store, runner)
    run = await client.post(f"/fpga/{FPGA}/run", json={"op": 2, "address": 0}, headers=sid(session))
    run_id = uuid.UUID(run.json()["job_id"])
    await append(store, runner, [
        RunStarted(fpga_id=FPGA, job_id=run_id),
        WishboneResult(fpga_id=FPGA, job_id=run_id, ok=True, data=[0x5EC2E7]),
    ])  # fmt: skip
    paths = [
        f"/fpga/{FPGA}/jobs/{build}", f"/fpga/{FPGA}/jobs/{build}/logs",
        f"/fpga/{FPGA}/jobs/{run_id}", f"/fpga/{FPGA}/jobs/{run_id}/result",
    ]  # fmt: skip
    for path in paths:
        # Another key cannot even tell the job exists.
        assert_error(await client.get(path, headers=BOB.headers), 404, "job_not_found")
        assert (await client.get(path)).status_code == 200
        assert (await client.get(path, headers=ADMIN.headers)).status_code == 200
    assert (await client.get(f"/fpga/{FPGA}/jobs/{run_id}/result")).json()["data"] == [0x5EC2E7]
    assert "secret" in (await client.get(f"/fpga/{FPGA}/jobs/{build}/logs")).text
    cancel = await client.delete(f"/fpga/{FPGA}/jobs/{run_id}", headers=BOB.headers)
    assert_error(cancel, 404, "job_not_found")


async def test_release_and_reset_need_the_owner_or_an_admin(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await _alices_board(store, runner)
    for path in (f"/fpga/{FPGA}/session/release", f"/fpga/{FPGA}/reset"):
        resp = await client.post(path, headers={**BOB.headers, **sid(session)})
        assert_error(resp, 403, "not_session_owner")
        assert_error(await client.post(path), 403, "not_session_owner")  # alice, no session id
    released = await client.post(f"/fpga/{FPGA}/session/release", headers=ADMIN.headers)
    assert released.status_code == 202
    event = (await store.read_board(FPGA))[-1].event
    assert isinstance(event, SessionReleased)
    assert (event.owner, event.by) == (ALICE.key_id, ADMIN.key_id)
    # The reset job is alice's: she can follow it; bob cannot see it.
    reset_job = released.json()["job_id"]
    assert (await client.get(f"/fpga/{FPGA}/jobs/{reset_job}")).status_code == 200
    resp = await client.get(f"/fpga/{FPGA}/jobs/{reset_job}", headers=BOB.headers)
    assert_error(resp, 404, "job_not_found")


async def test_admin_may_reset_any_reserved_board(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await _alices_board(store, runner)
    assert (await client.post(f"/fpga/{FPGA}/reset", headers=ADMIN.headers)).status_code == 202
    assert (await client.get(f"/fpga/{FPGA}")).json()["state"] == "programming"


async def test_others_see_run_data_redacted_in_audit_history(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await _alices_board(store, runner)
    body = {"op": 1, "address": 0, "data": [0xA11CE]}
    run_id = uuid.UUID(
        (await client.post(f"/fpga/{FPGA}/run", json=body, headers=sid(session))).json()["job_id"]
    )
    await append(store, runner, [WishboneResult(fpga_id=FPGA, job_id=run_id, ok=True, data=[7])])
    url = f"/audit/events?fpga_id={FPGA}"

    def payloads(resp: httpx.Response) -> dict[str, dict[str, object]]:
        return {e["type"]: e["payload"] for e in resp.json()["events"]}

    mine = payloads(await client.get(url))
    assert mine["RunQueued"]["data"] == [0xA11CE] and mine["WishboneResult"]["data"] == [7]
    assert payloads(await client.get(url, headers=ADMIN.headers)) == mine
    theirs = payloads(await client.get(url, headers=BOB.headers))
    assert theirs["RunQueued"]["data"] == [] and theirs["WishboneResult"]["data"] == []
    assert theirs["RunQueued"]["address"] == 0  # what happened stays visible, not the data


async def test_live_feed_redacts_run_data_for_other_keys(
    live_api: LiveApi, store: EventStore
) -> None:
    _, session = await _alices_board(store, live_api.runner)
    url = f"{live_api.ws}/fpga/{FPGA}/events/ws?after=0&type=RunQueued"
    async with httpx.AsyncClient(base_url=live_api.base, headers=ALICE.headers) as http:
        body = {"op": 1, "address": 4, "data": [0xB0B]}
        resp = await http.post(f"/fpga/{FPGA}/run", json=body, headers=sid(session))
        assert resp.status_code == 202
    for key, data, redacted in ((ALICE, [0xB0B], False), (BOB, [], True), (ADMIN, [0xB0B], False)):
        async with websockets.connect(url, additional_headers=key.headers) as ws:
            event = json.loads(await ws.recv())
        assert (event["payload"]["data"], event["redacted"]) == (data, redacted), key.name


@pytest.mark.parametrize("key", [None, "fpk_000000000000_" + "A" * 43])
async def test_websockets_without_a_valid_key_are_closed_4401(
    live_api: LiveApi, key: str | None
) -> None:
    headers = {"X-API-Key": key} if key else {}
    for path in ("/events/ws", f"/fpga/{FPGA}/stream"):
        async with websockets.connect(live_api.ws + path, additional_headers=headers) as ws:
            with pytest.raises(websockets.ConnectionClosed) as info:
                await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401
        assert info.value.rcvd.reason.startswith("unauthorized")
