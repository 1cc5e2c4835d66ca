"""API fixtures: the real app on a real nats-server, driven over ASGI in the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
import msgspec
import pytest
from litestar import Litestar

from events.settings import Settings
from events.store import EventStore
from hwbridge.health import Prober
from hwbridge.worker import BoardWorker
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.api.server import http_server
from services.audit.notary import Notary
from services.nats.server import NatsServer
from tests.fakes import FakeDriver
from tests.integration.workerkit import FPGA, StartWorker
from tests.keys import ALICE, record_test_keys

# Rate limits are off in these fixtures (tests drive hundreds of requests in a burst) and one
# key may hold every board; both limits have their own tests.
TEST_SETTINGS = Settings(max_upload_bytes=4096, rate_limit_per_s=0, max_boards_per_key=10)


@pytest.fixture
async def runner(store: EventStore) -> AsyncIterator[ProjectionRunner]:
    r = ProjectionRunner(store, range(10))
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
async def keyring(store: EventStore) -> AsyncIterator[KeyRing]:
    """The API's key registry, holding the known test keys (alice, bob, an admin)."""
    await record_test_keys(store)
    ring = KeyRing(store)
    await ring.start()
    yield ring
    await ring.stop()


def asgi_client(app: Litestar, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """An HTTP client for ``app`` over ASGI, in the test's event loop."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar is ASGI
    return httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers)


@pytest.fixture
async def client(
    store: EventStore, runner: ProjectionRunner, keyring: KeyRing
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI; requests authenticate as alice unless they send another key."""
    async with asgi_client(create_app(store, runner, TEST_SETTINGS, keyring), ALICE.headers) as c:
        yield c


@contextlib.asynccontextmanager
async def api_replica(
    nats_server: NatsServer, settings: Settings, name: str = "replica", *, dispatch: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """An independent API stack (its own connection, views, key registry, audit notary and
    app, and with ``dispatch`` its waiting-list dispatcher) over ASGI: what a second API
    process is."""
    nc = await nats_server.connect()
    store = EventStore(nc)
    runner = ProjectionRunner(store, range(10))
    await runner.start()
    ring = KeyRing(store)
    await ring.start()
    notary = Notary(store)
    await notary.start()
    app = create_app(store, runner, settings, ring, notary)
    dispatcher = app.state.services.dispatcher
    if dispatch:
        await dispatcher.start()
    try:
        async with asgi_client(app) as client:
            client.base_url = httpx.URL(f"http://{name}")
            yield client
    finally:
        await dispatcher.stop()
        await notary.stop()
        await ring.stop()
        await runner.stop()
        await nc.drain()


class LiveApi:
    """The app served by uvicorn on a free loopback port, inside the test's event loop."""

    def __init__(self, base: str, runner: ProjectionRunner, notary: Notary) -> None:
        self.base = base
        self.ws = base.replace("http://", "ws://")
        self.runner = runner
        self.notary = notary


ServeApi = Callable[[Settings], AbstractAsyncContextManager[LiveApi]]


@pytest.fixture
def serve_api(store: EventStore, keyring: KeyRing) -> ServeApi:
    """Serve the app with some settings over real HTTP: ``async with serve_api(s) as api``."""

    @contextlib.asynccontextmanager
    async def serve(settings: Settings) -> AsyncIterator[LiveApi]:
        settings = msgspec.structs.replace(settings, host="127.0.0.1", port=0)
        runner = ProjectionRunner(store, range(10))
        notary = Notary(store)
        app = create_app(store, runner, settings, keyring, notary)
        await runner.start()
        await notary.start()
        server = http_server(app, settings, lifespan="off")
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield LiveApi(f"http://127.0.0.1:{port}", runner, notary)
        finally:
            server.should_exit = True
            await task
            await notary.stop()
            await runner.stop()

    return serve


@pytest.fixture
async def live_api(serve_api: ServeApi) -> AsyncIterator[LiveApi]:
    async with serve_api(Settings(rate_limit_per_s=0)) as api:
        yield api


@pytest.fixture
async def start_worker(store: EventStore) -> AsyncIterator[StartWorker]:
    """Start workers on demand; every one is stopped before the server goes away."""
    started: list[BoardWorker] = []

    async def start(
        driver: FakeDriver,
        *,
        slots: asyncio.Semaphore | None = None,
        fpga_id: int = FPGA,
        prober: Prober | None = None,
    ) -> BoardWorker:
        worker = BoardWorker(
            store, fpga_id, driver, build_slots=slots or asyncio.Semaphore(2), prober=prober
        )
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop()
