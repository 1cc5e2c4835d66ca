"""The SDK against the running system: the whole lifecycle (sync and async), the live feed
across cut connections, and each refusal as its own exception class."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from fpga_cloud import (
    AddressOutOfRange,
    AsyncClient,
    Client,
    Event,
    FpgaNotIdle,
    FpgaNotReserved,
    JobInfo,
    JobNotCancellable,
    JobNotFound,
    NoActiveSession,
    NotSessionOwner,
    PayloadTooLarge,
    Unauthorized,
    ValidationError,
)

from tests.e2e.proxy import CuttingProxy
from tests.e2e.system import EXAMPLES, System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

BUILD_ORDER = ["queued", "building", "built", "programming", "programmed", "reserved"]


@pytest.fixture
def client(system: System) -> Iterator[Client]:
    with Client(system.base, system.api_key) as c:
        yield c


def wait_idle(client: Client, board: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while client.board(board).state != "idle":
        assert time.monotonic() < deadline, f"board {board} did not come back idle"
        time.sleep(0.05)


def test_sync_lifecycle(client: Client) -> None:
    stages: list[str] = []
    job = client.submit(EXAMPLES / "echo_regs.py", board=0)
    info = job.wait(timeout=180, on_progress=lambda j: stages.append(j.stage or j.status))
    assert (info.status, info.language, info.window_size) == ("complete", "migen", 0x1000)
    # Each stage reported once, in the build's order, ending reserved.
    assert stages == sorted(set(stages), key=BUILD_ORDER.index) and stages[-1] == "reserved"
    assert any(line.startswith("[program]") for line in job.logs())
    with job.session() as session:
        board = client.board(0)
        assert board.state == "reserved" and board.session is not None
        assert board.session.session_id == session.id
        session.write(0x0, 42)
        session.write(0x8, [1, 2])
        assert session.read(0x0) == [42] and session.read(0x8, 2) == [1, 2]
        before = session.expires_at
        assert session.renew().expires_at > before
        with session.stream() as bus:
            bus.write(0x10, [7, 8, 9])
            assert bus.read(0x10, 3) == [7, 8, 9] and bus.read(0x0) == [42]
            with pytest.raises(AddressOutOfRange):
                bus.read(0x1000)
            assert bus.read(0x8, 2) == [1, 2]  # the stream goes on after a refused frame
            assert len(bus.read(0x0, 1024)) == 1024
    wait_idle(client, 0)  # the block released the board


async def test_async_lifecycle(system: System) -> None:
    source = (EXAMPLES / "crc32.v").read_text()  # text: the file name is guessed (design.v)
    async with AsyncClient(system.base, system.api_key) as client:
        job = await client.submit(source, board=1)
        followed = [line async for line in job.logs(follow=True)]
        stages: list[str] = []

        async def progress(info: JobInfo) -> None:
            stages.append(info.stage or info.status)

        info = await job.wait(timeout=180, on_progress=progress)
        assert (info.language, info.window_size, stages[-1]) == ("verilog", 128, "reserved")
        assert followed == [line async for line in job.logs()]
        async with await job.session() as session:
            await session.write(0x10, 0x31)  # feeds the byte "1"
            assert await session.read(0x8) == [0x83DCEFB7]  # zlib.crc32(b"1")
            async with session.stream() as bus:
                await bus.write(0x0, 1)  # start a new CRC
                await bus.write(0x40, [0x34333231])  # "1234"
                assert await bus.read(0xC) == [4]
            before = session.expires_at
            assert (await session.renew()).expires_at > before
            reset = await session.release()
            assert (await reset.wait(60)).status == "complete"
        assert (await client.board(1)).state == "idle"


def test_events_resume_across_cut_connections(system: System, client: Client) -> None:
    """The feed, read through a proxy that drops every connection twice, delivers exactly
    what the service's own feed holds for that stretch: no gap, no duplicate."""
    types = ["RunQueued", "WishboneResult"]
    marker = 0xFEED
    job = client.submit(EXAMPLES / "echo_regs.py", board=2)
    job.wait(timeout=180)
    with job.session() as session, CuttingProxy(system.api_port) as proxy:
        got: list[Event] = []

        def collect() -> None:
            with Client(proxy.url, system.api_key) as through_proxy:
                for event in through_proxy.events(board=2, types=types):
                    got.append(event)
                    if event.type == "WishboneResult" and event.payload["data"] == [marker]:
                        return

        reader = threading.Thread(target=collect, daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        while not got:  # the feed is open once the first write shows
            session.write(0x0, 1)
            assert time.monotonic() < deadline
        for i in range(30):
            session.write(0x4, i)
            if i in (8, 20):
                proxy.wait_open()  # reconnected after the last cut
                assert proxy.cut() == 2  # the feed's connection, both ends
        session.write(0x4, marker)
        reader.join(timeout=60)
        assert not reader.is_alive()
        assert proxy.accepted >= 3  # it did reconnect after each cut
    truth: list[Event] = []
    for event in client.events(board=2, types=types, after=got[0].seq - 1):
        truth.append(event)
        if event.seq >= got[-1].seq:
            break
    seqs = [e.seq for e in got]
    assert seqs == [e.seq for e in truth]
    assert len(set(seqs)) == len(seqs) and seqs == sorted(seqs)
    wait_idle(client, 2)


def test_refusals_raise_their_classes(system: System, client: Client) -> None:
    job = client.submit(EXAMPLES / "echo_regs.py", board=3)
    with pytest.raises(FpgaNotIdle) as busy:
        client.submit(EXAMPLES / "echo_regs.py", board=3)
    assert (busy.value.code, busy.value.status) == ("fpga_not_idle", 409)
    job.wait(timeout=180)
    with pytest.raises(JobNotCancellable):
        job.cancel()
    other = Client(system.base, system.create_key("sdk other user"))
    with job.session() as session, other:
        with pytest.raises(NotSessionOwner) as theirs:
            other.session(3).read(0x0)
        assert theirs.value.status == 403
        with pytest.raises(NotSessionOwner), other.session(3).stream() as bus:
            bus.read(0x0)  # the stream is refused with a close frame, mapped the same
        with pytest.raises(AddressOutOfRange) as past:
            session.read(0x1000)
        assert past.value.status == 422
    with pytest.raises(FpgaNotReserved):
        session.read(0x0)  # released by the block
    wait_idle(client, 3)
    with pytest.raises(NoActiveSession):
        client.session(3)
    with pytest.raises(ValidationError):
        client.submit(b"just some notes\n", board=4, filename="notes.txt")
    with pytest.raises(ValidationError):
        client.board(42)
    with pytest.raises(PayloadTooLarge):
        client.submit(b"# padding\n" * 7000, board=4)
    with pytest.raises(JobNotFound):
        client.job(3, uuid.uuid4()).info()
    with pytest.raises(JobNotFound):
        client.job(3, uuid.uuid4()).wait(timeout=10)
    with pytest.raises(Unauthorized), Client(system.base, "fpk_000000000000_wrong") as stranger:
        stranger.boards()


async def test_async_events_resume(system: System) -> None:
    """The asyncio feed resumes the same way (one cut, while events flow)."""
    with CuttingProxy(system.api_port) as proxy:
        async with (
            AsyncClient(system.base, system.api_key) as client,
            AsyncClient(proxy.url, system.api_key) as through_proxy,
        ):
            job = await client.submit(EXAMPLES / "echo_regs.py", board=5)
            await job.wait(timeout=180)
            got: list[int] = []

            async def collect() -> None:
                async for event in through_proxy.events(board=5, types="WishboneResult"):
                    got.append(event.seq)
                    if event.payload["data"] == [0xFEED]:
                        return

            reader = asyncio.create_task(collect())
            async with await job.session() as session:
                while not got:
                    await session.write(0x0, 1)
                for i in range(12):
                    await session.write(0x0, i)
                    if i == 5:
                        assert proxy.cut() == 2
                await session.write(0x0, 0xFEED)
                await asyncio.wait_for(reader, 60)
            truth = []
            async for event in client.events(board=5, types="WishboneResult", after=got[0] - 1):
                truth.append(event.seq)
                if event.seq >= got[-1]:
                    break
    assert got == truth and len(set(got)) == len(got)
    assert proxy.accepted >= 2
