"""The virtual board: the user's design built into the base SoC and simulated by Verilator.

The simulation runs only while a design is programmed (it spins a core); reset stops it. It can
record waveforms of the user's slot, switched at run time (:mod:`hwbridge.drivers.simtrace`).
Built simulators are kept by cache key (:mod:`hwbridge.build.artifacts`), here and in the
shared bucket, so re-submitting a design skips the build.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from hwbridge.build.artifacts import ArtifactStore
from hwbridge.build.design import Design
from hwbridge.build.key import cache_key
from hwbridge.build.kits import KitStore
from hwbridge.build.limits import BuildLimits, DesignBuildError
from hwbridge.build.placeholder import PLACEHOLDER
from hwbridge.cache import BuildCache
from hwbridge.drivers.base import (
    BoardTracer,
    BuildError,
    BuildOutput,
    DriverError,
    LogFn,
    quiet_log,
)
from hwbridge.drivers.bridgelink import identify, open_checked, window_read, window_write
from hwbridge.drivers.simtrace import SimTracer
from hwbridge.metrics import SIMULATOR_STARTS
from hwbridge.sandbox import Sandbox
from hwbridge.uartbone import UARTBoneClient
from hwbridge.virtual.artifact import PACKAGE, SimArtifact
from hwbridge.virtual.build import build_sim
from hwbridge.virtual.constants import BOARD_KIND
from hwbridge.virtual.recordings import TRACE_DIR, TraceCaps
from hwbridge.virtual.simulator import Simulation, SimulationError

LINK_TIMEOUT_S = 1.0
#: A build that waited this long for the simulator kit reports the wait as a stage of its own.
KIT_NOTICE_S = 0.5


class VirtualBoard:
    """A Verilator-simulated board behind the ``BoardDriver`` interface.

    Args:
        fpga_id: The board.
        data_dir: Service data directory (builds, the simulator's working directory).
        limits: Build limits.
        cache: Shared build cache; None keeps builds on this host only.
        sandbox: Sandbox of builds and the simulator; default: one that hides ``data_dir``.
        tools_cache: Cache of the WebAssembly tools' compiled code (Amaranth designs run
            Yosys); default ``<data_dir>/yowasp-cache``.
        kits: The host's kits; default: kits under ``<data_dir>/builds/kits``.
        trace_caps: The caps of its waveform recordings (default: none).
    """

    def __init__(
        self,
        fpga_id: int,
        data_dir: Path,
        limits: BuildLimits | None = None,
        cache: BuildCache | None = None,
        sandbox: Sandbox | None = None,
        tools_cache: Path | None = None,
        kits: KitStore | None = None,
        trace_caps: TraceCaps | None = None,
    ) -> None:
        self.fpga_id = fpga_id
        # Builds and simulations never see the data directory beyond their own directories.
        self._sandbox = sandbox or Sandbox(hidden=(data_dir,))
        self._store = ArtifactStore(data_dir / "builds" / BOARD_KIND, cache, "compiled simulator")
        self._run_dir = data_dir / "boards" / str(fpga_id)
        self._tools_cache = tools_cache or data_dir / "yowasp-cache"
        self._kits = kits or KitStore(data_dir / "builds" / "kits", self._sandbox)
        self._limits = limits or BuildLimits()
        self._sim: Simulation | None = None
        self._link: UARTBoneClient | None = None
        self._window_base = 0
        self._trace_caps = trace_caps or TraceCaps()
        self._tracer = SimTracer(self._traced_link, self._run_dir / TRACE_DIR, self._trace_caps)

    async def build(self, job_id: uuid.UUID, design: Design, log: LogFn) -> BuildOutput:
        started = time.monotonic()
        key = cache_key(design, BOARD_KIND)
        found = await self._store.fetch(key, log)
        if found is not None:
            cached = SimArtifact.load(found)
            took = {"cache": round(time.monotonic() - started, 3)}
            return BuildOutput(
                key, cached.window_base, cached.window_size, cache_hit=True, stages=took
            )
        scratch = self._store.scratch(job_id)
        stages: dict[str, float] = {}
        try:
            kit = await self._kits.ensure(BOARD_KIND, log)
            if time.monotonic() - started > KIT_NOTICE_S:
                stages["kit"] = round(time.monotonic() - started, 3)
            built = await build_sim(
                design.source, scratch, log, language=design.language, top=design.top,
                limits=self._limits, sandbox=self._sandbox, tools_cache=self._tools_cache,
                kit=kit, stages=stages,
            )  # fmt: skip
            self._store.keep(scratch / PACKAGE, key)
        except DesignBuildError as exc:
            raise BuildError(exc.reason) from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        await self._store.share(key, log, {"board_kind": BOARD_KIND, "job_id": str(job_id)})
        return BuildOutput(key, built.window_base, built.window_size, stages=stages)

    async def program(self, output: BuildOutput, log: LogFn) -> None:
        await self.reset()
        found = await self._store.fetch(output.artifact, log)
        try:
            if found is None:
                raise FileNotFoundError(f"no build {output.artifact[:12]} here or in the cache")
            artifact = SimArtifact.load(found)
        except (FileNotFoundError, ValueError) as exc:
            raise DriverError(f"the built design is missing on this host: {exc}") from None
        await log("program", "starting the Verilator simulation")
        try:
            self._sim = await Simulation.start(
                artifact, self._run_dir, sandbox=self._sandbox, trace_caps=self._trace_caps
            )
            SIMULATOR_STARTS.inc()
        except SimulationError as exc:
            raise DriverError(str(exc)) from None
        await log("program", f"simulation listening on 127.0.0.1:{self._sim.port}")
        link = UARTBoneClient(self._sim.url, timeout=LINK_TIMEOUT_S)
        try:
            await open_checked(link)
        except DriverError:
            await self.reset()
            raise
        self._link = link
        self._window_base = artifact.window_base

    async def read(self, offset: int, count: int, *, fixed: bool = False) -> list[int]:
        link = self._require_link()
        return await window_read(link, self._window_base + offset, count, fixed)

    async def write(
        self, offset: int, words: Sequence[int], *, fixed: bool = False, confirm: bool = True
    ) -> None:
        link = self._require_link()
        await window_write(link, self._window_base + offset, words, fixed, confirm)

    def _require_link(self) -> UARTBoneClient:
        if self._link is None or self._sim is None or not self._sim.alive():
            raise DriverError("the board has no running design")
        return self._link

    def _traced_link(self) -> tuple[UARTBoneClient, int]:
        return self._require_link(), self._window_base

    def tracer(self) -> BoardTracer | None:
        return self._tracer

    async def reset(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()
        sim, self._sim = self._sim, None
        if sim is not None:
            await sim.stop()
        self._tracer.forget()

    def programmed(self) -> bool:
        return self._link is not None and self._sim is not None and self._sim.alive()

    async def probe(self) -> str:
        """Build (once; then cached) and start the base SoC with the placeholder design, read
        its identification, stop it."""
        try:
            output = await self.build(uuid.uuid4(), PLACEHOLDER, quiet_log)
        except BuildError as exc:
            raise DriverError(f"the base SoC does not build: {exc}") from None
        try:
            await self.program(output, quiet_log)
            assert self._link is not None
            return await identify(self._link)
        finally:
            await self.reset()

    async def close(self) -> None:
        await self.reset()
