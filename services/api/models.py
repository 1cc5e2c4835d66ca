"""Request and response bodies of the REST contract (field names and types as in the seed)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from events.jobs import JobStatus, JobType
from projections.views import BoardHealth, BoardState, TraceStatus


class RunRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Payload for POST /fpga/{id}/run."""

    op: Annotated[int, msgspec.Meta(description="Wishbone opcode: 1 = write, 2 = read")]
    address: Annotated[
        int, msgspec.Meta(description="Byte offset inside the design's window (4-byte aligned)")
    ]
    data: Annotated[list[int], msgspec.Meta(description="32-bit data words (write only)")] = (
        msgspec.field(default_factory=list)
    )
    count: Annotated[
        int, msgspec.Meta(description="Number of 32-bit words to read (read only)")
    ] = 1
    trace: Annotated[
        bool,
        msgspec.Meta(
            description="Record a waveform of the transaction (virtual boards): the result "
            "carries its trace_id"
        ),
    ] = False


class SessionResponse(msgspec.Struct):
    session_id: uuid.UUID
    fpga_id: int
    owner: str
    expires_at: datetime


class FPGASummary(msgspec.Struct):
    fpga_id: int
    state: BoardState
    session: SessionResponse | None
    current_job_id: uuid.UUID | None
    driver: str = "virtual"
    in_service: bool = True
    health: BoardHealth = "good"
    """Whether the board may be given out: good, bad (its health probes fail), maintenance or
    retired (an admin's decision). Independent of ``state``."""


class JobResponse(msgspec.Struct):
    job_id: uuid.UUID
    fpga_id: int | None
    """The board the job runs on; null while it waits for any board (``POST /jobs``)."""
    type: JobType
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    stage: str | None = None
    error: str | None = None
    cache_hit: bool | None = None
    utilisation: dict[str, int] | None = None
    fmax_mhz: float | None = None
    language: str | None = None
    top: str | None = None
    window_size: int | None = None
    stages: dict[str, float] | None = None
    """Seconds each stage of the build took (``elaborate``, ``verilator``, ``compile``, ...)."""
    position: int | None = None
    """While the job waits for any board: its place in line (1 = next)."""


class SubmitResponse(msgspec.Struct):
    job_id: uuid.UUID
    fpga_id: int
    status: JobStatus = "queued"


class RunResponse(msgspec.Struct, omit_defaults=True):
    # omit_defaults: trace_id appears only for a traced run; every other field always does.
    job_id: uuid.UUID
    fpga_id: int
    status: JobStatus
    trace_id: uuid.UUID | None = None
    """The recording of the transaction, when one was asked for (``"trace": true``)."""


class RunResultResponse(msgspec.Struct, omit_defaults=True):
    # omit_defaults: trace_id appears only for a traced run; every other field always does.
    ok: bool
    data: list[int]
    error: str | None
    trace_id: uuid.UUID | None = None
    """The recording of the transaction (``GET /fpga/{id}/traces/{trace_id}``), if traced."""


class TraceResponse(msgspec.Struct):
    """A waveform recording: its state and, once recorded, what it holds."""

    trace_id: uuid.UUID
    fpga_id: int
    status: TraceStatus
    """``recording``, ``recorded`` or ``failed``."""
    requested_at: datetime
    updated_at: datetime
    job_id: uuid.UUID | None = None
    """The traced run, for a recording of one transaction."""
    sha256: str | None = None
    """SHA-256 of the FST file (the trace bucket's name for it)."""
    size: int | None = None
    """Bytes of the FST file."""
    first_cycle: int | None = None
    """The board's clock cycle (since its simulation started) the recording began at."""
    last_cycle: int | None = None
    stop_reason: str | None = None
    """Why it stopped: ``transaction``, ``stopped``, ``cycle_cap``, ``byte_cap``,
    ``session_ended`` or ``finished``."""
    error: str | None = None
    """Why it failed."""


class HealthResponse(msgspec.Struct):
    status: str
    nats: bool
    jetstream: bool


class ErrorResponse(msgspec.Struct):
    error: str
    message: str
    job_id: uuid.UUID | None = None


class ErrorEnvelope(msgspec.Struct):
    detail: ErrorResponse


class ExchangeRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Payload for POST /auth/github/exchange."""

    github_token: str


class ExchangeResponse(msgspec.Struct):
    """An API key for the GitHub account; pass it as ``X-API-Key``. It is shown only once."""

    api_key: str
    github_username: str


class WhoAmI(msgspec.Struct):
    key_id: str
    name: str
    admin: bool


class AvailabilityRequest(msgspec.Struct, forbid_unknown_fields=True):
    """Optional payload of POST /fpga/{id}/maintenance, /retire and /restore."""

    reason: Annotated[str, msgspec.Meta(max_length=500, description="why, for the record")] = ""


class JobAccepted(msgspec.Struct):
    """A design submitted for any board: on a board already, or waiting in line."""

    job_id: uuid.UUID
    status: JobStatus
    fpga_id: int | None = None
    """The board it got; null while it waits."""
    position: int | None = None
    """Its place in line while it waits (1 = next)."""


class WaitingJob(msgspec.Struct):
    """One job of the farm's waiting list, in the order jobs will get boards."""

    job_id: uuid.UUID
    owner: str
    """The API key id that submitted it."""
    position: int
    driver: str | None
    """The board kind it needs; null: any."""
    waiting_since: datetime
