"""The Wishbone WebSocket: session owner only, binary frames relayed to the board's worker."""

from __future__ import annotations

import asyncio
import struct
import uuid

import pytest
import websockets

from events.store import EventStore
from events.types import StreamClosed, StreamOpened
from events.wire import (
    OP_READ,
    OP_WRITE,
    STATUS_BAD_REQUEST,
    STATUS_OK,
    STATUS_OUT_OF_WINDOW,
    Request,
    decode_response,
    encode_request,
)
from hwbridge.streamserver import WishboneResponder
from tests.fakes import FakeDriver, reservation
from tests.integration.conftest import LiveApi
from tests.keys import ALICE


@pytest.fixture
async def board(live_api: LiveApi, store: EventStore) -> tuple[uuid.UUID, FakeDriver]:
    session = uuid.uuid4()
    for e in reservation(2, uuid.uuid4(), session, window_size=0x100):
        seq = (await store.append(e)).seq
    await live_api.runner.wait_for(seq)
    driver = FakeDriver(programmed_at_start=True, window_size=0x100)
    responder = WishboneResponder(store.nc, 2, driver)
    await responder.start()
    return session, driver


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
