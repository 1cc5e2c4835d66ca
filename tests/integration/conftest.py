"""API fixtures: the real app on a real nats-server, driven over ASGI in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from events.store import EventStore
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.settings import Settings


@pytest.fixture
async def runner(store: EventStore) -> AsyncIterator[ProjectionRunner]:
    r = ProjectionRunner(store, range(10))
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def client(store: EventStore, runner: ProjectionRunner) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(store, runner, Settings(max_upload_bytes=4096))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c
