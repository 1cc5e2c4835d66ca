"""The API process: connect, catch the views up with the stream, then serve HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable

import uvicorn
from litestar import Litestar
from nats.aio.client import Client as NATS

from events.connection import (
    API_USER,
    connect,
    credentials_from_env,
    forget_credentials_env,
    projections_credentials_from_env,
    wait_for_streams,
)
from events.settings import Settings
from events.store import EventStore
from events.streams import API_STREAMS
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from services.api.app import create_app
from services.api.httpguard import HttpLimits, guarded
from services.api.orphans import OrphanStreams, Presence
from services.api.reaper import LeaseReaper
from services.audit.notary import Notary

log = logging.getLogger(__name__)


#: Largest WebSocket message: a Wishbone stream frame is at most 16 KiB.
WS_MAX_BYTES = 1024 * 1024


def http_server(app: Litestar, settings: Settings, *, lifespan: str = "on") -> uvicorn.Server:
    """uvicorn on ``settings.host:port`` (0: a free port) with the connection limits of
    :mod:`services.api.httpguard`."""
    limits = HttpLimits(
        head_timeout_s=settings.head_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        max_connections_per_address=settings.max_connections_per_address,
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="none",
        http=guarded(limits),
        ws_max_size=WS_MAX_BYTES,
        access_log=False,
        log_level="warning",
        lifespan=lifespan,  # type: ignore[arg-type]
    )
    return uvicorn.Server(config)


async def serve(settings: Settings, nats_url: str) -> None:
    """Serve until uvicorn is told to stop (SIGINT/SIGTERM).

    Two NATS connections: ``api`` (FPGA_CLOUD_NATS_USER/_PASSWORD) appends commands and serves
    the reads, and the read-only ``projections`` (FPGA_CLOUD_NATS_PROJECTIONS_PASSWORD; unset:
    the same connection) feeds the views.
    """
    credentials = credentials_from_env(API_USER)
    views_credentials = projections_credentials_from_env()
    forget_credentials_env()
    reconnects: list[Callable[[], None]] = []

    async def reconnected() -> None:
        for count in reconnects:
            count()

    nc = await connect(
        nats_url, credentials, name="api", max_reconnect_attempts=-1, reconnected_cb=reconnected
    )
    store = EventStore(nc)
    await wait_for_streams(store.js, API_STREAMS)
    views_nc: NATS | None = None
    if views_credentials is not None:
        views_nc = await connect(
            nats_url, views_credentials, name="projections", max_reconnect_attempts=-1
        )
    runner = ProjectionRunner(EventStore(views_nc) if views_nc else store, settings.fpga_ids)
    keyring = KeyRing(store)
    notary = Notary(store)
    app = create_app(store, runner, settings, keyring, notary)
    reconnects.append(app.state.services.metrics.reconnects.inc)
    instance = app.state.services.instance_id
    presence = Presence(nc, instance)
    await presence.start()
    await keyring.start()
    await runner.start()
    await notary.start()
    reaper = LeaseReaper(runner, app.state.services.bus)
    await reaper.start()
    orphans = OrphanStreams(store, runner, instance)
    await orphans.start()
    dispatcher = app.state.services.dispatcher
    await dispatcher.start()
    server = http_server(app, settings)
    try:
        await server.serve()
    finally:
        await dispatcher.stop()
        await orphans.stop()
        await reaper.stop()
        await presence.stop()
        await keyring.stop()
        await notary.stop()
        await runner.stop()
        if views_nc is not None:
            await views_nc.drain()
        await nc.drain()
