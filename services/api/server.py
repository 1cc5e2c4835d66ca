"""The API process: connect, catch the views up with the stream, then serve HTTP."""

from __future__ import annotations

import logging

import nats
import uvicorn

from events.store import EventStore
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.api.reaper import LeaseReaper
from services.audit.notary import Notary
from services.settings import Settings

log = logging.getLogger(__name__)


async def serve(settings: Settings, nats_url: str) -> None:
    """Serve until uvicorn is told to stop (SIGINT/SIGTERM)."""
    nc = await nats.connect(nats_url, max_reconnect_attempts=-1, name="api")
    store = EventStore(nc)
    await store.ensure_streams(settings.stream_replicas)
    runner = ProjectionRunner(store, settings.fpga_ids)
    keyring = KeyRing(store)
    notary = Notary(store)
    app = create_app(store, runner, settings, keyring, notary)
    await keyring.start()
    await runner.start()
    await notary.start()
    reaper = LeaseReaper(runner, app.state.services.bus)
    await reaper.start()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="none",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    try:
        await server.serve()
    finally:
        await reaper.stop()
        await keyring.stop()
        await notary.stop()
        await runner.stop()
        await nc.drain()
