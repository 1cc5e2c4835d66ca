"""Full-replay rate: fold a stream of many events into fresh views, on a private nats-server."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from events.store import EventStore
from events.streams import provision
from events.types import (
    BoardEvent,
    BoardReset,
    BuildStarted,
    BuildSucceeded,
    JobQueued,
    Programmed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunQueued,
    RunStarted,
    SessionOpened,
    WishboneResult,
)
from projections.runner import ProjectionRunner
from services.nats.server import NatsServer


def _session(fpga_id: int, runs: int) -> list[BoardEvent]:
    """One realistic board session: build, program, ``runs`` transactions, reset."""
    job = uuid.uuid4()
    out: list[BoardEvent] = [
        JobQueued(
            fpga_id=fpga_id, job_id=job, owner="bench", design_sha256="0" * 64, design_size=100
        ),
        BuildStarted(fpga_id=fpga_id, job_id=job),
        BuildSucceeded(
            fpga_id=fpga_id,
            job_id=job,
            artifact="x",
            duration_s=1.0,
            window_base=0x4000_0000,
            window_size=0x1000,
        ),
        ProgrammingStarted(fpga_id=fpga_id, job_id=job),
        Programmed(fpga_id=fpga_id, job_id=job),
        SessionOpened(
            fpga_id=fpga_id,
            job_id=job,
            session_id=uuid.uuid4(),
            owner="bench",
            expires_at=BuildStarted(fpga_id=0, job_id=job).occurred_at,
        ),
    ]
    for i in range(runs):
        run = uuid.uuid4()
        out += [
            RunQueued(fpga_id=fpga_id, job_id=run, owner="bench", op=2, address=4 * (i % 64)),
            RunStarted(fpga_id=fpga_id, job_id=run),
            WishboneResult(fpga_id=fpga_id, job_id=run, ok=True, data=[i]),
        ]
    reset = uuid.uuid4()
    out += [
        ResetQueued(fpga_id=fpga_id, job_id=reset, owner="bench"),
        ResetStarted(fpga_id=fpga_id, job_id=reset),
        BoardReset(fpga_id=fpga_id, job_id=reset),
    ]
    return out


async def replay_rate(total: int = 100_000) -> tuple[int, float]:
    """Append ``total`` events, then time a fresh ``ProjectionRunner`` catching up with them."""
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        server = NatsServer(Path(tmp) / "nats")
        await server.start()
        try:
            nc = await server.connect()
            store = EventStore(nc)
            await provision(store.js)
            events: list[BoardEvent] = []
            while len(events) < total:
                events += _session(len(events) % 10, runs=30)
            batch = 2000
            for i in range(0, len(events), batch):
                await asyncio.gather(*(store.append(e) for e in events[i : i + batch]))
            started = time.perf_counter()
            runner = ProjectionRunner(store, range(10))
            await runner.start()
            elapsed = time.perf_counter() - started
            await runner.stop()
            await nc.close()
            return len(events), len(events) / elapsed
        finally:
            await server.stop()
