"""The interface every board driver implements; the worker knows nothing else of hardware."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from hwbridge.build.design import Design

LogFn = Callable[[str, str], Awaitable[None]]
"""``await log(stage, line)``: one line of build or programming output."""

_log = logging.getLogger("hwbridge.drivers")


async def quiet_log(stage: str, line: str) -> None:
    """A :data:`LogFn` for work no job watches (base SoC, probes): debug lines only."""
    _log.debug("%s: %s", stage, line)


class DriverError(Exception):
    """A hardware step failed; ``str(exc)`` is one readable line for the job."""


class BuildError(DriverError):
    """The user's design did not build (its own fault, not the board's)."""


class TraceUnavailable(DriverError):
    """The board cannot record waveforms (a real board: traces need a virtual board)."""


#: Why a recording stopped: asked to, at one of its caps, or the simulation finished.
StopReason = Literal["stopped", "cycle_cap", "byte_cap", "finished"]


@dataclass(frozen=True)
class Recording:
    """A closed waveform recording of a board's user slot.

    Attributes:
        fst: The FST file's bytes.
        first_cycle: The clock cycle (since the board's simulation started) it began at.
        cycles: Clock cycles recorded.
        stop_reason: Why it stopped.
    """

    fst: bytes
    first_cycle: int
    cycles: int
    stop_reason: StopReason

    @property
    def last_cycle(self) -> int:
        return self.first_cycle + max(self.cycles, 1) - 1


class BoardTracer(Protocol):
    """Waveform recording of a board's user slot (its design and the Wishbone bus to it)."""

    def recording(self) -> bool:
        """Whether a window recording is in progress."""
        ...

    async def start(self) -> None:
        """Start a window recording. Raises ``DriverError``."""
        ...

    async def stop(self) -> Recording:
        """End the window recording (or take the one a cap ended). Raises ``DriverError``."""
        ...

    async def stopped(self) -> Recording | None:
        """The window recording if it stopped by itself (a cap), else None."""
        ...

    async def transaction(
        self, op: int, offset: int, words: Sequence[int], count: int
    ) -> tuple[list[int], Recording]:
        """One read (``count`` words) or write (``words``) recorded from its first bus cycle to
        its last acknowledge, a few cycles either side. Raises ``DriverError``."""
        ...


@dataclass(frozen=True)
class BuildOutput:
    """A built design: ``artifact`` names it in the board kind's artifact store (its key)."""

    artifact: str
    window_base: int
    window_size: int
    cache_hit: bool = False
    utilisation: dict[str, int] | None = None
    fmax_mhz: float | None = None
    stages: dict[str, float] | None = None
    """Seconds each stage of the build took."""


class BoardDriver(Protocol):
    """A board: build a design for it, load it, talk Wishbone to it, and put it back."""

    async def build(self, job_id: uuid.UUID, design: Design, log: LogFn) -> BuildOutput:
        """Build ``design`` into a loadable artifact. Raises ``BuildError``."""
        ...

    async def program(self, output: BuildOutput, log: LogFn) -> None:
        """Load the artifact and check the board answers. Raises ``DriverError``."""
        ...

    async def read(self, offset: int, count: int, *, fixed: bool = False) -> list[int]:
        """Read ``count`` words at a byte offset inside the design's window.

        ``fixed`` reads every word from the same address (a FIFO port) instead of incrementing.
        """
        ...

    async def write(
        self, offset: int, words: Sequence[int], *, fixed: bool = False, confirm: bool = True
    ) -> None:
        """Write words at a byte offset inside the design's window.

        With ``confirm`` the write is followed by a barrier that proves it reached the bus;
        without, it is posted (a later read is still ordered after it).
        """
        ...

    async def reset(self) -> None:
        """Stop the user design and restore the base SoC. Idempotent."""
        ...

    def programmed(self) -> bool:
        """True while a user design is loaded and its link is up."""
        ...

    async def probe(self) -> str:
        """Check the idle board: start its base SoC and read its identification, then leave
        it as :meth:`reset` does. Returns the identification. Raises ``DriverError``."""
        ...

    async def close(self) -> None:
        """Release every resource (processes, ports)."""
        ...

    def tracer(self) -> BoardTracer | None:
        """The board's waveform recorder; None if it has none (real boards)."""
        ...
