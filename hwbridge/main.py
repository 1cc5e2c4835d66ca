"""The hwbridge process: one worker per board this host owns, on a shared NATS connection."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path

from events.connection import NatsCredentials, connect, wait_for_streams
from events.settings import Settings
from events.store import EventStore
from events.streams import HWBRIDGE_STREAMS
from events.subjects import board_type_filter
from events.types import BoardRegistered
from hwbridge.build.kits import KitStore
from hwbridge.build.limits import BuildLimits
from hwbridge.cache import BuildCache
from hwbridge.drivers.base import BoardDriver
from hwbridge.drivers.ecp5 import Ecp5Board
from hwbridge.drivers.virtual import VirtualBoard
from hwbridge.health import Prober
from hwbridge.inventory import BoardConfig, Inventory, default_inventory
from hwbridge.metrics import serve_metrics
from hwbridge.sandbox import Namespaces, Sandbox, harden_data_dir
from hwbridge.virtual.constants import BOARD_KIND as VIRTUAL
from hwbridge.virtual.recordings import TraceCaps
from hwbridge.worker import BoardWorker

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class BridgeConfig:
    """What one hwbridge host runs: the service's settings, its NATS user and its boards."""

    settings: Settings
    credentials: NatsCredentials | None = None
    """This host's NATS user (``hwbridge-<host>``) and password; None: an open server."""
    inventory: Inventory = field(default_factory=default_inventory)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir.resolve()

    @property
    def host(self) -> str:
        return self.settings.hwbridge_host

    @property
    def build_limits(self) -> BuildLimits:
        return BuildLimits.from_settings(self.settings)

    def sandbox(self) -> Sandbox:
        """The sandbox of every build and simulation: the data directory hidden from them."""
        return Sandbox(user=self.settings.sandbox_user, hidden=(self.data_dir,))

    def kits(self) -> KitStore:
        """The host's kits, built in the builds' sandbox."""
        return KitStore(self.settings.kits_dir.resolve(), self.sandbox())

    def boards(self) -> list[BoardConfig]:
        """This host's boards, limited to the settings' board ids."""
        ids = self.settings.fpga_ids
        return [b for b in self.inventory.for_host(self.host) if b.fpga_id in ids]


def registration(board: BoardConfig) -> BoardRegistered:
    return BoardRegistered(
        fpga_id=board.fpga_id, driver=board.driver, host=board.host,
        in_service=board.in_service, serial_url=board.serial_url, baudrate=board.baudrate,
        cable=board.cable, serial_number=board.serial_number,
    )  # fmt: skip


def _same(a: BoardRegistered, b: BoardRegistered) -> bool:
    keys = ("driver", "host", "in_service", "serial_url", "baudrate", "cable", "serial_number")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


async def register(store: EventStore, board: BoardConfig) -> None:
    """Append ``BoardRegistered`` when the board is new or its configuration changed."""
    wanted = registration(board)
    last = None
    async for stored in store.read(board_type_filter(board.fpga_id, "BoardRegistered")):
        last = stored.event
    if not (isinstance(last, BoardRegistered) and _same(last, wanted)):
        await store.append(wanted)


def make_driver(
    board: BoardConfig,
    config: BridgeConfig,
    cache: BuildCache,
    slots: asyncio.Semaphore,
    kits: KitStore,
) -> BoardDriver:
    sandbox = config.sandbox()
    if board.driver == "ecp5_evn":
        return Ecp5Board(board, config.data_dir, cache=cache, limits=config.build_limits,
                         build_slots=slots, sandbox=sandbox,
                         tool=config.settings.openfpgaloader)  # fmt: skip
    caps = TraceCaps(config.settings.trace_max_cycles, config.settings.trace_max_bytes)
    return VirtualBoard(board.fpga_id, config.data_dir, config.build_limits, cache=cache,
                        sandbox=sandbox, kits=kits, trace_caps=caps)  # fmt: skip


async def start_workers(store: EventStore, config: BridgeConfig) -> list[BoardWorker]:
    """Register the boards, then create and start one worker each (each replays its history)."""
    slots = asyncio.Semaphore(config.settings.build_slot_count)
    cache = BuildCache(store.nc)
    kits = config.kits()
    boards = config.boards()
    for board in boards:
        await register(store, board)
    if any(b.driver == VIRTUAL for b in boards) and not kits.ready(VIRTUAL):
        # Build the simulator kit before the first user waits on it.
        _background.add(task := asyncio.create_task(_prepare_kit(kits)))
        task.add_done_callback(_background.discard)
    prober = Prober(config.settings.health_interval_s)
    workers = [
        BoardWorker(
            store,
            board.fpga_id,
            make_driver(board, config, cache, slots, kits),
            build_slots=slots,
            prober=prober,
        )
        for board in boards
    ]
    await asyncio.gather(*(w.start() for w in workers))
    for worker in workers:
        driver = worker.driver
        if isinstance(driver, Ecp5Board):
            # Compile the toolchain and the base bitstream before the first user waits on it.
            _background.add(task := asyncio.create_task(_prepare(driver)))
            task.add_done_callback(_background.discard)
    return workers


async def _prepare_kit(kits: KitStore) -> None:
    async def announce(stage: str, line: str) -> None:
        log.info("%s", line)

    try:
        await kits.ensure(VIRTUAL, announce)
    except Exception:
        log.exception("building the simulator kit failed; the first build tries again")


async def _prepare(board: Ecp5Board) -> None:
    try:
        await board.prepare()
    except Exception:
        log.exception("board %d: preparing the base bitstream failed", board.fpga_id)


def _describe(sandbox: Sandbox, allowed: Namespaces) -> str:
    user = sandbox.identity()
    who = f"as user {user.name}" if user else "as this service's user"
    namespaces = [n for n in ("network", "mount", "pid") if getattr(allowed, n)]
    return f"{who}; namespaces: {', '.join(namespaces) or 'none'}"


async def serve(config: BridgeConfig) -> None:
    """Run until SIGINT/SIGTERM, then stop every simulation this host started."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    harden_data_dir(config.data_dir)
    serve_metrics(config.settings.hwbridge_metrics_port)
    # Find out now, and log once, what containment this platform allows.
    allowed = await asyncio.to_thread(config.sandbox().allowed)
    log.info("builds and simulations run sandboxed (%s)", _describe(config.sandbox(), allowed))
    nc = await connect(
        config.settings.nats_url or "",
        config.credentials,
        name=f"hwbridge {config.host}",
        max_reconnect_attempts=-1,
    )
    store = EventStore(nc)
    await wait_for_streams(store.js, HWBRIDGE_STREAMS)
    workers = await start_workers(store, config)
    ids = ",".join(str(w.fpga_id) for w in workers) or "none"
    log.info("hwbridge %s serving boards %s (data in %s)", config.host, ids, config.data_dir)
    await stop.wait()
    await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
    await nc.drain()
