"""Trace view fold: ``apply(trace, event) -> trace``, pure; ``None`` before the trace exists."""

from __future__ import annotations

import uuid

from msgspec.structs import replace

from events.types import (
    BoardEvent,
    RunQueued,
    TraceFailed,
    TraceRecorded,
    TraceRequested,
)
from projections.views import TraceView


def trace_id_of(event: BoardEvent) -> uuid.UUID | None:
    """The trace an event is about, or None."""
    match event:
        case RunQueued(trace_id=trace_id):
            return trace_id
        case TraceRequested(trace_id=tid) | TraceRecorded(trace_id=tid) | TraceFailed(trace_id=tid):
            return tid
    return None


def apply(trace: TraceView | None, event: BoardEvent) -> TraceView | None:
    """Fold one event into the trace it concerns."""
    at = event.occurred_at
    match event:
        case TraceRequested(trace_id=tid, owner=owner, session_id=sid):
            return TraceView(
                trace_id=tid, fpga_id=event.fpga_id, owner=owner, status="recording",
                requested_at=at, updated_at=at, session_id=sid,
            )  # fmt: skip
        case RunQueued(trace_id=tid, owner=owner, session_id=sid, job_id=jid) if tid is not None:
            return TraceView(
                trace_id=tid, fpga_id=event.fpga_id, owner=owner, status="recording",
                requested_at=at, updated_at=at, session_id=sid, job_id=jid,
            )  # fmt: skip
    if trace is None or trace.status != "recording":
        return trace
    match event:
        case TraceRecorded():
            return replace(
                trace, status="recorded", updated_at=at, sha256=event.sha256, size=event.size,
                first_cycle=event.first_cycle, last_cycle=event.last_cycle,
                stop_reason=event.stop_reason,
            )  # fmt: skip
        case TraceFailed(reason=reason):
            return replace(trace, status="failed", updated_at=at, error=reason)
    return trace
