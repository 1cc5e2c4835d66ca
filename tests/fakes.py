"""Test doubles and event builders shared by the unit and integration tests.

``FakeDriver`` implements ``hwbridge.drivers.base.BoardDriver`` in memory and records every call,
so a test can assert that a hardware step ran exactly once, in order, or never. The builders
return the events a worker would append for the usual lifecycles of one board.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from events.settings import DEFAULT_LEASE_SECONDS, DEFAULT_MAX_SESSION_SECONDS
from events.types import (
    BoardEvent,
    BuildStarted,
    BuildSucceeded,
    JobQueued,
    Programmed,
    ProgrammingStarted,
    SessionOpened,
)
from hwbridge.build.design import Design
from hwbridge.drivers.base import BoardTracer, BuildError, BuildOutput, DriverError, LogFn
from tests.keys import ALICE

WINDOW_BASE = 0x3000_0000
WINDOW_SIZE = 64
DESIGN = b"from migen import *\n# a design the fake driver never elaborates\n"


@dataclass
class FakeDriver:
    """An in-memory board: a dict of words behind a window, and a log of every call.

    Args:
        build_error: when set, ``build`` logs its lines and raises ``BuildError`` with it.
        program_error: when set, ``program`` raises ``DriverError`` with it.
        build_gate: when set, ``build`` waits for it (to hold a build in progress).
        programmed_at_start: the board already runs a design (e.g. it survived the worker).
    """

    build_error: str | None = None
    program_error: str | None = None
    build_gate: asyncio.Event | None = None
    programmed_at_start: bool = False
    probe_error: str | None = None
    """When set, ``probe`` raises ``DriverError`` with it (a board that fails its health probe)."""
    window_size: int = WINDOW_SIZE
    build_lines: tuple[str, ...] = ("elaborating design.py", "compiling the SoC")
    calls: list[tuple[object, ...]] = field(default_factory=list)
    memory: dict[int, int] = field(default_factory=dict)
    sources: list[bytes] = field(default_factory=list)
    loaded: BuildOutput | None = None
    closed: bool = False

    def __post_init__(self) -> None:
        if self.programmed_at_start:
            self.loaded = BuildOutput("preloaded", WINDOW_BASE, self.window_size)

    def names(self) -> list[str]:
        """The names of the calls so far, in order (``["build", "program", ...]``)."""
        return [str(c[0]) for c in self.calls]

    async def build(self, job_id: uuid.UUID, design: Design, log: LogFn) -> BuildOutput:
        self.calls.append(("build", job_id))
        self.sources.append(design.source)
        for line in self.build_lines:
            await log("build", line)
        if self.build_gate is not None:
            await self.build_gate.wait()
        if self.build_error is not None:
            await log("build", f"error: {self.build_error}")
            raise BuildError(self.build_error)
        return BuildOutput(f"artifact-{job_id.hex}", WINDOW_BASE, self.window_size)

    async def program(self, output: BuildOutput, log: LogFn) -> None:
        self.calls.append(("program", output.artifact))
        await log("program", f"loading {output.artifact}")
        if self.program_error is not None:
            raise DriverError(self.program_error)
        self.loaded = output

    async def read(self, offset: int, count: int, *, fixed: bool = False) -> list[int]:
        self.calls.append(("read", offset, count))
        step = 0 if fixed else 4
        return [self.memory.get(offset + step * i, 0) for i in range(count)]

    async def write(
        self, offset: int, words: Sequence[int], *, fixed: bool = False, confirm: bool = True
    ) -> None:
        self.calls.append(("write", offset, tuple(words)))
        step = 0 if fixed else 4
        for i, word in enumerate(words):
            self.memory[offset + step * i] = word

    async def reset(self) -> None:
        self.calls.append(("reset",))
        self.loaded = None
        self.memory.clear()

    def programmed(self) -> bool:
        return self.loaded is not None

    async def probe(self) -> str:
        self.calls.append(("probe",))
        if self.probe_error is not None:
            raise DriverError(self.probe_error)
        return "fake base SoC"

    async def close(self) -> None:
        self.closed = True

    def tracer(self) -> BoardTracer | None:
        return None


class RecordingSemaphore(asyncio.Semaphore):
    """A semaphore that says when somebody had to wait for it."""

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self.contended = asyncio.Event()

    async def acquire(self) -> Literal[True]:
        if self.locked():
            self.contended.set()
        return await super().acquire()


def queued(
    fpga_id: int, job_id: uuid.UUID, *, owner: str = ALICE.key_id, sha: str = "ab" * 32
) -> JobQueued:
    return JobQueued(
        fpga_id=fpga_id, job_id=job_id, owner=owner, design_sha256=sha, design_size=len(DESIGN)
    )


def built(fpga_id: int, job_id: uuid.UUID, *, window_size: int = WINDOW_SIZE) -> BuildSucceeded:
    return BuildSucceeded(
        fpga_id=fpga_id,
        job_id=job_id,
        artifact=f"artifact-{job_id.hex}",
        duration_s=1.5,
        window_base=WINDOW_BASE,
        window_size=window_size,
    )


def opened(
    fpga_id: int,
    job_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    owner: str = ALICE.key_id,
    expires_at: datetime | None = None,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS,
) -> SessionOpened:
    return SessionOpened(
        fpga_id=fpga_id,
        job_id=job_id,
        session_id=session_id,
        owner=owner,
        expires_at=expires_at or datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) + timedelta(hours=1),
        lease_seconds=lease_seconds,
        max_session_seconds=max_session_seconds,
    )


def reservation(
    fpga_id: int,
    job_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    owner: str = ALICE.key_id,
    window_size: int = WINDOW_SIZE,
    sha: str = "ab" * 32,
    expires_at: datetime | None = None,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS,
) -> list[BoardEvent]:
    """Everything a worker appends from an upload to an open session, in order."""
    return [
        queued(fpga_id, job_id, owner=owner, sha=sha),
        BuildStarted(fpga_id=fpga_id, job_id=job_id),
        built(fpga_id, job_id, window_size=window_size),
        ProgrammingStarted(fpga_id=fpga_id, job_id=job_id),
        Programmed(fpga_id=fpga_id, job_id=job_id),
        opened(
            fpga_id,
            job_id,
            session_id,
            owner=owner,
            expires_at=expires_at,
            lease_seconds=lease_seconds,
            max_session_seconds=max_session_seconds,
        ),
    ]
