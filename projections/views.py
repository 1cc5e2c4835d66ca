"""The read models the API serves; every field is derived from events only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from events.jobs import JobStatus, JobType
from events.settings import DEFAULT_LEASE_SECONDS

BoardState = Literal["idle", "queued", "building", "programming", "reserved", "error"]
BoardHealth = Literal["good", "bad", "maintenance", "retired"]
Availability = Literal["active", "maintenance", "retired"]
#: Probes failed in a row that take a board out of the pool (it comes back when one passes).
FAILED_PROBES_BAD = 2
#: The board kind whose boards record waveforms (simulated RTL); real boards cannot.
TRACEABLE_DRIVER = "virtual"
TraceStatus = Literal["recording", "recorded", "failed"]


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    fpga_id: int
    owner: str
    expires_at: datetime
    opened_at: datetime | None = None
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    """What each use renews the lease to (from now)."""
    ends_by: datetime | None = None
    """No renewal goes past this (the session's maximum length after it opened)."""


class BoardView(msgspec.Struct, frozen=True, kw_only=True):
    """One board. ``last_seq`` is the stream sequence of its latest event (the OCC token)."""

    fpga_id: int
    state: BoardState = "idle"
    session: SessionView | None = None
    current_job_id: uuid.UUID | None = None
    current_job_type: JobType | None = None
    window_size: int | None = None
    last_seq: int = 0
    error: str | None = None
    driver: str = "virtual"
    host: str | None = None
    in_service: bool = True
    availability: Availability = "active"
    """What admins decided: in the pool, draining for maintenance, or retired."""
    failed_probes: int = 0
    """Health probes failed in a row since the last that passed."""
    last_probe_at: datetime | None = None
    recording: uuid.UUID | None = None
    """The window recording in progress (asked for and not yet ended), if any."""
    recording_stopping: bool = False
    """Its end was asked for."""

    @property
    def health(self) -> BoardHealth:
        """Whether the board may be given out: ``good``, ``bad`` (its probes fail),
        ``maintenance`` or ``retired`` (an admin's decision)."""
        if self.availability != "active":
            return self.availability
        return "bad" if self.failed_probes >= FAILED_PROBES_BAD else "good"

    @property
    def assignable(self) -> bool:
        """Idle, in service and healthy: a new job may start here."""
        return self.state == "idle" and self.in_service and self.health == "good"


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    data: list[int]
    error: str | None = None


class JobView(msgspec.Struct, frozen=True, kw_only=True):
    job_id: uuid.UUID
    fpga_id: int | None
    """None while the job waits for any board."""
    type: JobType
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    owner: str
    stage: str = "queued"
    error: str | None = None
    result: RunResult | None = None
    session_id: uuid.UUID | None = None
    cache_hit: bool | None = None
    utilisation: dict[str, int] | None = None
    fmax_mhz: float | None = None
    language: str | None = None
    top: str | None = None
    window_size: int | None = None
    stages: dict[str, float] | None = None
    trace_id: uuid.UUID | None = None
    """A traced run's recording."""


class TraceView(msgspec.Struct, frozen=True, kw_only=True):
    """One waveform recording: a window, or a traced run's transaction."""

    trace_id: uuid.UUID
    fpga_id: int
    owner: str
    status: TraceStatus
    requested_at: datetime
    updated_at: datetime
    session_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None
    sha256: str | None = None
    size: int | None = None
    first_cycle: int | None = None
    last_cycle: int | None = None
    stop_reason: str | None = None
    error: str | None = None


class LogView(msgspec.Struct, kw_only=True):
    """A job's log text; bounded so one chatty build cannot exhaust memory."""

    lines: list[str] = msgspec.field(default_factory=list)
    size: int = 0
    truncated: bool = False
