"""The REST contract of the seeds: jobs, logs, results, cancel and sessions.

No hardware runs here: a board's progress is driven by appending the events its worker would
append (through the ``store`` fixture), then waiting until the projections have folded them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx

from events.store import EventStore
from events.types import (
    BuildStarted,
    JobCancelled,
    JobFailed,
    LogAppended,
    RunStarted,
    SessionReleased,
    WishboneResult,
)
from projections.runner import ProjectionRunner
from tests.fakes import reservation
from tests.integration.contract import (
    SESSION_FIELDS,
    append,
    assert_error,
    board,
    eventually,
    reserve,
    sid,
    submit,
    types_on,
)
from tests.keys import BOB


async def test_job_lookup_is_404_for_unknown_malformed_or_foreign_jobs(
    client: httpx.AsyncClient,
) -> None:
    job_id = (await submit(client, 3)).json()["job_id"]
    assert (await client.get(f"/fpga/3/jobs/{job_id}")).status_code == 200
    for path in (
        f"/fpga/3/jobs/{uuid.uuid4()}",
        "/fpga/3/jobs/not-a-uuid",
        f"/fpga/4/jobs/{job_id}",  # the job exists, but on board 3
    ):
        for suffix in ("", "/logs", "/result"):
            assert_error(await client.get(path + suffix), 404, "job_not_found")
        assert_error(await client.delete(path), 404, "job_not_found")


async def test_job_status_follows_the_worker(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    job_id = uuid.UUID((await submit(client, 3)).json()["job_id"])
    first = (await client.get(f"/fpga/3/jobs/{job_id}")).json()
    await append(store, runner, [BuildStarted(fpga_id=3, job_id=job_id)])
    running = (await client.get(f"/fpga/3/jobs/{job_id}")).json()
    assert running["status"] == "running"
    assert running["created_at"] == first["created_at"]
    assert datetime.fromisoformat(running["updated_at"]) >= datetime.fromisoformat(
        first["updated_at"]
    )
    assert (await board(client, 3))["state"] == "building"


async def test_logs_are_plain_text_in_order(client: httpx.AsyncClient, store: EventStore) -> None:
    job_id = uuid.UUID((await submit(client, 3)).json()["job_id"])
    empty = await client.get(f"/fpga/3/jobs/{job_id}/logs")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("text/plain")
    assert empty.text == ""
    await store.append_log(
        LogAppended(fpga_id=3, job_id=job_id, stage="build", lines=["elaborating", "compiling"])
    )
    await store.append_log(LogAppended(fpga_id=3, job_id=job_id, stage="program", lines=["ok"]))

    async def complete() -> bool:
        resp = await client.get(f"/fpga/3/jobs/{job_id}/logs")
        return resp.text.count("\n") == 3

    await eventually(complete)
    resp = await client.get(f"/fpga/3/jobs/{job_id}/logs")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text == "[build] elaborating\n[build] compiling\n[program] ok\n"


async def test_result_is_409_until_the_run_is_done_then_the_data(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 2)
    body = {"op": 2, "address": 0, "count": 2}
    run_id = uuid.UUID(
        (await client.post("/fpga/2/run", json=body, headers=sid(session))).json()["job_id"]
    )
    result = f"/fpga/2/jobs/{run_id}/result"
    assert_error(await client.get(result), 409, "job_not_complete")
    await append(store, runner, [RunStarted(fpga_id=2, job_id=run_id)])
    assert_error(await client.get(result), 409, "job_not_complete")
    await append(
        store, runner, [WishboneResult(fpga_id=2, job_id=run_id, ok=True, data=[0xCAFE, 0xF00D])]
    )
    resp = await client.get(result)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["ok"], body["data"]) == (True, [0xCAFE, 0xF00D])
    job = (await client.get(f"/fpga/2/jobs/{run_id}")).json()
    assert job["status"] == "complete"


async def test_result_of_a_failed_run_says_not_ok(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 2)
    body = {"op": 2, "address": 0}
    run_id = uuid.UUID(
        (await client.post("/fpga/2/run", json=body, headers=sid(session))).json()["job_id"]
    )
    await append(
        store,
        runner,
        [
            RunStarted(fpga_id=2, job_id=run_id),
            JobFailed(fpga_id=2, job_id=run_id, reason="interrupted"),
        ],
    )
    resp = await client.get(f"/fpga/2/jobs/{run_id}/result")
    assert resp.status_code == 200
    assert (resp.json()["ok"], resp.json()["data"]) == (False, [])
    job = (await client.get(f"/fpga/2/jobs/{run_id}")).json()
    assert (job["status"], job["error"]) == ("failed", "interrupted")


async def test_result_of_a_build_job_is_refused(client: httpx.AsyncClient) -> None:
    job_id = (await submit(client, 3)).json()["job_id"]
    assert_error(await client.get(f"/fpga/3/jobs/{job_id}/result"), 422, "validation_error")


async def test_cancel_a_queued_build_then_it_is_not_cancellable(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    job_id = (await submit(client, 3)).json()["job_id"]
    resp = await client.delete(f"/fpga/3/jobs/{job_id}")
    assert resp.status_code == 204
    assert resp.content == b""
    job = (await client.get(f"/fpga/3/jobs/{job_id}")).json()
    assert job["status"] == "cancelled"
    assert await board(client, 3) == {
        "fpga_id": 3,
        "state": "idle",
        "session": None,
        "current_job_id": None,
        "driver": "virtual",
        "in_service": True,
        "health": "good",
    }
    assert_error(await client.delete(f"/fpga/3/jobs/{job_id}"), 409, "job_not_cancellable")
    cancels = [s.event for s in await store.read_board(3) if isinstance(s.event, JobCancelled)]
    assert len(cancels) == 1 and str(cancels[0].job_id) == job_id
    # the board is free again
    assert (await submit(client, 3)).status_code == 202


async def test_cancel_a_queued_run(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 2)
    body = {"op": 2, "address": 0}
    run_id = (await client.post("/fpga/2/run", json=body, headers=sid(session))).json()["job_id"]
    assert (await client.delete(f"/fpga/2/jobs/{run_id}")).status_code == 204
    assert (await client.get(f"/fpga/2/jobs/{run_id}")).json()["status"] == "cancelled"
    assert (await board(client, 2))["state"] == "reserved"


async def test_cancel_of_started_or_reset_jobs_is_409(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    job_id = uuid.UUID((await submit(client, 3)).json()["job_id"])
    await append(store, runner, [BuildStarted(fpga_id=3, job_id=job_id)])
    assert_error(await client.delete(f"/fpga/3/jobs/{job_id}"), 409, "job_not_cancellable")
    _, session = await reserve(store, runner, 6)
    reset_id = (await client.post("/fpga/6/reset", headers=sid(session))).json()["job_id"]
    assert_error(await client.delete(f"/fpga/6/jobs/{reset_id}"), 409, "job_not_cancellable")
    assert "JobCancelled" not in await types_on(store, 3) + await types_on(store, 6)


# ------------------------------------------------------------------------------------ session


async def test_session_is_404_without_a_reservation(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/fpga/0/session"), 404, "no_active_session")


async def test_session_shows_the_reservation(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    events = reservation(0, job, session, owner=BOB.key_id)
    await append(store, runner, events)
    resp = await client.get("/fpga/0/session")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == SESSION_FIELDS
    assert body["session_id"] == str(session)
    assert body["fpga_id"] == 0
    assert body["owner"] == BOB.key_id  # a session is public; its owner's jobs are not
    assert datetime.fromisoformat(body["expires_at"]) == events[-1].expires_at  # type: ignore[union-attr]
    job_view = (await client.get(f"/fpga/0/jobs/{job}", headers=BOB.headers)).json()
    assert job_view["status"] == "complete"


async def test_release_ends_the_session_and_queues_a_reset(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 9)
    resp = await client.post("/fpga/9/session/release", headers=sid(session))
    assert resp.status_code == 202
    body = resp.json()
    assert set(body) == {"job_id", "fpga_id", "status"}
    assert (body["fpga_id"], body["status"]) == (9, "queued")
    assert await board(client, 9) == {
        "fpga_id": 9,
        "state": "programming",
        "session": None,
        "current_job_id": body["job_id"],
        "driver": "virtual",
        "in_service": True,
        "health": "good",
    }
    assert_error(await client.get("/fpga/9/session"), 404, "no_active_session")
    assert_error(await client.post("/fpga/9/session/release"), 404, "no_active_session")
    reset_job = (await client.get(f"/fpga/9/jobs/{body['job_id']}")).json()
    assert (reset_job["type"], reset_job["status"]) == ("reset", "queued")
    released = [s.event for s in await store.read_board(9) if isinstance(s.event, SessionReleased)]
    assert len(released) == 1
    assert released[0].session_id == session
    assert str(released[0].reset_job_id) == body["job_id"]


async def test_release_without_a_session_is_404(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/fpga/9/session/release"), 404, "no_active_session")
