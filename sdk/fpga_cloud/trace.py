"""Waveform recordings of a virtual board: wait for one, and read it in any form.

A recording comes from a traced run (``session.write(..., trace=True)`` returns a
:class:`Traced` whose ``trace(...)`` reads it) or from a window (``session.trace_start()`` …
``trace.stop()``). Forms: ``fst`` (bytes, for GTKWave or Surfer), ``vcd`` (text), ``json`` (a
dict: each signal's width and changes as ``[cycle, value]``), ``wavedrom`` (a dict) and ``svg``
(text). ``signals`` are globs of names (``"user.wb_*"``), ``cycles`` a range (``(0, 50)``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from fpga_cloud import api
from fpga_cloud.errors import TraceFailed, WaitTimeout
from fpga_cloud.models import TraceInfo
from fpga_cloud.transport import AsyncTransport, SyncTransport

#: How long a recording is waited for, looking every ``LOOK_S`` at first, then less often.
WAIT_S = 30.0
LOOK_S = 0.01
LOOK_MAX_S = 0.2
Signals = str | Sequence[str] | None
Cycles = str | tuple[int, int] | None


def _decoded(fmt: str, content: bytes) -> Any:
    if fmt in ("json", "wavedrom"):
        return msgspec.json.decode(content)
    if fmt in ("vcd", "svg"):
        return content.decode()
    return content


def _settled(info: TraceInfo) -> TraceInfo | None:
    """The info once the recording ended; raises TraceFailed if it failed."""
    if info.status == "failed":
        raise TraceFailed(f"trace {info.trace_id} was not recorded: {info.error or 'no reason'}")
    return info if info.status == "recorded" else None


class Trace:
    """A recording (sync). ``get`` waits until it is stored, then reads it."""

    def __init__(self, transport: SyncTransport, fpga_id: int, trace_id: uuid.UUID) -> None:
        self._transport = transport
        self.fpga_id = fpga_id
        self.id = trace_id

    def __repr__(self) -> str:
        return f"Trace(board={self.fpga_id}, id={self.id})"

    def info(self) -> TraceInfo:
        """Its state now (``GET …/traces/{id}/info``)."""
        response = self._transport.send(api.trace_info(self.fpga_id, self.id))
        return api.decode(response.content, TraceInfo)

    def wait(self, timeout: float = WAIT_S) -> TraceInfo:
        """Wait until it is stored; its info. Raises TraceFailed, WaitTimeout."""
        deadline, delay = time.monotonic() + timeout, LOOK_S
        while (done := _settled(self.info())) is None:
            if time.monotonic() > deadline:
                raise WaitTimeout(f"trace {self.id} was not stored in {timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, LOOK_MAX_S)
        return done

    def get(self, fmt: str = "json", *, signals: Signals = None, cycles: Cycles = None) -> Any:
        """The recording in ``fmt`` (after :meth:`wait`): bytes, text or a dict (see above)."""
        self.wait()
        call = api.trace(self.fpga_id, self.id, fmt, signals, cycles)
        return _decoded(fmt, self._transport.send(call).content)


class AsyncTrace:
    """A recording (async); see :class:`Trace`."""

    def __init__(self, transport: AsyncTransport, fpga_id: int, trace_id: uuid.UUID) -> None:
        self._transport = transport
        self.fpga_id = fpga_id
        self.id = trace_id

    def __repr__(self) -> str:
        return f"AsyncTrace(board={self.fpga_id}, id={self.id})"

    async def info(self) -> TraceInfo:
        response = await self._transport.send(api.trace_info(self.fpga_id, self.id))
        return api.decode(response.content, TraceInfo)

    async def wait(self, timeout: float = WAIT_S) -> TraceInfo:
        deadline, delay = time.monotonic() + timeout, LOOK_S
        while (done := _settled(await self.info())) is None:
            if time.monotonic() > deadline:
                raise WaitTimeout(f"trace {self.id} was not stored in {timeout:g} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, LOOK_MAX_S)
        return done

    async def get(
        self, fmt: str = "json", *, signals: Signals = None, cycles: Cycles = None
    ) -> Any:
        await self.wait()
        call = api.trace(self.fpga_id, self.id, fmt, signals, cycles)
        return _decoded(fmt, (await self._transport.send(call)).content)


@dataclass(frozen=True)
class Traced:
    """A traced run's outcome: the words read (or written) and its recording."""

    data: list[int]
    recording: Trace

    @property
    def trace_id(self) -> uuid.UUID:
        return self.recording.id

    def trace(self, fmt: str = "json", *, signals: Signals = None, cycles: Cycles = None) -> Any:
        """The run's recording in ``fmt`` (see :meth:`Trace.get`)."""
        return self.recording.get(fmt, signals=signals, cycles=cycles)


@dataclass(frozen=True)
class AsyncTraced:
    """A traced run's outcome (async)."""

    data: list[int]
    recording: AsyncTrace

    @property
    def trace_id(self) -> uuid.UUID:
        return self.recording.id

    async def trace(
        self, fmt: str = "json", *, signals: Signals = None, cycles: Cycles = None
    ) -> Any:
        return await self.recording.get(fmt, signals=signals, cycles=cycles)
