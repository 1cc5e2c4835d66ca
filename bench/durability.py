"""What ``sync_interval: always`` (every acknowledged write on disk first) costs on the append
path, against nats-server's default (a flush every two minutes): on a private single server, and
on a private three-node cluster with the stream replicated three times."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from nats.errors import Error as NatsError

from bench.system import free_port
from events.store import EventStore
from events.streams import provision
from events.types import RunStarted
from services.nats.auth import new_password, users
from services.nats.server import DEFAULT_CONFIG, DEFAULT_HOSTS, ClusterNode, NatsServer

SYNC_ALWAYS = "  sync_interval: always\n"


@contextlib.asynccontextmanager
async def _servers(tmp: Path, sync_always: bool, nodes: int) -> AsyncIterator[NatsServer]:
    """``nodes`` servers (one, or a cluster) with or without the sync setting; yields the first."""
    config = tmp / "nats.conf"
    text = DEFAULT_CONFIG.read_text()
    config.write_text(text if sync_always else text.replace(SYNC_ALWAYS, ""))
    passwords = {u.name: new_password() for u in users(DEFAULT_HOSTS)}
    ports = [(free_port(), free_port()) for _ in range(nodes)]
    servers = [
        NatsServer(
            tmp / f"store-{i}", port=port, config=config, passwords=passwords,
            node=ClusterNode(f"n{i}", route, tuple(r for _, r in ports if r != route))
            if nodes > 1 else None,
        )
        for i, (port, route) in enumerate(ports)
    ]  # fmt: skip
    try:
        for server in servers:
            await server.start()
        yield servers[0]
    finally:
        for server in servers:
            await server.stop()


async def append_latency(sync_always: bool, count: int = 2000, *, nodes: int = 1) -> list[float]:
    """Latency of ``count`` plain appends to the board stream (``nodes`` replicas)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with _servers(Path(tmp), sync_always, nodes) as server:
            nc = await server.connect()
            try:
                deadline = time.monotonic() + 60
                while True:  # a cluster takes a moment to elect its meta leader
                    try:
                        await provision(nc.jetstream(), nodes)
                        break
                    except NatsError:
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.2)
                store = EventStore(nc)
                samples = []
                for n in range(count):
                    t0 = time.perf_counter()
                    await store.append(RunStarted(fpga_id=n % 10, job_id=uuid.uuid4()))
                    samples.append(time.perf_counter() - t0)
                return samples
            finally:
                await nc.close()
