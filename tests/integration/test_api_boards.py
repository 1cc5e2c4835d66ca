"""The REST contract of the seeds: health, docs, boards, submit, run and reset.

No hardware runs here: a board's progress is driven by appending the events its worker would
append (through the ``store`` fixture), then waiting until the projections have folded them.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from events.store import EventStore
from events.types import (
    BoardFaulted,
    JobQueued,
    RunQueued,
)
from projections.runner import ProjectionRunner
from tests.fakes import WINDOW_SIZE
from tests.integration.contract import (
    DESIGN,
    JOB_FIELDS,
    SESSION_FIELDS,
    SUMMARY_FIELDS,
    append,
    assert_error,
    board,
    reserve,
    sid,
    submit,
    types_on,
)
from tests.keys import ALICE


async def test_health_reports_nats_and_jetstream(client: httpx.AsyncClient) -> None:
    resp = await client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "nats": True, "jetstream": True}


async def test_openapi_lists_every_path_of_the_contract(client: httpx.AsyncClient) -> None:
    resp = await client.get("/openapi.json")
    assert resp.status_code == 200
    schema = resp.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    expected = {
        "/health": {"get"},
        "/fpga": {"get"},
        "/fpga/{fpga_id}": {"get"},
        "/fpga/{fpga_id}/submit": {"post"},
        "/fpga/{fpga_id}/run": {"post"},
        "/fpga/{fpga_id}/reset": {"post"},
        "/fpga/{fpga_id}/jobs/{job_id}": {"get", "delete"},
        "/fpga/{fpga_id}/jobs/{job_id}/logs": {"get"},
        "/fpga/{fpga_id}/jobs/{job_id}/result": {"get"},
        "/fpga/{fpga_id}/session": {"get"},
        "/fpga/{fpga_id}/session/release": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


async def test_docs_serve_the_explorer(client: httpx.AsyncClient) -> None:
    resp = await client.get("/docs")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "<html" in resp.text.lower()


async def test_unknown_route_and_method_use_the_envelope(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/no/such/path"), 404, "not_found")
    assert_error(await client.put("/fpga/3"), 405, "method_not_allowed")


# ------------------------------------------------------------------------------------- boards


async def test_list_shows_ten_idle_boards(client: httpx.AsyncClient) -> None:
    resp = await client.get("/fpga")
    assert resp.status_code == 200
    boards = resp.json()
    assert [b["fpga_id"] for b in boards] == list(range(10))
    for b in boards:
        assert set(b) == SUMMARY_FIELDS
        assert b == {
            "fpga_id": b["fpga_id"],
            "state": "idle",
            "session": None,
            "current_job_id": None,
            "driver": "virtual",
            "in_service": True,
            "health": "good",
        }


async def test_list_shows_a_reserved_board_with_its_session(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 4)
    boards = (await client.get("/fpga")).json()
    four = boards[4]
    assert four["state"] == "reserved" and four["current_job_id"] is None
    assert set(four["session"]) == SESSION_FIELDS
    assert four["session"]["session_id"] == str(session)
    assert four["session"]["fpga_id"] == 4
    assert [b["state"] for i, b in enumerate(boards) if i != 4] == ["idle"] * 9


async def test_get_one_board(client: httpx.AsyncClient) -> None:
    assert await board(client, 3) == {
        "fpga_id": 3,
        "state": "idle",
        "session": None,
        "current_job_id": None,
        "driver": "virtual",
        "in_service": True,
        "health": "good",
    }


@pytest.mark.parametrize("bad", ["10", "-1", "abc", "99999999999"])
async def test_out_of_range_or_non_integer_board_is_422(
    client: httpx.AsyncClient, bad: str
) -> None:
    assert_error(await client.get(f"/fpga/{bad}"), 422, "validation_error")
    assert_error(await client.get(f"/fpga/{bad}/session"), 422, "validation_error")
    assert_error(await submit(client, 10 if bad == "10" else -1), 422, "validation_error")


# ------------------------------------------------------------------------------------- submit


async def test_submit_queues_a_build_and_the_board_shows_it_at_once(
    client: httpx.AsyncClient, store: EventStore
) -> None:
    resp = await client.post(
        "/fpga/3/submit",
        files={"file": ("../../etc/my design.py", DESIGN)},
    )
    assert resp.status_code == 202
    body = resp.json()
    assert set(body) == {"job_id", "fpga_id", "status"}
    job_id = uuid.UUID(body["job_id"])
    assert (body["fpga_id"], body["status"]) == (3, "queued")
    # read your writes: the very next GET sees the job
    assert await board(client, 3) == {
        "fpga_id": 3,
        "state": "queued",
        "session": None,
        "current_job_id": str(job_id),
        "driver": "virtual",
        "in_service": True,
        "health": "good",
    }
    job = (await client.get(f"/fpga/3/jobs/{job_id}")).json()
    assert JOB_FIELDS <= set(job)
    assert (job["type"], job["status"], job["fpga_id"]) == ("build_and_program", "queued", 3)
    datetime.fromisoformat(job["created_at"])
    # the event and the stored design
    stored = await store.read_board(3)
    assert len(stored) == 1
    event = stored[0].event
    assert isinstance(event, JobQueued)
    sha = hashlib.sha256(DESIGN).hexdigest()
    assert (event.job_id, event.design_sha256, event.design_size) == (job_id, sha, len(DESIGN))
    assert event.filename == "mydesign.py"
    # The owner is the key's public id; its secret is in no event.
    assert event.owner == ALICE.key_id and ALICE.secret not in str(event)
    assert await store.get_design(sha) == DESIGN


async def test_submit_to_a_busy_board_is_409(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    assert (await submit(client, 3)).status_code == 202
    assert_error(await submit(client, 3), 409, "fpga_not_idle")
    await reserve(store, runner, 5)
    assert_error(await submit(client, 5), 409, "fpga_not_idle")
    assert await types_on(store, 3) == ["JobQueued"]


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        (None, 422, "validation_error"),  # no multipart body at all
        ({"design": ("design.py", DESIGN)}, 422, "validation_error"),  # wrong field name
        ({"file": ("design.py", b"\xff\xfe\x00print(1)")}, 422, "validation_error"),  # not UTF-8
        ({"file": ("design.py", b"")}, 422, "validation_error"),  # empty
        ({"file": ("design.py", b"  \n\t\n")}, 422, "validation_error"),  # blank
        ({"file": ("design.py", b"#" * 4097)}, 413, "payload_too_large"),  # over the limit
        ({"file": ("design.py", b"#" * 200_000)}, 413, "payload_too_large"),  # over the body cap
    ],
    ids=["no-body", "no-file", "not-utf8", "empty", "blank", "oversized", "huge"],
)
async def test_bad_uploads_are_refused_and_leave_the_board_idle(
    client: httpx.AsyncClient,
    store: EventStore,
    files: dict[str, tuple[str, bytes]] | None,
    status: int,
    code: str,
) -> None:
    resp = await client.post("/fpga/3/submit", files=files)
    assert_error(resp, status, code)
    assert (await board(client, 3))["state"] == "idle"
    assert await store.read_board(3) == []


async def test_a_design_exactly_at_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await submit(client, 2, b"#" * 4096)).status_code == 202


# ---------------------------------------------------------------------------------------- run


async def test_run_on_a_reserved_board_queues_a_job(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 1)
    resp = await client.post(
        "/fpga/1/run", json={"op": 1, "address": 8, "data": [1, 0xFFFFFFFF]}, headers=sid(session)
    )
    assert resp.status_code == 202
    body = resp.json()
    assert set(body) == {"job_id", "fpga_id", "status"}
    assert (body["fpga_id"], body["status"]) == (1, "queued")
    read = await client.post(
        "/fpga/1/run", json={"op": 2, "address": 0, "count": 3}, headers=sid(session)
    )
    assert read.status_code == 202
    runs = [s.event for s in await store.read_board(1) if isinstance(s.event, RunQueued)]
    assert [r.job_id for r in runs] == [uuid.UUID(body["job_id"]), uuid.UUID(read.json()["job_id"])]
    write, rd = runs
    assert (write.op, write.address, write.data, write.count) == (1, 8, [1, 0xFFFFFFFF], 2)
    assert (rd.op, rd.address, rd.data, rd.count) == (2, 0, [], 3)
    assert write.session_id == session and rd.session_id == session
    job = (await client.get(f"/fpga/1/jobs/{body['job_id']}")).json()
    assert (job["type"], job["status"]) == ("run", "queued")


@pytest.mark.parametrize("state", ["idle", "queued", "error"])
async def test_run_on_an_unreserved_board_is_409(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner, state: str
) -> None:
    if state == "queued":
        assert (await submit(client, 1)).status_code == 202
    if state == "error":
        await append(store, runner, [BoardFaulted(fpga_id=1, reason="died")])
    assert (await board(client, 1))["state"] == state
    resp = await client.post("/fpga/1/run", json={"op": 2, "address": 0})
    assert_error(resp, 409, "fpga_not_reserved")


@pytest.mark.parametrize(
    "body",
    [
        {"op": "x", "address": 0},
        {"op": 1, "address": 0, "data": 5},
        {"op": 1, "address": 0, "data": [1], "unknown": True},
        {"op": 2},
        {"address": 0},
        {"op": 2, "address": "0x10"},
        {"op": 1, "address": 0, "data": ["a"]},
        {"op": 3, "address": 0},
        {"op": 2, "address": -4},
        {"op": 1, "address": 0, "data": []},
        {"op": 1, "address": 0, "data": [0x1_0000_0000]},
        {"op": 1, "address": 0, "data": [-1]},
        {"op": 2, "address": 0, "count": 0},
        [1, 0],
    ],
)
async def test_malformed_run_bodies_are_422(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner, body: object
) -> None:
    await reserve(store, runner, 1)
    assert_error(await client.post("/fpga/1/run", json=body), 422, "validation_error")
    assert await types_on(store, 1) == [
        "JobQueued",
        "BuildStarted",
        "BuildSucceeded",
        "ProgrammingStarted",
        "Programmed",
        "SessionOpened",
    ]


@pytest.mark.parametrize("raw", [b"{bad json", b"", b'{"op": 2, "address": 0'])
async def test_unparseable_run_body_is_422(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner, raw: bytes
) -> None:
    await reserve(store, runner, 1)
    resp = await client.post(
        "/fpga/1/run", content=raw, headers={"content-type": "application/json"}
    )
    assert_error(resp, 422, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        {"op": 2, "address": WINDOW_SIZE},
        {"op": 2, "address": WINDOW_SIZE - 4, "count": 2},
        {"op": 1, "address": WINDOW_SIZE - 4, "data": [1, 2]},
        {"op": 2, "address": 2},
    ],
)
async def test_run_outside_the_window_is_422_address_out_of_range(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner, body: dict[str, Any]
) -> None:
    _, session = await reserve(store, runner, 1)
    resp = await client.post("/fpga/1/run", json=body, headers=sid(session))
    assert_error(resp, 422, "address_out_of_range")


async def test_run_at_the_last_word_of_the_window_is_accepted(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 1, window_size=16)
    ok = await client.post("/fpga/1/run", json={"op": 2, "address": 12}, headers=sid(session))
    assert ok.status_code == 202
    past = await client.post("/fpga/1/run", json={"op": 2, "address": 16}, headers=sid(session))
    assert_error(past, 422, "address_out_of_range")


# -------------------------------------------------------------------------------------- reset


async def test_reset_of_a_reserved_board_ends_the_session(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, 7)
    resp = await client.post("/fpga/7/reset", headers=sid(session))
    assert resp.status_code == 202
    body = resp.json()
    assert set(body) == {"job_id", "fpga_id", "status"}
    assert (body["fpga_id"], body["status"]) == (7, "queued")
    assert await board(client, 7) == {
        "fpga_id": 7,
        "state": "programming",
        "session": None,
        "current_job_id": body["job_id"],
        "driver": "virtual",
        "in_service": True,
        "health": "good",
    }
    job = (await client.get(f"/fpga/7/jobs/{body['job_id']}")).json()
    assert (job["type"], job["status"]) == ("reset", "queued")
    assert (await types_on(store, 7))[-1] == "ResetQueued"
    assert_error(await client.get("/fpga/7/session"), 404, "no_active_session")


async def test_reset_of_a_board_in_error_is_accepted(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await append(store, runner, [BoardFaulted(fpga_id=8, reason="the simulator died")])
    assert (await board(client, 8))["state"] == "error"
    assert (await client.post("/fpga/8/reset")).status_code == 202
    assert (await board(client, 8))["state"] == "programming"


async def test_reset_from_idle_or_while_resetting_is_409(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    assert_error(await client.post("/fpga/7/reset"), 409, "fpga_not_resettable")
    _, session = await reserve(store, runner, 7)
    assert (await client.post("/fpga/7/reset", headers=sid(session))).status_code == 202
    assert_error(await client.post("/fpga/7/reset"), 409, "fpga_not_resettable")
    assert (await types_on(store, 7)).count("ResetQueued") == 1


# --------------------------------------------------------------------------------------- jobs
