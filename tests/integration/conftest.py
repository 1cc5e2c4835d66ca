"""API fixtures: the real app on a real nats-server, driven over ASGI in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from events.store import EventStore
from hwbridge.worker import BoardWorker
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.audit.notary import Notary
from services.settings import Settings
from tests.fakes import FakeDriver
from tests.integration.workerkit import FPGA, StartWorker


@pytest.fixture
async def runner(store: EventStore) -> AsyncIterator[ProjectionRunner]:
    r = ProjectionRunner(store, range(10))
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def client(store: EventStore, runner: ProjectionRunner) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(store, runner, Settings(max_upload_bytes=4096))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar is ASGI
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
        yield c


class LiveApi:
    """The app served by uvicorn on a free loopback port, inside the test's event loop."""

    def __init__(self, base: str, runner: ProjectionRunner, notary: Notary) -> None:
        self.base = base
        self.ws = base.replace("http://", "ws://")
        self.runner = runner
        self.notary = notary


@pytest.fixture
async def live_api(store: EventStore) -> AsyncIterator[LiveApi]:
    runner = ProjectionRunner(store, range(10))
    notary = Notary(store)
    app = create_app(store, runner, Settings(), notary)
    await runner.start()
    await notary.start()
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveApi(f"http://127.0.0.1:{port}", runner, notary)
    server.should_exit = True
    await task
    await notary.stop()
    await runner.stop()


@pytest.fixture
async def start_worker(store: EventStore) -> AsyncIterator[StartWorker]:
    """Start workers on demand; every one is stopped before the server goes away."""
    started: list[BoardWorker] = []

    async def start(
        driver: FakeDriver, *, slots: asyncio.Semaphore | None = None, fpga_id: int = FPGA
    ) -> BoardWorker:
        worker = BoardWorker(
            store, fpga_id, driver, build_slots=slots or asyncio.Semaphore(2), lease_seconds=600
        )
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop()
