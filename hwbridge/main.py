"""The hwbridge process: one worker per owned board, on a shared NATS connection."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import nats

from events.store import EventStore
from hwbridge.drivers.virtual import VirtualBoard
from hwbridge.virtual.build import BuildLimits
from hwbridge.worker import BoardWorker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BridgeConfig:
    """What one hwbridge host runs: its boards, where it keeps builds, and its limits."""

    nats_url: str
    fpga_ids: tuple[int, ...]
    data_dir: Path
    lease_seconds: int = 3600
    stream_replicas: int = 1
    build_slots: int = field(default_factory=lambda: os.cpu_count() or 1)
    build_limits: BuildLimits = field(default_factory=BuildLimits)


async def start_workers(store: EventStore, config: BridgeConfig) -> list[BoardWorker]:
    """Create and start one worker per board (each replays its board's history first)."""
    slots = asyncio.Semaphore(max(1, config.build_slots))
    workers = [
        BoardWorker(
            store,
            fpga_id,
            VirtualBoard(fpga_id, config.data_dir, config.build_limits),
            build_slots=slots,
            lease_seconds=config.lease_seconds,
        )
        for fpga_id in config.fpga_ids
    ]
    await asyncio.gather(*(w.start() for w in workers))
    return workers


async def serve(config: BridgeConfig) -> None:
    """Run until SIGINT/SIGTERM, then stop every simulation this host started."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    nc = await nats.connect(config.nats_url, max_reconnect_attempts=-1, name="hwbridge")
    store = EventStore(nc)
    await store.ensure_streams(config.stream_replicas)
    workers = await start_workers(store, config)
    ids = ",".join(map(str, config.fpga_ids))
    log.info("hwbridge serving boards %s (data in %s)", ids, config.data_dir)
    await stop.wait()
    await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
    await nc.drain()
