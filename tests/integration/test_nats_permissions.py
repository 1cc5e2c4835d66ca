"""Each service's NATS user may do its job and nothing else, on the locked-down server.

The server has compose.yaml's layout: hwbridge hosts ``a`` (boards 0-4) and ``b`` (5-9). Every
allowed operation goes through the code the services really run (EventStore, ProjectionRunner,
Notary, verify_chain, BuildCache, WishboneResponder). A refused publish or subscribe is not an
exception at the call: nats-server drops the message and sends ``-ERR 'Permissions Violation
for Publish to "<subject>"'`` (or ``Subscription to``), which nats-py passes to the connection's
error callback (lowercased) while the request itself only times out. The tests assert on that
callback, naming the exact subject.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api

from events.connection import NatsAuthError, NatsCredentials, connect
from events.store import EventStore
from events.streams import provision
from events.subjects import (
    AUDIT_STREAM,
    AUDIT_SUBJECT,
    BOARD_STREAM,
    BUILD_BUCKET,
    KEY_STREAM,
    LOG_STREAM,
)
from events.types import BoardReset, JobQueued, LogAppended
from events.wire import (
    OP_READ,
    SESSION_HEADER,
    STATUS_OK,
    Request,
    decode_response,
    encode_request,
)
from hwbridge.cache import BuildCache
from hwbridge.inventory import BoardConfig
from hwbridge.main import register
from hwbridge.streamserver import WishboneResponder
from projections.runner import ProjectionRunner
from services.audit.notary import Notary
from services.audit.verify import verify_chain
from services.nats.auth import ADMIN, API, PROJECTIONS, HwbridgeHost
from services.nats.server import NatsServer
from tests.fakes import FakeDriver

HOSTS = (HwbridgeHost("a", (0, 1, 2, 3, 4)), HwbridgeHost("b", (5, 6, 7, 8, 9)))
HW_A, HW_B = (h.user for h in HOSTS)
SERVICE_USERS = (API, PROJECTIONS, HW_A, HW_B)
DESIGN = b"class Design: pass\n"


@dataclass
class Client:
    """A connection as one user, with the errors the server reported to it."""

    user: str
    nc: NATS
    errors: list[str] = field(default_factory=list)

    @property
    def store(self) -> EventStore:
        return EventStore(self.nc, timeout=5.0)

    async def refused(self, kind: str, subject: str, op: Callable[[], Awaitable[object]]) -> None:
        """``op`` is refused by the server: it reports the violation on ``subject``, and ``op``
        does not succeed (it would only time out, so it is cancelled once the report is in)."""
        expected = f'permissions violation for {kind} to "{subject.lower()}"'
        task = asyncio.ensure_future(op())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        try:
            while not any(expected in e for e in self.errors):
                if task.done() and not task.cancelled() and task.exception() is None:
                    pytest.fail(f"{self.user}: {kind} to {subject} was allowed")
                if loop.time() > deadline:
                    pytest.fail(f"{self.user}: no refusal of {kind} to {subject}: {self.errors}")
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def publish_refused(self, subject: str, payload: bytes = b"{}") -> None:
        await self.refused("publish", subject, lambda: self.nc.request(subject, payload, 5))

    async def subscribe_refused(self, subject: str) -> None:
        async def sub() -> None:
            await self.nc.subscribe(subject)
            await self.nc.flush()
            await asyncio.sleep(10)  # the refusal arrives asynchronously

        await self.refused("subscription", subject, sub)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    s = NatsServer(tmp_path / "nats", hosts=HOSTS)
    await s.start()
    admin = await s.connect(ADMIN)
    await provision(admin.jetstream())
    await admin.drain()
    yield s
    await s.stop()


@pytest.fixture
async def clients(server: NatsServer) -> AsyncIterator[dict[str, Client]]:
    out: dict[str, Client] = {}
    for user in (ADMIN, *SERVICE_USERS):
        errors: list[str] = []

        async def on_error(exc: Exception, errors: list[str] = errors) -> None:
            errors.append(str(exc))

        nc = await connect(server.url, server.credentials(user), name=user, error_cb=on_error)
        out[user] = Client(user, nc, errors)
    yield out
    for client in out.values():
        await client.nc.close()


async def _queue_job(store: EventStore, fpga_id: int) -> int:
    event = JobQueued(
        fpga_id=fpga_id, job_id=uuid.uuid4(), owner="o", design_sha256="0" * 64, design_size=1
    )
    return (await store.append(event, expected_seq=0)).seq


# ------------------------------------------------------------------------------------ api


async def test_api_appends_commands_reads_streams_stores_designs_and_keys(
    clients: dict[str, Client],
) -> None:
    api_ = clients[API]
    store = api_.store
    for fpga_id in (2, 7):  # any board
        await _queue_job(store, fpga_id)
    assert [s.event.fpga_id for s in await store.read_board(7)] == [7]
    assert await store.last_seq() == 2
    await store.put_design("d" * 64, DESIGN)
    assert await store.get_design("d" * 64) == DESIGN
    await clients[HW_A].store.append_log(
        LogAppended(fpga_id=2, job_id=(job := uuid.uuid4()), stage="build", lines=["x"])
    )
    assert [e.lines for e in await store.read_logs(2, job)] == [["x"]]

    notary = Notary(store)  # extends the audit chain on FPGA_AUDIT
    await notary.start()
    try:
        for _ in range(100):
            if notary.count == 2:
                break
            await asyncio.sleep(0.02)
        assert notary.count == 2
    finally:
        await notary.stop()

    ack = await api_.nc.request("fpgakey.k1.KeyCreated", b'{"hash": "salted"}', timeout=5)
    assert b'"stream":"FPGA_KEYS"' in ack.data
    keys = [r.subject async for r in store.read_raw("fpgakey.>", stream=KEY_STREAM)]
    assert keys == ["fpgakey.k1.KeyCreated"]
    assert not api_.errors


async def test_api_sends_wishbone_frames_to_the_board_owner(clients: dict[str, Client]) -> None:
    driver = FakeDriver(programmed_at_start=True)
    driver.memory[0] = 42
    session = uuid.uuid4()
    responder = WishboneResponder(clients[HW_B].nc, 7, driver, lambda: session)
    await responder.start()
    await clients[HW_B].nc.flush()
    try:
        frame = encode_request(Request(op=OP_READ, fixed=False, count=1, address=0))
        reply = await clients[API].nc.request(
            "fpgawb.7", frame, timeout=5, headers={SESSION_HEADER: str(session)}
        )
        assert decode_response(reply.data) == (STATUS_OK, 1, [42])
    finally:
        await responder.stop()
    assert not clients[HW_B].errors


async def test_api_may_not_write_the_build_cache_or_answer_for_a_board(
    clients: dict[str, Client],
) -> None:
    api_ = clients[API]
    await api_.publish_refused(f"$O.{BUILD_BUCKET}.C.chunk")
    await api_.publish_refused("fpgalog.3.00ff")
    await api_.subscribe_refused("fpgawb.3")
    await api_.subscribe_refused(f"_INBOX.{HW_A}.x")  # another user's replies


# ------------------------------------------------------------------------------------ projections


async def test_projections_read_every_stream(clients: dict[str, Client]) -> None:
    writer = clients[API].store
    seq = await _queue_job(writer, 3)
    await clients[API].nc.request("fpgakey.k1.KeyCreated", b"{}", timeout=5)
    notary = Notary(writer)
    await notary.start()

    reader = clients[PROJECTIONS]
    live: asyncio.Queue[str] = asyncio.Queue()

    async def on_live(msg: object) -> None:
        live.put_nowait(getattr(msg, "subject", ""))

    await reader.nc.subscribe("fpga.>", cb=on_live)  # watch events live
    await reader.nc.flush()
    runner = ProjectionRunner(reader.store, range(10))
    await runner.start()
    try:
        assert runner.views.applied_seq == seq
        await _queue_job(writer, 4)
        await runner.wait_for(seq + 1)
        assert runner.views.boards[4].state == "queued"
        assert await asyncio.wait_for(live.get(), 5) == "fpga.4.JobQueued"
        for _ in range(100):
            if notary.count == 2:
                break
            await asyncio.sleep(0.02)
        verdict = await verify_chain(reader.store)
        assert verdict.ok and verdict.checked == 2
        keys = [r.subject async for r in reader.store.read_raw("fpgakey.>", stream=KEY_STREAM)]
        assert keys == ["fpgakey.k1.KeyCreated"]
        direct = await reader.nc.jetstream().get_msg(BOARD_STREAM, seq, direct=True)
        assert direct.subject == "fpga.3.JobQueued"
    finally:
        await runner.stop()
        await notary.stop()
    assert not reader.errors


async def test_projections_publish_nothing(clients: dict[str, Client]) -> None:
    reader = clients[PROJECTIONS]
    for subject in (
        "fpga.3.JobQueued",
        "fpgalog.3.00ff",
        AUDIT_SUBJECT,
        "fpgakey.x.KeyCreated",
        "fpgawb.3",
        "$O.fpga-designs.M.x",
    ):
        await reader.publish_refused(subject)
    await reader.subscribe_refused("fpgawb.3")


# ------------------------------------------------------------------------------------ hwbridge


@pytest.mark.parametrize(("user", "own", "other"), [(HW_A, 1, 7), (HW_B, 7, 1)])
async def test_a_hwbridge_host_appends_only_for_its_own_boards(
    clients: dict[str, Client], user: str, own: int, other: int
) -> None:
    hw = clients[user]
    store = hw.store
    await register(store, BoardConfig(fpga_id=own, host=user.removeprefix("hwbridge-")))
    await store.append(BoardReset(fpga_id=own, job_id=uuid.uuid4()))
    await store.append_log(LogAppended(fpga_id=own, job_id=uuid.uuid4(), stage="s", lines=["l"]))
    types = [type(s.event).__name__ for s in await store.read_board(own)]
    assert types == ["BoardRegistered", "BoardReset"]
    assert not hw.errors

    await hw.refused(
        "publish",
        f"fpga.{other}.BoardReset",
        lambda: store.append(BoardReset(fpga_id=other, job_id=uuid.uuid4())),
    )
    await hw.publish_refused(f"fpgalog.{other}.00ff")
    await hw.subscribe_refused(f"fpgawb.{other}")


async def test_a_refused_append_reports_the_subject_and_times_out(
    clients: dict[str, Client],
) -> None:
    """What a service sees: the error callback names the subject; the append times out."""
    hw = clients[HW_A]
    with pytest.raises(NatsTimeout):
        await EventStore(hw.nc, timeout=0.5).append(BoardReset(fpga_id=7, job_id=uuid.uuid4()))
    assert hw.errors == ['nats: permissions violation for publish to "fpga.7.boardreset"']
    assert [s.seq async for s in clients[ADMIN].store.read("fpga.>")] == []


async def test_hwbridge_gets_designs_and_shares_the_build_cache(
    clients: dict[str, Client],
) -> None:
    await clients[API].store.put_design("e" * 64, DESIGN)
    a, b = clients[HW_A], clients[HW_B]
    assert await a.store.get_design("e" * 64) == DESIGN
    await BuildCache(a.nc).put("k" * 64, b"simulator" * 10_000, {"kind": "virtual"})
    cache_b = BuildCache(b.nc)
    assert await cache_b.get("k" * 64) == b"simulator" * 10_000
    assert await cache_b.meta("k" * 64) == {"kind": "virtual"}
    assert not a.errors and not b.errors


async def test_racing_writers_of_one_design_or_build_need_no_permission_they_lack(
    clients: dict[str, Client],
) -> None:
    """Two API requests storing one design, two hosts storing one build: nothing is purged or
    replaced, so nothing is refused (the server would report a purge as a violation)."""
    api_ = clients[API]
    assert sorted(
        await asyncio.gather(*(api_.store.put_design("f" * 64, DESIGN) for _ in range(6)))
    ) == [False] * 5 + [True]
    a, b = clients[HW_A], clients[HW_B]
    build = b"compiled" * 50_000  # several chunks
    await asyncio.gather(
        *(BuildCache(c.nc).put("c" * 64, build, {"host": c.user}) for c in (a, b, a, b))
    )
    assert await BuildCache(b.nc).get("c" * 64) == build
    assert not api_.errors and not a.errors and not b.errors


async def test_hwbridge_neither_reads_nor_writes_keys_audit_or_designs(
    clients: dict[str, Client],
) -> None:
    hw = clients[HW_A]
    await hw.publish_refused("fpgakey.x.KeyCreated")
    await hw.publish_refused(AUDIT_SUBJECT)
    await hw.publish_refused("$O.fpga-designs.C.chunk")
    for stream in (KEY_STREAM, AUDIT_STREAM, LOG_STREAM):
        await hw.refused(
            "publish",
            f"$JS.API.CONSUMER.CREATE.{stream}",
            functools.partial(
                hw.nc.jetstream(timeout=5).subscribe, ">", stream=stream, ordered_consumer=True
            ),
        )
    await hw.refused(
        "publish",
        f"$JS.API.DIRECT.GET.{KEY_STREAM}",
        lambda: hw.nc.jetstream(timeout=5).get_msg(KEY_STREAM, 1, direct=True),
    )
    for subject in ("fpgakey.>", "fpga.>", f"_INBOX.{API}.>"):
        await hw.subscribe_refused(subject)


# ------------------------------------------------------------------------------------ everyone


@pytest.mark.parametrize("user", SERVICE_USERS)
async def test_only_admin_changes_streams_or_deletes_events(
    clients: dict[str, Client], user: str
) -> None:
    client = clients[user]
    js = client.nc.jetstream(timeout=5)
    config = api.StreamConfig(name="MINE", subjects=["mine.>"])
    api_ = "$JS.API"
    refusals: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        (f"{api_}.STREAM.DELETE.{BOARD_STREAM}", lambda: js.delete_stream(BOARD_STREAM)),
        (f"{api_}.STREAM.PURGE.{BOARD_STREAM}", lambda: js.purge_stream(BOARD_STREAM)),
        (f"{api_}.STREAM.MSG.DELETE.{BOARD_STREAM}", lambda: js.delete_msg(BOARD_STREAM, 1)),
        (f"{api_}.STREAM.PURGE.OBJ_{BUILD_BUCKET}", lambda: js.purge_stream(f"OBJ_{BUILD_BUCKET}")),
        (f"{api_}.STREAM.DELETE.{KEY_STREAM}", lambda: js.delete_stream(KEY_STREAM)),
        (f"{api_}.STREAM.CREATE.MINE", lambda: js.add_stream(config)),
        (f"{api_}.STREAM.UPDATE.{LOG_STREAM}", lambda: js.update_stream(
            api.StreamConfig(name=LOG_STREAM, subjects=["fpgalog.*.*"], max_age=1.0))),
    ]  # fmt: skip
    for subject, op in refusals:
        await client.refused("publish", subject, op)
    admin = clients[ADMIN].nc.jetstream()
    assert {s.config.name for s in await admin.streams_info()} >= {BOARD_STREAM, KEY_STREAM}
    assert "MINE" not in {s.config.name for s in await admin.streams_info()}


@pytest.mark.parametrize("user", SERVICE_USERS)
async def test_a_wrong_password_is_refused(server: NatsServer, user: str) -> None:
    with pytest.raises(NatsAuthError, match=f"refused user '{user}'"):
        await connect(server.url, NatsCredentials(user, "Wrong0password0for0sure"), name="t")


async def test_no_credentials_no_connection(server: NatsServer) -> None:
    with pytest.raises(NatsAuthError, match="without credentials"):
        await connect(server.url, None, name="anonymous")
    with pytest.raises(NatsAuthError):
        await connect(server.url, NatsCredentials("nobody", server.passwords[API]), name="x")
