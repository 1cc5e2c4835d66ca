"""The per-key board limit holds across API replicas: it is decided in the event store.

Each submit appends its ``JobQueued`` together with a ``BoardClaimed`` on the key's holdings,
both with their expected sequences, in one atomic batch; a replica that decided on stale
holdings is refused by the server, catches up and decides again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from msgspec.structs import replace

from events.farm import BoardClaimed
from events.store import EventStore
from events.types import JobQueued
from projections.keyring import KeyRing
from services.audit.verify import verify_chain
from services.nats.server import NatsServer
from tests.integration.conftest import TEST_SETTINGS, api_replica
from tests.keys import ALICE, BOB

LIMIT = 2
BOARDS = range(8)
ROUNDS = 10
DESIGN = b"from migen import *\n"
SETTINGS = replace(TEST_SETTINGS, max_boards_per_key=LIMIT)


@pytest.fixture
async def replicas(
    nats_server: NatsServer, keyring: KeyRing
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two API replicas on one server; the test keys are recorded (``keyring``)."""
    async with (
        api_replica(nats_server, SETTINGS, "replica-a") as a,
        api_replica(nats_server, SETTINGS, "replica-b") as b,
    ):
        yield [a, b]


async def _submit(client: httpx.AsyncClient, fpga_id: int, key: dict[str, str]) -> httpx.Response:
    files = {"file": ("design.py", DESIGN)}
    return await client.post(f"/fpga/{fpga_id}/submit", files=files, headers=key)


def _outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    out: Counter[tuple[int, str | None]] = Counter()
    for r in responses:
        out[(r.status_code, r.json()["detail"]["error"] if r.status_code >= 400 else None)] += 1
    return out


async def test_two_replicas_racing_never_give_one_key_more_boards_than_its_limit(
    replicas: list[httpx.AsyncClient], store: EventStore
) -> None:
    a, b = replicas
    for _ in range(ROUNDS):
        calls = [_submit(a if i % 2 else b, i, ALICE.headers) for i in BOARDS]
        responses = await asyncio.gather(*calls)
        assert _outcomes(responses) == {
            (202, None): LIMIT,
            (409, "board_limit_reached"): len(BOARDS) - LIMIT,
        }
        # Free the boards for the next round: cancel the queued jobs (no worker runs here).
        for r in responses:
            if r.status_code == 202:
                body = r.json()
                cancel = await a.delete(
                    f"/fpga/{body['fpga_id']}/jobs/{body['job_id']}", headers=ALICE.headers
                )
                assert cancel.status_code == 204, cancel.text

                async def idle(fpga_id: int = body["fpga_id"]) -> bool:
                    board = (await b.get(f"/fpga/{fpga_id}", headers=ALICE.headers)).json()
                    return bool(board["state"] == "idle")

                for _ in range(200):
                    if await idle():
                        break
                    await asyncio.sleep(0.01)
    # What the stream holds agrees: never more than the limit queued at once for the key.
    events = [s.event async for s in store.read("fpga.>")]
    assert sum(isinstance(e, JobQueued) for e in events) == ROUNDS * LIMIT
    claims = [r async for r in store.read_raw("fpgafarm.>") if b"BoardClaimed" in r.data]
    assert len(claims) == ROUNDS * LIMIT


async def test_another_key_is_not_held_back_by_a_key_at_its_limit(
    replicas: list[httpx.AsyncClient],
) -> None:
    a, b = replicas
    assert (await _submit(a, 0, ALICE.headers)).status_code == 202
    assert (await _submit(b, 1, ALICE.headers)).status_code == 202
    refused = await _submit(a, 2, ALICE.headers)
    assert (refused.status_code, refused.json()["detail"]["error"]) == (409, "board_limit_reached")
    assert (await _submit(b, 3, BOB.headers)).status_code == 202


async def test_claims_are_part_of_the_audited_history(
    replicas: list[httpx.AsyncClient], store: EventStore
) -> None:
    a, _ = replicas
    assert (await _submit(a, 4, ALICE.headers)).status_code == 202
    last = await store.last_seq()
    claims = [r async for r in store.read_raw("fpgafarm.>")]
    assert [r.subject.rsplit(".", 1)[-1] for r in claims] == [BoardClaimed.__name__]
    for _ in range(200):  # each replica's notary links every message of the board stream
        report = await verify_chain(store)
        if report.checked >= last:
            break
        await asyncio.sleep(0.02)
    assert report.ok and report.checked == last
