"""Live subscriptions over real HTTP: SSE and WebSocket, resume without gap or duplicate."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets

from events.store import EventStore
from events.types import BoardReset, JobCancelled, ResetQueued, ResetStarted, RunQueued
from tests.fakes import reservation
from tests.integration.conftest import LiveApi
from tests.keys import ALICE

_readers: dict[int, Any] = {}


async def read_sse(resp: httpx.Response, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The next ``n`` SSE events (id, event, data) from a streaming response."""
    lines = _readers.setdefault(id(resp), resp.aiter_lines())
    out: list[dict[str, Any]] = []
    current: dict[str, Any] = {}

    async def collect() -> None:
        async for line in lines:
            if line.startswith(":"):
                continue
            if not line:
                if current:
                    out.append(dict(current))
                    current.clear()
                if len(out) >= n:
                    return
                continue
            key, _, value = line.partition(": ")
            current[key] = json.loads(value) if key == "data" else value
        if current:
            out.append(dict(current))

    await asyncio.wait_for(collect(), timeout)
    return out


async def test_subscriber_sees_every_state_change_of_a_build_in_order(
    live_api: LiveApi, store: EventStore
) -> None:
    job, session = uuid.uuid4(), uuid.uuid4()
    events = reservation(3, job, session)
    async with httpx.AsyncClient(base_url=live_api.base, timeout=10, headers=ALICE.headers) as http:
        async with http.stream("GET", "/fpga/3/events") as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            await asyncio.sleep(0.1)  # subscribed before the build starts
            seqs = [(await store.append(e)).seq for e in events]
            await store.append(reservation(4, uuid.uuid4(), uuid.uuid4())[0])  # other board
            got = await read_sse(resp, len(events))
    assert [g["event"] for g in got] == [type(e).__name__ for e in events]
    assert [int(g["id"]) for g in got] == seqs
    first = got[0]["data"]
    assert first["seq"] == seqs[0] and first["fpga_id"] == 3 and first["job_id"] == str(job)
    assert first["type"] == "JobQueued" and first["payload"]["owner"] == ALICE.key_id
    assert "time" in first


async def test_resume_with_last_event_id_gets_exactly_the_missing_events(
    live_api: LiveApi, store: EventStore
) -> None:
    async with httpx.AsyncClient(base_url=live_api.base, timeout=10, headers=ALICE.headers) as http:
        async with http.stream("GET", "/events") as resp:
            await asyncio.sleep(0.1)
            for e in reservation(1, uuid.uuid4(), uuid.uuid4())[:3]:
                await store.append(e)
            seen = await read_sse(resp, 3)
        last = seen[-1]["id"]
        missed = [(await store.append(e)).seq for e in reservation(2, uuid.uuid4(), uuid.uuid4())]
        headers = {"Last-Event-ID": last}
        async with http.stream("GET", "/events", headers=headers) as resp:
            got = await read_sse(resp, len(missed))
            extra = await store.append(ResetQueued(fpga_id=2, job_id=uuid.uuid4(), owner="x"))
            live = await read_sse(resp, 1)
    assert [int(g["id"]) for g in got] == missed
    assert int(live[0]["id"]) == extra.seq


async def test_filters_by_type_and_job(live_api: LiveApi, store: EventStore) -> None:
    job = uuid.uuid4()
    events = reservation(5, job, uuid.uuid4())
    for e in events:
        await store.append(e)
    async with httpx.AsyncClient(base_url=live_api.base, timeout=10, headers=ALICE.headers) as http:
        params = {"type": "SessionOpened,JobQueued", "after": "0", "job_id": str(job)}
        async with http.stream("GET", "/events", params=params) as resp:
            got = await read_sse(resp, 2)
        assert [g["event"] for g in got] == ["JobQueued", "SessionOpened"]
        bad = await http.get("/events", params={"type": "NoSuchEvent"})
        assert bad.status_code == 422
        assert bad.json()["detail"]["error"] == "validation_error"


async def test_slow_client_is_disconnected_with_a_resume_point(
    live_api: LiveApi, store: EventStore
) -> None:
    live_api_hub(live_api)._buffer = 50
    async with httpx.AsyncClient(base_url=live_api.base, timeout=30, headers=ALICE.headers) as http:
        async with http.stream("GET", "/fpga/6/events") as resp:
            await asyncio.sleep(0.1)
            # The client reads nothing while thousands of events arrive: socket buffers fill,
            # the server cannot send, and the client's bounded buffer overflows.
            await asyncio.gather(
                *(store.append(JobCancelled(fpga_id=6, job_id=uuid.uuid4())) for _ in range(4000))
            )
            await asyncio.sleep(0.5)
            got = await read_sse(resp, 10_000, timeout=30)
        error = got[-1]
        assert error["event"] == "error" and error["data"]["error"] == "slow_consumer"
        delivered = [int(g["id"]) for g in got[:-1]]
        resume = error["data"]["resume_after"]
        assert len(delivered) < 4000
        assert resume == (delivered[-1] if delivered else 0)
        # Resuming reads the rest from the stream itself: nothing lost, nothing twice.
        headers = {"Last-Event-ID": str(resume)}
        async with http.stream("GET", "/fpga/6/events", headers=headers) as resp:
            rest = await read_sse(resp, 4000 - len(delivered), timeout=30)
    assert delivered + [int(g["id"]) for g in rest] == list(range(1, 4001))


def live_api_hub(api: LiveApi) -> Any:
    for listener in api.runner._listeners:
        owner = getattr(listener, "__self__", None)
        if owner is not None and owner.__class__.__name__ == "EventHub":
            return owner
    raise AssertionError("no hub")


async def test_websocket_twin_streams_json_events(live_api: LiveApi, store: EventStore) -> None:
    async with websockets.connect(
        f"{live_api.ws}/fpga/7/events/ws?after=0", additional_headers=ALICE.headers
    ) as ws:
        events = reservation(7, uuid.uuid4(), uuid.uuid4())
        for e in events:
            await store.append(e)
        got = [json.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in events]
    assert [g["type"] for g in got] == [type(e).__name__ for e in events]


async def test_follow_log_contains_every_line_and_ends_with_the_job(
    live_api: LiveApi, store: EventStore
) -> None:
    from events.types import LogAppended, WishboneResult

    job, session = uuid.uuid4(), uuid.uuid4()
    for e in reservation(8, uuid.uuid4(), session):
        await store.append(e)
    run = RunQueued(fpga_id=8, job_id=job, owner=ALICE.key_id, op=2, address=0, count=1)
    seq = (await store.append(run)).seq
    await live_api.runner.wait_for(seq)
    async with httpx.AsyncClient(base_url=live_api.base, timeout=10, headers=ALICE.headers) as http:
        async with http.stream("GET", f"/fpga/8/jobs/{job}/logs", params={"follow": "true"}) as r:
            assert r.status_code == 200

            async def write() -> None:
                for i in range(5):
                    lines = [f"line {i}.{k}" for k in range(3)]
                    await store.append_log(
                        LogAppended(fpga_id=8, job_id=job, stage="run", lines=lines)
                    )
                    await asyncio.sleep(0.05)
                await store.append(WishboneResult(fpga_id=8, job_id=job, ok=True, data=[1]))

            writer = asyncio.create_task(write())
            text = (await asyncio.wait_for(r.aread(), 10)).decode()
            await writer
        final = (await http.get(f"/fpga/8/jobs/{job}/logs")).text
    assert text.splitlines() == [f"[run] line {i}.{k}" for i in range(5) for k in range(3)]
    assert final == text


async def test_reset_events_carry_their_job(live_api: LiveApi, store: EventStore) -> None:
    job = uuid.uuid4()
    async with httpx.AsyncClient(base_url=live_api.base, timeout=10, headers=ALICE.headers) as http:
        async with http.stream("GET", "/events", params={"job_id": str(job)}) as resp:
            await asyncio.sleep(0.1)
            steps = (
                ResetQueued(fpga_id=0, job_id=job, owner="a"),
                ResetStarted(fpga_id=0, job_id=job),
                BoardReset(fpga_id=0, job_id=job),
            )
            for e in steps:
                await store.append(e)
            got = await read_sse(resp, 3)
    assert [g["event"] for g in got] == ["ResetQueued", "ResetStarted", "BoardReset"]
