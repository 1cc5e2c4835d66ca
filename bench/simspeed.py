"""The virtual board's simulator speed, and what waveform tracing costs it.

The counter example (its count advances by one every clock cycle) run flat out (no pacing)
for a known wall time, in three builds and modes:

* **tracing off**: a simulator built without tracing (``--no-trace``: never what the service
  runs, only this comparison);
* **compiled in, off**: the service's build, FST tracing compiled in, nothing recording (what
  every reserved board runs);
* **recording**: the same build while the SoC's trace control bit is set (a window recording of
  the user's slot, as ``POST /fpga/{id}/trace/start`` makes).

Runs on its own: ``python -m bench.simspeed`` (``make bench`` runs it too). The designs are
built with the host's simulator kit (``var/kits``, built first if missing).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.system import EXAMPLES, SHARED_KIT_DIR
from events.designs import MIGEN
from hwbridge.build.contract import USER_WINDOW_BASE
from hwbridge.build.design import Design
from hwbridge.build.kits import KitStore
from hwbridge.build.runner import build
from hwbridge.sandbox import Sandbox
from hwbridge.uartbone import UARTBoneClient
from hwbridge.virtual.artifact import SimArtifact
from hwbridge.virtual.build import build_sim
from hwbridge.virtual.constants import BOARD_KIND, TRACE_CONTROL_ADDRESS
from hwbridge.virtual.recordings import TRACE_DIR, TraceCaps
from hwbridge.virtual.simulator import Simulation

#: What one recording may grow to here: a counter changes 32 bits every cycle.
RECORDING_CAPS = TraceCaps(max_bytes=128 * 1024**2)


@dataclass(frozen=True)
class SimSpeed:
    """Clock cycles per second of the counter, flat out, in each build and mode."""

    untraced: float
    traced_off: float
    recording: float
    bytes_per_cycle: float
    """The recording's size over the cycles it covered (about: it starts a little earlier)."""

    @property
    def compiled_in_cost(self) -> float:
        """The share of speed tracing costs while compiled in but off."""
        return 1 - self.traced_off / self.untraced

    @property
    def recording_cost(self) -> float:
        return 1 - self.recording / self.untraced

    def lines(self) -> list[str]:
        return [
            f"simulator speed (counter, flat out), tracing off      {self.untraced / 1e6:6.2f} "
            "M cycles/s",
            f"simulator speed, tracing compiled in but off         {self.traced_off / 1e6:6.2f} "
            f"M cycles/s ({self.compiled_in_cost * 100:.1f} % slower)",
            f"simulator speed, recording (FST, the user's slot)    {self.recording / 1e6:6.2f} "
            f"M cycles/s ({self.recording_cost * 100:.1f} % slower, "
            f"{self.bytes_per_cycle:.2f} bytes/cycle)",
        ]


async def _quiet(stage: str, line: str) -> None:
    return None


async def counter_builds(work: Path) -> tuple[SimArtifact, SimArtifact]:
    """The counter example built with tracing compiled in (as the service builds it) and
    without."""
    kit = await KitStore(SHARED_KIT_DIR, Sandbox()).ensure(BOARD_KIND, _quiet)
    source = (EXAMPLES / "counter.py").read_bytes()
    traced = await build_sim(source, work / "traced", _quiet, kit=kit)
    untraced = Design(source, MIGEN)
    result = await build(
        untraced, BOARD_KIND, work / "untraced", _quiet, kit=kit, options=["--no-trace"]
    )
    return traced, SimArtifact.load(Path(result["path"]))


async def speed(
    artifact: SimArtifact, run_dir: Path, *, record: bool = False, seconds: float = 2.0
) -> tuple[float, float]:
    """Clock cycles per second of the counter's simulator, flat out; with ``record``, while a
    recording runs: (cycles/s, the recording's bytes per cycle recorded)."""
    sim = await Simulation.start(artifact, run_dir, pace_hz=0, trace_caps=RECORDING_CAPS)
    link = UARTBoneClient(sim.url, timeout=5.0)
    size = 0.0
    try:
        link.open()
        if record:
            link.write(TRACE_CONTROL_ADDRESS, [1])
        first, started = link.read(USER_WINDOW_BASE, 1)[0], time.monotonic()
        await asyncio.sleep(seconds)
        second, took = link.read(USER_WINDOW_BASE, 1)[0], time.monotonic() - started
        if record:
            link.write(TRACE_CONTROL_ADDRESS, [0])
            link.read(TRACE_CONTROL_ADDRESS, 1)  # the recording is closed once this answers
            size = sum(p.stat().st_size for p in (run_dir / TRACE_DIR).glob("*.fst"))
    finally:
        link.close()
        await sim.stop()
    cycles = (second - first) & 0xFFFF_FFFF
    return cycles / took, size / max(cycles, 1)


async def simulator_speeds(work: Path, seconds: float = 1.0, rounds: int = 3) -> SimSpeed:
    """Build the counter both ways and measure it in the three modes, one simulator at a time,
    ``rounds`` times in turn; the best of each (what the host's other work took least of)."""
    traced, untraced = await counter_builds(work)
    off, idle, on, per_cycle = 0.0, 0.0, 0.0, 0.0
    for n in range(rounds):
        off = max(off, (await speed(untraced, work / f"untraced-{n}", seconds=seconds))[0])
        idle = max(idle, (await speed(traced, work / f"traced-{n}", seconds=seconds))[0])
        rate, per_cycle = await speed(traced, work / f"rec-{n}", record=True, seconds=seconds)
        on = max(on, rate)
    return SimSpeed(untraced=off, traced_off=idle, recording=on, bytes_per_cycle=per_cycle)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for line in (await simulator_speeds(Path(tmp))).lines():
            print(line)


if __name__ == "__main__":
    asyncio.run(main())
