"""Waveform recordings of a virtual board, switched over its own bus.

The simulator is built with FST tracing compiled in; its SoC has LiteX's simulation trace
control, a CSR at :data:`~hwbridge.virtual.constants.TRACE_CONTROL_ADDRESS`. Writing 1 there
starts a recording of the user's slot, writing 0 ends it (``hwbridge/virtual/sim_core``). The
writes travel the same UARTBone link as the user's transactions, in order, so what is recorded
is exactly what the bridge did in between: a traced transaction sends *on, the transaction,
off, read back* in one write and the recording spans its bus cycles and a few more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from events.wire import OP_WRITE
from hwbridge.drivers.base import DriverError, Recording
from hwbridge.uartbone import UARTBoneClient, UARTBoneError, encode_read, encode_write
from hwbridge.virtual.constants import TRACE_CONTROL_ADDRESS
from hwbridge.virtual.recordings import RecordingError, TraceCaps, closed, discard_all, take

ON, OFF = 1, 0


def transaction_frames(
    base: int, op: int, offset: int, words: Sequence[int], count: int
) -> tuple[list[bytes], int]:
    """The frames of a traced transaction, and the words they answer (the last: the control's
    read-back, 0).

    Raises:
        ValueError: A bad address, count or word (as :func:`hwbridge.uartbone.encode_write`).
    """
    frames = encode_write(TRACE_CONTROL_ADDRESS, [ON])
    if op == OP_WRITE:
        frames += encode_write(base + offset, words)
        answered = 0
    else:
        frames += [frame for frame, _ in encode_read(base + offset, count)]
        answered = count
    frames += encode_write(TRACE_CONTROL_ADDRESS, [OFF])
    frames += [frame for frame, _ in encode_read(TRACE_CONTROL_ADDRESS, 1)]
    return frames, answered + 1


class SimTracer:
    """A virtual board's recorder (:class:`hwbridge.drivers.base.BoardTracer`).

    Args:
        link: Returns the board's open link and its window base; raises ``DriverError`` when
            the board runs no design.
        traces: The simulator's recordings directory.
        caps: Its recordings' caps (the simulator enforces them; read bounds here).
    """

    def __init__(
        self, link: Callable[[], tuple[UARTBoneClient, int]], traces: Path, caps: TraceCaps
    ) -> None:
        self._link = link
        self._traces = traces
        self._caps = caps
        self._recording = False

    def recording(self) -> bool:
        return self._recording

    def forget(self) -> None:
        """The simulation ended: nothing records any more; its files go."""
        self._recording = False
        discard_all(self._traces)

    async def start(self) -> None:
        link, _ = self._link()
        await asyncio.to_thread(discard_all, self._traces)
        await self._control(link, ON)
        self._recording = True

    async def stop(self) -> Recording:
        link, _ = self._link()
        await self._control(link, OFF)
        self._recording = False
        found = await asyncio.to_thread(self._take)
        if found is None:
            raise DriverError("the simulator closed no recording")
        return found

    async def stopped(self) -> Recording | None:
        if not self._recording or not await asyncio.to_thread(closed, self._traces):
            return None
        # Stopped at a cap: the control bit is still set; clear it so the next start rises.
        link, _ = self._link()
        await self._control(link, OFF)
        self._recording = False
        return await asyncio.to_thread(self._take)

    async def transaction(
        self, op: int, offset: int, words: Sequence[int], count: int
    ) -> tuple[list[int], Recording]:
        link, base = self._link()
        frames, answered = transaction_frames(base, op, offset, words, count)
        await asyncio.to_thread(discard_all, self._traces)
        try:
            reply = await asyncio.to_thread(link.exchange, frames, answered)
        except UARTBoneError as exc:
            raise DriverError(f"traced transaction failed: {exc}") from None
        if reply[-1] != OFF:
            raise DriverError("the board did not switch its recording off")
        found = await asyncio.to_thread(self._take)
        if found is None:
            raise DriverError("the simulator closed no recording")
        return reply[:-1], found

    async def _control(self, link: UARTBoneClient, value: int) -> None:
        """Write the control bit; the read-back proves the bridge did it (and, when it is 0,
        that the simulator has closed the recording)."""
        frames = encode_write(TRACE_CONTROL_ADDRESS, [value])
        frames += [frame for frame, _ in encode_read(TRACE_CONTROL_ADDRESS, 1)]
        try:
            reply = await asyncio.to_thread(link.exchange, frames, 1)
        except UARTBoneError as exc:
            raise DriverError(f"switching the recording failed: {exc}") from None
        if reply != [value]:
            raise DriverError(f"the recording control reads {reply[0]}, not {value}")

    def _take(self) -> Recording | None:
        """The last closed recording (earlier ones are dropped); None if there is none."""
        numbers = closed(self._traces)
        if not numbers:
            return None
        try:
            return take(self._traces, numbers[-1], self._caps)
        except RecordingError as exc:
            raise DriverError(f"the recording is unusable: {exc}") from None
        finally:
            discard_all(self._traces)
