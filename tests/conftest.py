"""Shared fixtures: a real nats-server per test on a free port with a temporary store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS

from events.store import EventStore
from services.natsserver import NatsServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--board-config",
        metavar="PATH",
        default=None,
        help="board inventory (TOML) naming a real ecp5_evn board; enables tests marked hardware",
    )


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    server = NatsServer(tmp_path / "nats")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_server.url)
    yield client
    await client.drain()


@pytest.fixture
async def store(nc: NATS) -> EventStore:
    s = EventStore(nc)
    await s.ensure_streams()
    return s
