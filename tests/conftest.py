"""Shared fixtures: a real nats-server per test on a free port with a temporary store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from bench.system import SHARED_KIT_DIR
from events.store import EventStore
from events.streams import provision
from hwbridge.build.kits import KitStore
from hwbridge.sandbox import Sandbox
from services.nats.server import NatsServer

#: The virtual boards' kit for tests that build simulators: the one the end-to-end systems
#: share too.
KIT_DIR = SHARED_KIT_DIR


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--board-config",
        metavar="PATH",
        default=None,
        help="board inventory (TOML) naming a real ecp5_evn board; enables tests marked hardware",
    )


async def _quiet(stage: str, line: str) -> None:
    return None


@pytest.fixture(scope="session")
def sim_kit() -> Path:
    """The virtual boards' kit (built once per run)."""
    return asyncio.run(KitStore(KIT_DIR, Sandbox()).ensure("virtual", _quiet))


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[NatsServer]:
    """Locked down as in production: the users and permissions of nats.conf, random passwords."""
    server = NatsServer(tmp_path / "nats")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    """An ``admin`` connection: these tests drive the API, the workers and the tools together on
    one connection, which no single service user may do; test_nats_permissions.py checks each
    service user's limits, and the end-to-end tests run every process as its own user. The
    streams and buckets exist, as ``fpga-cloud up`` leaves them."""
    client = await nats_server.connect()
    await provision(client.jetstream())
    yield client
    await client.drain()


@pytest.fixture
async def store(nc: NATS) -> EventStore:
    return EventStore(nc)
