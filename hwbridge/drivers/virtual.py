"""The virtual board: the user's design built into the base SoC and simulated by Verilator.

The simulation runs only while a design is programmed (it spins a core); reset stops it.
Compiled simulators are cached on disk by design hash, so re-submitting a design skips the build.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

from hwbridge.cache import BuildCache, toolchain_versions
from hwbridge.cache import cache_key as build_cache_key
from hwbridge.drivers.base import BuildError, BuildOutput, DriverError, LogFn
from hwbridge.drivers.bridgelink import open_checked, window_read, window_write
from hwbridge.sandbox import Sandbox
from hwbridge.uartbone import UARTBoneClient
from hwbridge.virtual.artifact import SimArtifact
from hwbridge.virtual.build import BuildLimits, DesignBuildError, build_sim
from hwbridge.virtual.simulator import Simulation, SimulationError

# Bump when the base SoC or the simulator build changes, so cached builds are not reused.
BASE_SOC_VERSION = "sim-1"
LINK_TIMEOUT_S = 1.0


def cache_key(source: bytes) -> str:
    """Design + board kind + base SoC + toolchain versions (Verilator, LiteX)."""
    return build_cache_key(source, "virtual", BASE_SOC_VERSION, _toolchain())


@functools.cache
def _toolchain() -> dict[str, str]:
    return toolchain_versions("virtual")


def _find_artifact(root: Path) -> SimArtifact | None:
    """A complete cached build under ``root``, if there is one."""
    for marker in root.glob("**/artifact.json") if root.is_dir() else ():
        with contextlib.suppress(FileNotFoundError, ValueError):
            return SimArtifact.load(marker.parent)
    return None


class VirtualBoard:
    """A Verilator-simulated board behind the ``BoardDriver`` interface."""

    def __init__(
        self,
        fpga_id: int,
        data_dir: Path,
        limits: BuildLimits | None = None,
        cache: BuildCache | None = None,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.fpga_id = fpga_id
        self._cache = cache
        # Builds and simulations never see the data directory beyond their own directories.
        self._sandbox = sandbox or Sandbox(hidden=(data_dir,))
        self._builds = data_dir / "builds"
        self._run_dir = data_dir / "boards" / str(fpga_id)
        self._limits = limits or BuildLimits()
        self._sim: Simulation | None = None
        self._link: UARTBoneClient | None = None
        self._window_base = 0

    async def build(self, job_id: uuid.UUID, source: bytes, log: LogFn) -> BuildOutput:
        key = cache_key(source)
        final = self._builds / key
        cached = _find_artifact(final)
        if cached is None and self._cache is not None and await self._fetch(key, final, log):
            cached = _find_artifact(final)
        if cached is not None:
            artifact = cached
            name = str(artifact.path.relative_to(self._builds.resolve()))
            return BuildOutput(name, artifact.window_base, artifact.window_size, cache_hit=True)
        # Unique per attempt: a build orphaned by a crashed worker may still be writing its own.
        scratch = self._builds / f"tmp-{job_id.hex}-{uuid.uuid4().hex[:8]}"
        try:
            artifact = await build_sim(
                source, scratch, log, limits=self._limits, sandbox=self._sandbox
            )
        except DesignBuildError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            raise BuildError(exc.reason) from None
        inner = artifact.path.relative_to(scratch.resolve())
        try:
            scratch.rename(final)
        except OSError:  # the same design finished building for another board first
            shutil.rmtree(scratch, ignore_errors=True)
        if self._cache is not None:
            try:
                await self._cache.put_dir(key, final, {"board_kind": "virtual"})
            except Exception as exc:  # only a later rebuild is lost
                await log("build", f"could not store the build in the build cache: {exc}")
        return BuildOutput(f"{key}/{inner}", artifact.window_base, artifact.window_size)

    async def _fetch(self, key: str, final: Path, log: LogFn) -> bool:
        assert self._cache is not None
        try:
            found = await self._cache.get_dir(key, final)
        except Exception as exc:
            await log("build", f"build cache unavailable ({exc}); building")
            return False
        if found:
            await log("build", f"cache hit: compiled simulator {key[:12]} from the build cache")
        return found

    async def program(self, output: BuildOutput, log: LogFn) -> None:
        await self.reset()
        try:
            artifact = SimArtifact.load(self._builds / output.artifact)
        except (FileNotFoundError, ValueError) as exc:
            raise DriverError(f"the built design is missing on this host: {exc}") from None
        await log("program", "starting the Verilator simulation")
        try:
            self._sim = await Simulation.start(artifact, self._run_dir, sandbox=self._sandbox)
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

    async def reset(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()
        sim, self._sim = self._sim, None
        if sim is not None:
            await sim.stop()

    def programmed(self) -> bool:
        return self._link is not None and self._sim is not None and self._sim.alive()

    async def close(self) -> None:
        await self.reset()
