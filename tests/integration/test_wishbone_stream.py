"""The Wishbone WebSocket: session owner only, binary frames relayed to the board's worker."""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import websockets

from events.keys import KeyRevoked
from events.store import EventStore
from events.types import (
    BoardReset,
    ResetQueued,
    ResetStarted,
    SessionExpired,
    StreamClosed,
    StreamOpened,
)
from events.wire import (
    OP_READ,
    OP_WRITE,
    SESSION_HEADER,
    STATUS_BAD_REQUEST,
    STATUS_NOT_READY,
    STATUS_OK,
    STATUS_OUT_OF_WINDOW,
    Request,
    decode_response,
    encode_request,
)
from hwbridge.streamserver import WishboneResponder
from services.api.orphans import OrphanStreams, Presence
from tests.fakes import FakeDriver, reservation
from tests.integration.conftest import LiveApi
from tests.keys import ADMIN, ALICE, BOB


def _board_session(live_api: LiveApi, fpga_id: int) -> uuid.UUID | None:
    """The session the board's worker would know from the same events (its worklist)."""
    session = live_api.runner.views.boards[fpga_id].session
    return session.session_id if session is not None else None


@pytest.fixture
async def board(
    live_api: LiveApi, store: EventStore
) -> AsyncIterator[tuple[uuid.UUID, FakeDriver]]:
    session = uuid.uuid4()
    for e in reservation(2, uuid.uuid4(), session, window_size=0x100):
        seq = (await store.append(e)).seq
    await live_api.runner.wait_for(seq)
    driver = FakeDriver(programmed_at_start=True, window_size=0x100)
    responder = WishboneResponder(store.nc, 2, driver, lambda: _board_session(live_api, 2))
    await responder.start()
    yield session, driver
    await responder.stop()


async def _closed_events(store: EventStore, fpga_id: int) -> list[StreamClosed]:
    for _ in range(100):
        closed = [s.event for s in await store.read_board(fpga_id)]
        found = [e for e in closed if isinstance(e, StreamClosed)]
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no StreamClosed")


async def _closed_code(ws: websockets.ClientConnection, timeout: float = 5.0) -> tuple[int, str]:
    """The close code and reason the server sends, without the client sending anything."""
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), timeout)
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason


async def test_a_stream_closes_the_moment_its_session_is_released(
    live_api: LiveApi, store: EventStore, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    session, _ = board
    headers = {"X-Session-ID": str(session), **ALICE.headers}
    async with websockets.connect(f"{live_api.ws}/fpga/2/stream", additional_headers=headers) as ws:
        await ws.send(encode_request(Request(OP_READ, False, 1, 0)))
        assert decode_response(await ws.recv())[0] == STATUS_OK  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=live_api.base, headers=headers) as http:
            assert (await http.post("/fpga/2/session/release")).status_code == 202
        code, reason = await _closed_code(ws)
    assert (code, reason) == (4409, "the session ended")
    [closed] = await _closed_events(store, 2)
    assert closed.session_id == session and closed.reason == "the session ended"
    assert closed.reads == 1


async def test_a_stream_closes_when_an_admin_resets_the_board(
    live_api: LiveApi, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    session, _ = board
    headers = {"X-Session-ID": str(session), **ALICE.headers}
    async with websockets.connect(f"{live_api.ws}/fpga/2/stream", additional_headers=headers) as ws:
        async with httpx.AsyncClient(base_url=live_api.base, headers=ADMIN.headers) as http:
            assert (await http.post("/fpga/2/reset")).status_code == 202
        assert (await _closed_code(ws))[0] == 4409


async def test_a_stream_closes_when_its_lease_expires(
    live_api: LiveApi, store: EventStore, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    session, _ = board
    headers = {"X-Session-ID": str(session), **ALICE.headers}
    async with websockets.connect(f"{live_api.ws}/fpga/2/stream", additional_headers=headers) as ws:
        expiry = SessionExpired(
            fpga_id=2, session_id=session, reset_job_id=uuid.uuid4(), owner=ALICE.key_id,
            expires_at=datetime.now(UTC),
        )  # fmt: skip
        await store.append(expiry)
        assert (await _closed_code(ws))[0] == 4409


async def test_a_stream_closes_when_its_key_is_revoked(
    live_api: LiveApi, store: EventStore, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    session, _ = board
    headers = {"X-Session-ID": str(session), **ALICE.headers}
    async with websockets.connect(f"{live_api.ws}/fpga/2/stream", additional_headers=headers) as ws:
        await store.append_key_event(KeyRevoked(key_id=ALICE.key_id, by="test"))
        assert (await _closed_code(ws))[0] == 4401


async def test_a_frame_for_an_ended_session_never_reaches_the_next_design(
    live_api: LiveApi, store: EventStore, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    """Whatever the API decided, the board's worker relays a frame only for the session whose
    design it runs: here a late frame of alice's ended session, once bob holds the board."""
    old, driver = board
    for e in [
        ResetQueued(fpga_id=2, job_id=(reset := uuid.uuid4()), owner=ADMIN.key_id),
        ResetStarted(fpga_id=2, job_id=reset),
        BoardReset(fpga_id=2, job_id=reset),
        *reservation(2, uuid.uuid4(), (new := uuid.uuid4()), owner=BOB.key_id, window_size=0x100),
    ]:
        seq = (await store.append(e)).seq
    await live_api.runner.wait_for(seq)
    driver.memory[0] = 0x05EC12E7
    write = encode_request(Request(OP_WRITE, False, 1, 4, (0x41414141,)))
    read = encode_request(Request(OP_READ, False, 1, 0))
    for frame in (write, read):
        for session in (old, None):
            headers = {SESSION_HEADER: str(session)} if session else {}
            reply = await store.nc.request("fpgawb.2", frame, timeout=5, headers=headers)
            assert decode_response(reply.data) == (STATUS_NOT_READY, 0, [])
    assert 4 not in driver.memory
    reply = await store.nc.request("fpgawb.2", read, timeout=5, headers={SESSION_HEADER: str(new)})
    assert decode_response(reply.data) == (STATUS_OK, 1, [0x05EC12E7])


async def test_streams_of_a_dead_api_process_are_closed_by_another(
    live_api: LiveApi, store: EventStore, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    session, _ = board
    alive_one = Presence(store.nc, "a1" * 16)
    await alive_one.start()
    try:
        orphan, kept = uuid.uuid4(), uuid.uuid4()
        for stream, instance in ((orphan, "de" * 16), (kept, "a1" * 16)):
            event = StreamOpened(
                fpga_id=2, stream_id=stream, session_id=session, owner=ALICE.key_id,
                api_instance=instance,
            )  # fmt: skip
            seq = (await store.append(event)).seq
        await live_api.runner.wait_for(seq)
        janitor = OrphanStreams(store, live_api.runner, "me" * 16)
        closed = await janitor.sweep()
        again = await OrphanStreams(store, live_api.runner, "other").sweep()  # a second replica
        assert [o.stream_id for o in closed] == [orphan]
        assert [o.stream_id for o in again] in ([], [orphan])
        events = [s.event for s in await store.read_board(2)]
        ends = [e for e in events if isinstance(e, StreamClosed)]
        assert [(e.stream_id, e.reason) for e in ends] == [(orphan, "api_restarted")]
    finally:
        await alive_one.stop()


async def test_owner_round_trips_writes_and_reads(
    live_api: LiveApi, store: EventStore, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    session, driver = board
    url = f"{live_api.ws}/fpga/2/stream"
    async with websockets.connect(
        url, additional_headers={"X-Session-ID": str(session), **ALICE.headers}
    ) as ws:
        await ws.send(encode_request(Request(OP_WRITE, False, 2, 0x10, (0xDEADBEEF, 42))))
        assert decode_response(await ws.recv()) == (STATUS_OK, 2, [])  # type: ignore[arg-type]
        await ws.send(encode_request(Request(OP_READ, False, 2, 0x10)))
        raw = await ws.recv()
        assert raw == bytes([STATUS_OK, 0, 0, 2]) + struct.pack(">2I", 0xDEADBEEF, 42)
        await ws.send(encode_request(Request(OP_READ, False, 1, 0x100)))  # past the window
        assert decode_response(await ws.recv())[0] == STATUS_OUT_OF_WINDOW  # type: ignore[arg-type]
        await ws.send(b"\x07\x00")
        assert decode_response(await ws.recv())[0] == STATUS_BAD_REQUEST  # type: ignore[arg-type]
    assert driver.memory[0x10] == 0xDEADBEEF
    events = [s.event for s in await store.read_board(2)]
    for _ in range(50):
        if isinstance(events[-1], StreamClosed):
            break
        await asyncio.sleep(0.05)
        events = [s.event for s in await store.read_board(2)]
    opened = next(e for e in events if isinstance(e, StreamOpened))
    closed = events[-1]
    assert isinstance(closed, StreamClosed) and closed.stream_id == opened.stream_id
    assert (closed.writes, closed.reads, closed.words_written, closed.words_read) == (1, 1, 2, 2)
    assert closed.errors == 2 and len(closed.digest) == 64


async def test_a_client_without_the_session_is_rejected(
    live_api: LiveApi, board: tuple[uuid.UUID, FakeDriver]
) -> None:
    url = f"{live_api.ws}/fpga/2/stream"
    async with websockets.connect(
        url, additional_headers={"X-Session-ID": str(uuid.uuid4()), **ALICE.headers}
    ) as ws:
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4403
    assert "not_session_owner" in info.value.rcvd.reason
    async with websockets.connect(
        f"{live_api.ws}/fpga/5/stream", additional_headers=ALICE.headers
    ) as ws:
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4409  # not reserved
