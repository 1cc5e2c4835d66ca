"""The real board: a Lattice ECP5 evaluation board, loaded over JTAG, driven over its UART.

Symmetric with :mod:`hwbridge.drivers.virtual`: ``build`` turns the design into a bitstream
(the yowasp toolchain), ``program`` loads it into the FPGA's SRAM with openFPGALoader and checks
that the base SoC answers over UARTBone, ``read``/``write`` go through the same UARTBone client
on the board's serial port, and ``reset`` loads the base SoC's own bitstream (the base SoC with a
placeholder design), built once and cached like any other.

Bitstreams are kept by :func:`hwbridge.build.key.cache_key` in the board kind's artifact store
(:mod:`hwbridge.build.artifacts`: ``<data_dir>/builds/ecp5_evn/<key>`` and the shared
``fpga-builds`` bucket); a hit on either runs no toolchain.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hwbridge.build.artifacts import ArtifactStore
from hwbridge.build.design import Design
from hwbridge.build.key import cache_key
from hwbridge.build.placeholder import PLACEHOLDER
from hwbridge.cache import BuildCache
from hwbridge.drivers.base import (
    BoardDriver,
    BoardTracer,
    BuildError,
    BuildOutput,
    DriverError,
    LogFn,
    quiet_log,
)
from hwbridge.drivers.bridgelink import identify, open_checked, window_read, window_write
from hwbridge.ecp5.artifact import BitstreamArtifact
from hwbridge.ecp5.build import BuildLimits, DesignBuildError, build_bitstream
from hwbridge.ecp5.constants import BOARD_KIND
from hwbridge.ecp5.programmer import program_bitstream
from hwbridge.inventory import BoardConfig
from hwbridge.sandbox import Sandbox
from hwbridge.uartbone import UARTBoneClient

_log = logging.getLogger(__name__)

LINK_TIMEOUT_S = 1.0
PROGRAM_TIMEOUT_S = 60.0
BITSTREAM_FILE = "design.bit"


def _keep(built: BitstreamArtifact, package: Path) -> None:
    """Put a build's bitstream and description into ``package``; its netlists (~5 MB) stay."""
    package.mkdir()
    shutil.copyfile(built.path, package / BITSTREAM_FILE)
    dataclasses.replace(built, path=package / BITSTREAM_FILE).save(package)


class Ecp5Board:
    """An ECP5 evaluation board behind the ``BoardDriver`` interface.

    Args:
        config: The board's inventory entry (``driver = "ecp5_evn"``).
        data_dir: Service data directory (local bitstreams, the YoWASP compile cache).
        cache: Shared build cache; None builds whatever is not on this host's disk.
        limits: Build limits.
        build_slots: Semaphore bounding concurrent builds; :meth:`prepare` holds one while
            the base SoC builds.
        yowasp_cache: Compiled-tool cache of yowasp; default ``<data_dir>/yowasp-cache``.
        sandbox: Sandbox of the builds; default: one that hides ``data_dir``.
        tool: openFPGALoader executable (default: ``$FPGA_CLOUD_OPENFPGALOADER`` or PATH).
        program_timeout_s: Limit of one openFPGALoader run.
        link_timeout_s: UARTBone reply timeout.
    """

    def __init__(
        self,
        config: BoardConfig,
        data_dir: Path,
        *,
        cache: BuildCache | None = None,
        limits: BuildLimits | None = None,
        build_slots: asyncio.Semaphore | None = None,
        yowasp_cache: Path | None = None,
        tool: str | None = None,
        program_timeout_s: float = PROGRAM_TIMEOUT_S,
        link_timeout_s: float = LINK_TIMEOUT_S,
        sandbox: Sandbox | None = None,
    ) -> None:
        if config.driver != BOARD_KIND or config.serial_url is None:
            raise ValueError(f"board {config.fpga_id} is not an {BOARD_KIND} board with a port")
        self.fpga_id = config.fpga_id
        self.config = config
        self._store = ArtifactStore(data_dir / "builds" / BOARD_KIND, cache, "bitstream")
        self._yowasp_cache = yowasp_cache or data_dir / "yowasp-cache"
        self._sandbox = sandbox or Sandbox(hidden=(data_dir,))
        self._limits = limits or BuildLimits()
        self._slots = build_slots
        self._tool = tool
        self._program_timeout_s = program_timeout_s
        self._link_timeout_s = link_timeout_s
        self._link: UARTBoneClient | None = None
        self._window_base = 0
        self._user_loaded = False
        self._base_lock = asyncio.Lock()

    def cache_key(self, design: Design) -> str:
        """The build cache key of ``design`` on this board (the UART rate is in the gateware)."""
        return cache_key(design, BOARD_KIND, variant=f"baud {self.config.baudrate}")

    async def _fetch(self, key: str, log: LogFn) -> BitstreamArtifact | None:
        """The artifact from this host's disk or the shared cache; None if neither has it."""
        found = await self._store.fetch(key, log)
        with contextlib.suppress(FileNotFoundError, ValueError):
            return BitstreamArtifact.load(found) if found is not None else None
        return None

    async def build(self, job_id: uuid.UUID, design: Design, log: LogFn) -> BuildOutput:
        """Build ``design`` into a bitstream, or take it from the cache. Raises BuildError."""
        started = time.monotonic()
        key = self.cache_key(design)
        artifact = await self._fetch(key, log)
        if artifact is not None:
            return BuildOutput(
                key, artifact.window_base, artifact.window_size, cache_hit=True,
                utilisation=artifact.utilisation, fmax_mhz=artifact.fmax_mhz,
                stages={"cache": round(time.monotonic() - started, 3)},
            )  # fmt: skip
        scratch = self._store.scratch(job_id)
        # Beside the build directory, not in it: the design's code could have put anything there.
        package = scratch.with_name(scratch.name + "-pkg")
        stages: dict[str, float] = {}
        try:
            built = await build_bitstream(
                design.source, scratch, log, limits=self._limits, cache_dir=self._yowasp_cache,
                language=design.language, top=design.top, baudrate=self.config.baudrate,
                sandbox=self._sandbox, stages=stages,
            )  # fmt: skip
            _keep(built, package)
            artifact = BitstreamArtifact.load(self._store.keep(package, key))
        except DesignBuildError as exc:
            raise BuildError(exc.reason) from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.rmtree(package, ignore_errors=True)
        lut4, ff = artifact.utilisation.get("LUT4", 0), artifact.utilisation.get("FF", 0)
        await log(
            "build",
            f"bitstream {artifact.size_bytes} bytes, system clock {artifact.fmax_mhz:.2f} MHz "
            f"(needs {artifact.target_mhz:.2f}), LUT4 {lut4}, FF {ff}",
        )
        meta = {"board_kind": BOARD_KIND, "job_id": str(job_id), "lut4": str(lut4)}
        meta |= {"ff": str(ff), "fmax_mhz": f"{artifact.fmax_mhz:.2f}"}
        await self._store.share(key, log, meta)
        return BuildOutput(
            key, artifact.window_base, artifact.window_size,
            utilisation=artifact.utilisation, fmax_mhz=artifact.fmax_mhz, stages=stages,
        )  # fmt: skip

    async def prepare(self, log: LogFn = quiet_log) -> None:
        """Build (or fetch) the base SoC's bitstream now, so the first reset does not wait.

        Call it once at start-up; it holds a build slot while it builds. It also compiles the
        yowasp tools on a fresh host (~40 s), before any user waits for a build.
        """
        async with contextlib.AsyncExitStack() as stack:
            if self._slots is not None:
                await stack.enter_async_context(self._slots)
            await self._base(log)

    async def _base(self, log: LogFn) -> BitstreamArtifact:
        # No build slot here: reset() runs while the worker may hold one (after a failed
        # programming step), and waiting for a second could deadlock a busy pool.
        async with self._base_lock:
            output = await self.build(uuid.uuid4(), PLACEHOLDER, log)
        artifact = await self._fetch(output.artifact, log)
        if artifact is None:
            raise DriverError("the base SoC's bitstream vanished right after its build")
        return artifact

    async def _load(self, bit: Path, log: LogFn) -> None:
        """Program ``bit`` and check the base SoC answers; leaves the link open."""
        await program_bitstream(
            bit,
            cable=self.config.cable,
            serial_number=self.config.serial_number,
            timeout_s=self._program_timeout_s,
            tool=self._tool,
            log=log,
        )
        url = self.config.serial_url
        assert url is not None  # checked in __init__
        link = UARTBoneClient(url, baudrate=self.config.baudrate, timeout=self._link_timeout_s)
        await open_checked(link)
        self._link = link

    async def program(self, output: BuildOutput, log: LogFn) -> None:
        """Load a built design and check the board answers. Raises DriverError."""
        self._drop_link()
        artifact = await self._fetch(output.artifact, log)
        if artifact is None:
            raise DriverError("the built bitstream is neither on this host nor in the build cache")
        await self._load(artifact.path, log)
        self._window_base = artifact.window_base
        self._user_loaded = True

    async def read(self, offset: int, count: int, *, fixed: bool = False) -> list[int]:
        """Read ``count`` words at a byte offset in the window (``fixed``: one address)."""
        link = self._require_link()
        return await window_read(link, self._window_base + offset, count, fixed)

    async def write(
        self, offset: int, words: Sequence[int], *, fixed: bool = False, confirm: bool = True
    ) -> None:
        """Write words at a byte offset inside the window; ``confirm`` adds a barrier read."""
        link = self._require_link()
        await window_write(link, self._window_base + offset, words, fixed, confirm)

    def _require_link(self) -> UARTBoneClient:
        if not self.programmed():
            raise DriverError("the board has no running design")
        assert self._link is not None
        return self._link

    def _drop_link(self) -> None:
        self._user_loaded = False
        link, self._link = self._link, None
        if link is not None:
            link.close()

    async def reset(self) -> None:
        """Load the base SoC's bitstream (built once, then cached) and check it answers.

        Raises:
            DriverError: If the base SoC cannot be built, loaded, or does not answer.
        """
        self._drop_link()
        try:
            base = await self._base(quiet_log)
        except BuildError as exc:
            raise DriverError(f"the base SoC does not build: {exc}") from None
        await self._load(base.path, quiet_log)
        # The base SoC answered; the link is not needed until a user design is loaded.
        self._drop_link()

    def programmed(self) -> bool:
        """True while a user design is loaded and its link is up."""
        return self._user_loaded and self._link is not None and self._link.is_open

    async def probe(self) -> str:
        """Load the base SoC's bitstream, check it answers and read its identification."""
        self._drop_link()
        try:
            base = await self._base(quiet_log)
        except BuildError as exc:
            raise DriverError(f"the base SoC does not build: {exc}") from None
        await self._load(base.path, quiet_log)
        try:
            assert self._link is not None
            return await identify(self._link)
        finally:
            self._drop_link()

    async def close(self) -> None:
        """Close the serial link. The FPGA keeps its design (a restarted worker reloads it)."""
        self._drop_link()

    def tracer(self) -> BoardTracer | None:
        """None: a real board records no waveforms (traces need a virtual board)."""
        return None


if TYPE_CHECKING:  # mypy checks here that the class keeps up with the BoardDriver protocol
    _protocol_check: type[BoardDriver] = Ecp5Board
