"""Designs and build artifacts are written once: racing writers store one copy, a refused submit
stores nothing, and nothing needs a permission its NATS user lacks.

The API here connects as the ``api`` user of the locked-down server (no purge, no stream
changes), as in production: the race that used to end in a purge refused by the server (and a
500 after the request timed out) is run many rounds over.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import msgspec
import pytest
from nats.aio.client import Client as NATS

from events.connection import API_USER, connect
from events.objects import chunk_subject, meta_subject, object_stream, put_once
from events.publish import publish_acked
from events.store import EventStore
from events.subjects import DESIGN_BUCKET
from events.types import JobCancelled, JobQueued
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.nats.server import NatsServer
from tests.integration.conftest import TEST_SETTINGS, asgi_client
from tests.integration.contract import assert_error
from tests.keys import ALICE, BOB

ROUNDS = 20
CLIENTS = 20
BOARD = 3


@dataclass
class ApiProcess:
    """The API's parts on an ``api``-user connection, with the errors the server reported."""

    store: EventStore
    runner: ProjectionRunner
    client: httpx.AsyncClient
    errors: list[str] = field(default_factory=list)


@pytest.fixture
async def api(
    nats_server: NatsServer, store: EventStore, keyring: KeyRing
) -> AsyncIterator[ApiProcess]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await connect(
        nats_server.url, nats_server.credentials(API_USER), name="api", error_cb=on_error
    )
    api_store = EventStore(nc)
    runner = ProjectionRunner(api_store, range(10))
    await runner.start()
    ring = KeyRing(api_store)
    await ring.start()
    app = create_app(api_store, runner, TEST_SETTINGS, ring)
    async with asgi_client(app, ALICE.headers) as client:
        yield ApiProcess(api_store, runner, client, errors)
    await ring.stop()
    await runner.stop()
    await nc.drain()


async def messages_on(nc: NATS, stream: str, subject: str) -> int:
    info = await nc.jetstream().stream_info(stream, subjects_filter=subject)
    return sum((info.state.subjects or {}).values())


async def design_writes(nc: NATS, sha: str) -> tuple[int, int]:
    """(chunks, metadata records) stored for one design."""
    stream = object_stream(DESIGN_BUCKET)
    chunks = await messages_on(nc, stream, chunk_subject(DESIGN_BUCKET, sha))
    metas = await messages_on(nc, stream, meta_subject(DESIGN_BUCKET, sha))
    return chunks, metas


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    out: Counter[tuple[int, str | None]] = Counter()
    for r in responses:
        out[(r.status_code, r.json()["detail"]["error"] if r.status_code >= 400 else None)] += 1
    return out


async def free_board(admin: EventStore, api: ApiProcess, job_id: str) -> None:
    """What a worker would do with the winner's job: here it is cancelled, the board idle."""
    seq = (await admin.append(JobCancelled(fpga_id=BOARD, job_id=uuid.UUID(job_id)))).seq
    await api.runner.wait_for(seq)


async def test_racing_submits_of_one_design_store_one_copy_and_never_fail(
    api: ApiProcess, store: EventStore, nc: NATS
) -> None:
    stream = object_stream(DESIGN_BUCKET)
    for round_ in range(ROUNDS):
        design = f"# round {round_}\nclass Design: pass\n".encode()
        sha = hashlib.sha256(design).hexdigest()
        before = await store.last_seq(stream)
        responses = await asyncio.gather(
            *(
                api.client.post(f"/fpga/{BOARD}/submit", files={"file": ("design.py", design)})
                for _ in range(CLIENTS)
            )
        )
        assert outcomes(responses) == {(202, None): 1, (409, "fpga_not_idle"): CLIENTS - 1}
        # One chunk and its metadata: every write to the bucket counts, purged or not.
        assert await store.last_seq(stream) - before == 2, f"round {round_}"
        assert await design_writes(nc, sha) == (1, 1)
        assert await store.get_design(sha) == design
        winner = next(r for r in responses if r.status_code == 202)
        await free_board(store, api, winner.json()["job_id"])
    assert not [e for e in api.errors if "permissions violation" in e]


async def test_racing_submits_of_different_designs_store_only_the_winners(
    api: ApiProcess, store: EventStore, nc: NATS
) -> None:
    for round_ in range(ROUNDS // 2):
        designs = [f"# {round_}.{i}\n".encode() for i in range(CLIENTS)]
        responses = await asyncio.gather(
            *(
                api.client.post(f"/fpga/{BOARD}/submit", files={"file": ("design.py", d)})
                for d in designs
            )
        )
        assert outcomes(responses) == {(202, None): 1, (409, "fpga_not_idle"): CLIENTS - 1}
        stored = [
            d for d in designs if await design_writes(nc, hashlib.sha256(d).hexdigest()) != (0, 0)
        ]
        winner = next(r for r in responses if r.status_code == 202)
        queued = [s.event for s in await store.read_board(BOARD) if isinstance(s.event, JobQueued)]
        won = next(e for e in queued if str(e.job_id) == winner.json()["job_id"])
        assert [hashlib.sha256(d).hexdigest() for d in stored] == [won.design_sha256]
        await free_board(store, api, winner.json()["job_id"])


async def test_one_design_on_many_boards_at_once_is_stored_once(api: ApiProcess, nc: NATS) -> None:
    design = b"# everywhere\n"
    responses = await asyncio.gather(
        *(api.client.post(f"/fpga/{i}/submit", files={"file": ("d.py", design)}) for i in range(10))
    )
    assert [r.status_code for r in responses] == [202] * 10
    assert await design_writes(nc, hashlib.sha256(design).hexdigest()) == (1, 1)
    assert not api.errors


async def test_refused_submits_store_nothing(api: ApiProcess, nc: NATS) -> None:
    first = await api.client.post("/fpga/4/submit", files={"file": ("d.py", b"# first\n")})
    assert first.status_code == 202
    refused = {
        409: (b"# the board is busy\n", "/fpga/4/submit", ALICE),
        413: (b"#" * (TEST_SETTINGS.max_upload_bytes + 1), "/fpga/5/submit", ALICE),
        422: (b"\xff\xfe not utf-8", "/fpga/5/submit", ALICE),
        401: (b"# no key\n", "/fpga/5/submit", None),
    }
    for status, (design, path, key) in refused.items():
        headers = key.headers if key else {"X-API-Key": ""}
        r = await api.client.post(path, files={"file": ("d.py", design)}, headers=headers)
        assert r.status_code == status, r.text
        assert await design_writes(nc, hashlib.sha256(design).hexdigest()) == (0, 0), status


async def test_a_submit_past_the_board_limit_stores_nothing(
    nats_server: NatsServer, store: EventStore, keyring: KeyRing, nc: NATS
) -> None:
    runner = ProjectionRunner(store, range(10))
    await runner.start()
    settings = msgspec.structs.replace(TEST_SETTINGS, max_boards_per_key=1)
    app = create_app(store, runner, settings, keyring)
    try:
        async with asgi_client(app, BOB.headers) as client:
            ok = await client.post("/fpga/1/submit", files={"file": ("d.py", b"# one\n")})
            assert ok.status_code == 202
            over = await client.post("/fpga/2/submit", files={"file": ("d.py", b"# two\n")})
            assert_error(over, 409, "board_limit_reached")
        assert await design_writes(nc, hashlib.sha256(b"# two\n").hexdigest()) == (0, 0)
    finally:
        await runner.stop()


async def test_put_once_writes_a_name_once_whoever_races(nc: NATS, store: EventStore) -> None:
    data = os.urandom(700_000)  # six chunks
    name = hashlib.sha256(data).hexdigest()
    results = await asyncio.gather(*(put_once(nc, DESIGN_BUCKET, name, data) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    assert await design_writes(nc, name) == (6, 1)
    assert await store.get_design(name) == data
    assert await put_once(nc, DESIGN_BUCKET, name, data) is False
    assert await design_writes(nc, name) == (6, 1)


async def test_put_once_finishes_a_whole_chunk_left_without_its_metadata(
    nc: NATS, store: EventStore
) -> None:
    data = b"# a writer died after its chunk\n"
    name = hashlib.sha256(data).hexdigest()
    await publish_acked(nc, chunk_subject(DESIGN_BUCKET, name), data, None, timeout=5)
    assert await put_once(nc, DESIGN_BUCKET, name, data, chunk_size=len(data)) is True
    assert await design_writes(nc, name) == (1, 1)
    assert await store.get_design(name) == data


async def test_a_worker_waits_for_a_design_stored_after_its_job(store: EventStore) -> None:
    data = b"# stored a moment after JobQueued\n"
    sha = hashlib.sha256(data).hexdigest()

    async def later() -> None:
        await asyncio.sleep(0.3)
        await store.put_design(sha, data)

    task = asyncio.create_task(later())
    assert await store.get_design(sha, wait_s=5) == data
    await task


async def test_reads_keep_answering_and_commands_answer_503_while_nats_is_down(
    api: ApiProcess, nats_server: NatsServer
) -> None:
    await nats_server.stop()
    listed = await api.client.get("/fpga")
    assert listed.status_code == 200 and len(listed.json()) == 10
    r = await api.client.post("/fpga/6/submit", files={"file": ("d.py", b"# during an outage\n")})
    assert_error(r, 503, "nats_unavailable")
    assert r.headers["retry-after"] == "1"
    await nats_server.start()  # the same port and store: the connections come back
    for _ in range(200):
        if api.store.connected and (await api.client.get("/health")).status_code == 200:
            break
        await asyncio.sleep(0.05)
    assert (await api.client.get("/health")).status_code == 200
