"""What ``sync_interval: always`` (every acknowledged write on disk first) costs on the append
path, against nats-server's default (a flush every two minutes), on a private server each."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

from events.store import EventStore
from events.streams import provision
from events.types import RunStarted
from services.nats.server import DEFAULT_CONFIG, NatsServer


async def append_latency(sync_always: bool, count: int = 2000) -> list[float]:
    """Latency of ``count`` plain appends to the board stream."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "nats.conf"
        text = DEFAULT_CONFIG.read_text()
        if not sync_always:
            text = text.replace("  sync_interval: always\n", "")
        config.write_text(text)
        server = NatsServer(Path(tmp) / "store", config=config)
        await server.start()
        nc = await server.connect()
        try:
            await provision(nc.jetstream())
            store = EventStore(nc)
            samples = []
            for n in range(count):
                t0 = time.perf_counter()
                await store.append(RunStarted(fpga_id=n % 10, job_id=uuid.uuid4()))
                samples.append(time.perf_counter() - t0)
            return samples
        finally:
            await nc.close()
            await server.stop()
