"""The waveform routes' contract without a simulator: a real board answers 409
``trace_unavailable`` (never a 500), one recording at a time, and a trace is the owner's only.

Board progress is driven by appending the events a worker would; recording itself (a virtual
board's simulator) is checked end to end in ``tests/e2e/test_traces.py``.
"""

from __future__ import annotations

import uuid

import httpx

from events.store import EventStore
from events.types import BoardRegistered
from projections.runner import ProjectionRunner
from tests.integration.contract import append, assert_error, reserve, sid
from tests.keys import BOB

ECP5 = 4
VIRTUAL = 5


async def test_a_real_board_answers_trace_unavailable(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    await append(store, runner, [BoardRegistered(fpga_id=ECP5, driver="ecp5_evn", host="lab")])
    _, session = await reserve(store, runner, ECP5)
    traced = {"op": 2, "address": 0, "trace": True}
    for resp in (
        await client.post(f"/fpga/{ECP5}/run", json=traced, headers=sid(session)),
        await client.post(f"/fpga/{ECP5}/trace/start", headers=sid(session)),
        # The board's kind is public: another key learns nothing more from the same answer.
        await client.post(f"/fpga/{ECP5}/trace/start", headers=BOB.headers),
    ):
        detail = assert_error(resp, 409, "trace_unavailable")
        assert "virtual board" in detail["message"]
    # The same run without a trace is queued as on any board.
    plain = await client.post(
        f"/fpga/{ECP5}/run", json={"op": 2, "address": 0}, headers=sid(session)
    )
    assert plain.status_code == 202, plain.text
    assert plain.json().get("trace_id") is None


async def test_one_recording_at_a_time_and_only_for_its_owner(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, VIRTUAL)
    started = await client.post(f"/fpga/{VIRTUAL}/trace/start", headers=sid(session))
    assert started.status_code == 202, started.text
    trace = started.json()
    assert trace["status"] == "recording" and trace["fpga_id"] == VIRTUAL
    trace_id = trace["trace_id"]

    again = await client.post(f"/fpga/{VIRTUAL}/trace/start", headers=sid(session))
    assert_error(again, 409, "trace_in_progress")
    traced_run = await client.post(
        f"/fpga/{VIRTUAL}/run", json={"op": 2, "address": 0, "trace": True}, headers=sid(session)
    )
    assert_error(traced_run, 409, "trace_in_progress")
    not_ready = await client.get(f"/fpga/{VIRTUAL}/traces/{trace_id}")
    assert_error(not_ready, 409, "trace_not_ready")

    # Another key: not its session, and the trace does not exist for it.
    assert (await client.post(f"/fpga/{VIRTUAL}/trace/stop", headers=BOB.headers)).is_error
    for path in (f"/fpga/{VIRTUAL}/traces/{trace_id}", f"/fpga/{VIRTUAL}/traces/{trace_id}/info"):
        assert_error(await client.get(path, headers=BOB.headers), 404, "trace_not_found")
    assert (await client.get(f"/fpga/{VIRTUAL}/traces", headers=BOB.headers)).json() == []
    assert [t["trace_id"] for t in (await client.get(f"/fpga/{VIRTUAL}/traces")).json()] == [
        trace_id
    ]
    unknown = await client.get(f"/fpga/{VIRTUAL}/traces/{uuid.uuid4()}/info")
    assert_error(unknown, 404, "trace_not_found")

    stopped = await client.post(f"/fpga/{VIRTUAL}/trace/stop", headers=sid(session))
    assert stopped.status_code == 202 and stopped.json()["trace_id"] == trace_id
    ending = await client.post(f"/fpga/{VIRTUAL}/trace/stop", headers=sid(session))
    assert_error(ending, 409, "trace_not_recording")


async def test_a_retried_start_with_its_idempotency_key_is_one_recording(
    client: httpx.AsyncClient, store: EventStore, runner: ProjectionRunner
) -> None:
    _, session = await reserve(store, runner, VIRTUAL)
    headers = {**sid(session), "Idempotency-Key": "start-once"}
    first = await client.post(f"/fpga/{VIRTUAL}/trace/start", headers=headers)
    again = await client.post(f"/fpga/{VIRTUAL}/trace/start", headers=headers)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["trace_id"] == first.json()["trace_id"]
    assert len((await client.get(f"/fpga/{VIRTUAL}/traces")).json()) == 1
    stop = {**sid(session), "Idempotency-Key": "stop-once"}
    stopped = [await client.post(f"/fpga/{VIRTUAL}/trace/stop", headers=stop) for _ in "ab"]
    assert [r.status_code for r in stopped] == [202, 202]
    assert stopped[1].json()["trace_id"] == first.json()["trace_id"]
