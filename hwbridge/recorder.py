"""A board's waveform recordings as events: each one stored in the trace bucket, named by the
SHA-256 of its FST file, and told by the event it ends in (``TraceRecorded`` or ``TraceFailed``).

The worker calls in here for every step that touches a recording: a traced run, starting and
ending a window recording, ending one because its session ends, and noticing one that stopped
at a cap or was lost with its simulation.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid

import nats.errors

from events.errors import EventStoreError
from events.objects import put_once
from events.store import EventStore
from events.subjects import TRACE_BUCKET
from events.types import RunQueued, TraceFailed, TraceRecorded, WishboneResult
from hwbridge.drivers.base import BoardDriver, DriverError, Recording
from hwbridge.transaction import RUN_TIMEOUT_S
from hwbridge.worklist import Worklist

log = logging.getLogger(__name__)

TraceEnd = TraceRecorded | TraceFailed
#: Seconds to switch a recording on or off, or to store one.
STEP_TIMEOUT_S = 30.0
UNAVAILABLE = "this board records no waveforms: traces need a virtual board"


class Recorder:
    """Records one board's waveforms (its driver's :meth:`~BoardDriver.tracer`)."""

    def __init__(self, store: EventStore, fpga_id: int, driver: BoardDriver) -> None:
        self._store = store
        self._fpga_id = fpga_id
        self._driver = driver

    def _failed(
        self, trace_id: uuid.UUID, owner: str, reason: str, job_id: uuid.UUID | None = None
    ) -> TraceFailed:
        return TraceFailed(
            fpga_id=self._fpga_id, trace_id=trace_id, owner=owner, reason=reason, job_id=job_id
        )

    async def keep(
        self,
        recording: Recording,
        *,
        trace_id: uuid.UUID,
        owner: str,
        stop_reason: str,
        session_id: uuid.UUID | None = None,
        job_id: uuid.UUID | None = None,
    ) -> TraceEnd:
        """Store ``recording`` (write-once, by content) and say so."""
        data = recording.fst
        sha256 = hashlib.sha256(data).hexdigest()
        headers = {"Fpga-Id": [str(self._fpga_id)], "Trace-Id": [str(trace_id)]}
        try:
            await asyncio.wait_for(
                put_once(self._store.nc, TRACE_BUCKET, sha256, data, headers=headers),
                STEP_TIMEOUT_S,
            )
        except (EventStoreError, nats.errors.Error, TimeoutError) as exc:
            log.warning("board %d: trace %s not stored: %s", self._fpga_id, trace_id, exc)
            reason = f"the trace could not be stored (the trace bucket may be full): {exc}"
            return self._failed(trace_id, owner, reason, job_id=job_id)
        return TraceRecorded(
            fpga_id=self._fpga_id, trace_id=trace_id, owner=owner, sha256=sha256,
            size=len(data), first_cycle=recording.first_cycle, last_cycle=recording.last_cycle,
            stop_reason=stop_reason, session_id=session_id, job_id=job_id,
        )  # fmt: skip

    async def run(
        self, run: RunQueued, session: uuid.UUID | None
    ) -> tuple[TraceEnd, WishboneResult]:
        """A traced run: its recording's event, then its result."""
        assert run.trace_id is not None
        started = time.perf_counter()
        tracer = self._driver.tracer()
        ok, data, error, recording = True, list(run.data), None, None
        try:
            if run.session_id is not None and run.session_id != session:
                raise DriverError("the run's session ended before the run; nothing was sent")
            if tracer is None:
                raise DriverError(UNAVAILABLE)
            if not self._driver.programmed():
                raise DriverError("the board has no design loaded")
            words, recording = await asyncio.wait_for(
                tracer.transaction(run.op, run.address, run.data, run.count), RUN_TIMEOUT_S
            )
            data = words if words else data
        except (DriverError, TimeoutError, ValueError) as exc:
            ok, data, error = False, [], str(exc) or "the board did not answer in time"
        result = WishboneResult(
            fpga_id=run.fpga_id, job_id=run.job_id, ok=ok, data=data, error=error,
            duration_us=int((time.perf_counter() - started) * 1e6),
        )  # fmt: skip
        if recording is None:
            reason = f"nothing was recorded: {error}"
            return self._failed(run.trace_id, run.owner, reason, job_id=run.job_id), result
        reason = "transaction" if recording.stop_reason == "stopped" else recording.stop_reason
        kept = await self.keep(
            recording, trace_id=run.trace_id, owner=run.owner, stop_reason=reason,
            session_id=run.session_id, job_id=run.job_id,
        )  # fmt: skip
        return kept, result

    async def start(
        self, trace_id: uuid.UUID, owner: str, session: uuid.UUID | None, wanted: uuid.UUID | None
    ) -> TraceFailed | None:
        """Switch a window recording on (after ``TraceStarted``); its failure, or None."""
        tracer = self._driver.tracer()
        try:
            if wanted is not None and wanted != session:
                raise DriverError("the session ended before the recording could start")
            if tracer is None:
                raise DriverError(UNAVAILABLE)
            await asyncio.wait_for(tracer.start(), STEP_TIMEOUT_S)
        except (DriverError, TimeoutError) as exc:
            return self._failed(trace_id, owner, str(exc) or "the board did not answer in time")
        return None

    async def stop(self, wl: Worklist, reason: str) -> TraceEnd | None:
        """End the window recording in progress (``reason``: why, unless a cap ended it)."""
        current = wl.recording
        if current is None:
            return None
        tracer = self._driver.tracer()
        try:
            if tracer is None or not tracer.recording():
                raise DriverError("the recording was lost with the board's simulation")
            recording = await asyncio.wait_for(tracer.stop(), STEP_TIMEOUT_S)
        except (DriverError, TimeoutError) as exc:
            why = str(exc) or "the board did not answer in time"
            return self._failed(current.trace_id, current.owner, why)
        stop_reason = reason if recording.stop_reason == "stopped" else recording.stop_reason
        return await self.keep(
            recording, trace_id=current.trace_id, owner=current.owner, stop_reason=stop_reason,
            session_id=current.session_id,
        )  # fmt: skip

    async def look_after(self, wl: Worklist) -> TraceEnd | None:
        """A window recording that stopped at a cap, or was lost (the simulation restarted or
        died): its end; None while it goes on."""
        current = wl.recording
        if current is None:
            return None
        tracer = self._driver.tracer()
        if tracer is None or not tracer.recording():
            why = "the recording was lost: the board's simulation ended or restarted"
            return self._failed(current.trace_id, current.owner, why)
        try:
            recording = await asyncio.wait_for(tracer.stopped(), STEP_TIMEOUT_S)
        except (DriverError, TimeoutError) as exc:
            why = str(exc) or "the board did not answer in time"
            return self._failed(current.trace_id, current.owner, why)
        if recording is None:
            return None
        return await self.keep(
            recording, trace_id=current.trace_id, owner=current.owner,
            stop_reason=recording.stop_reason, session_id=current.session_id,
        )  # fmt: skip
