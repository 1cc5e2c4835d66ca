"""What the service answers, as typed, read-only records.

Fields the service adds later are ignored, so an older SDK keeps working. States, statuses and
stages are plain strings: the values known today are listed on each field.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

#: Job statuses after which nothing changes.
TERMINAL_STATUSES = frozenset({"complete", "failed", "cancelled"})
#: ``submit(board=ANY)``: the next free board, waiting in line for one if need be.
ANY: Literal["any"] = "any"
#: What ``submit`` takes as its board: a board id, ``"any"``, or None (the first idle one).
BoardChoice = int | Literal["any"] | None


class SessionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A board's reservation: who holds it and until when (each use renews the lease)."""

    session_id: uuid.UUID
    """Send it as ``X-Session-ID``; the SDK's :class:`~fpga_cloud.Session` does."""
    fpga_id: int
    owner: str
    """The key id of the holder."""
    expires_at: datetime
    """When the lease runs out unless renewed (by a run, or by opening the stream)."""

    def seconds_left(self, now: datetime | None = None) -> float:
        """Seconds until the lease runs out (negative once it has)."""
        return (self.expires_at - (now or datetime.now(UTC))).total_seconds()


class Board(msgspec.Struct, frozen=True, kw_only=True):
    """One board of the farm."""

    fpga_id: int
    state: str
    """``idle``, ``queued``, ``building``, ``programming``, ``reserved`` or ``error``."""
    session: SessionInfo | None = None
    current_job_id: uuid.UUID | None = None
    driver: str = "virtual"
    """``virtual`` (a Verilator simulation) or ``ecp5_evn`` (a real ECP5 board)."""
    in_service: bool = True

    @property
    def available(self) -> bool:
        """Whether a design may be sent to it now (idle and in service)."""
        return self.state == "idle" and self.in_service


class JobInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A job (a build, a Wishbone run or a reset) as the service shows it."""

    job_id: uuid.UUID
    fpga_id: int | None
    """The board it runs on; None while it waits for any board."""
    type: str
    """``build_and_program``, ``run`` or ``reset``."""
    status: str
    """``waiting`` (for any board), ``queued``, ``running``, ``complete``, ``failed`` or
    ``cancelled``."""
    created_at: datetime
    updated_at: datetime
    stage: str | None = None
    """Finer than the status: ``queued``, ``building``, ``built``, ``programming``,
    ``programmed``, ``reserved`` for a build; ``running``, ``done`` for a run; ``resetting``,
    ``idle`` for a reset; ``failed``, ``cancelled`` when it ended so."""
    error: str | None = None
    """Why it failed, in one line (the full story is in the log)."""
    cache_hit: bool | None = None
    utilisation: dict[str, int] | None = None
    fmax_mhz: float | None = None
    language: str | None = None
    top: str | None = None
    window_size: int | None = None
    """Bytes of the design's window: addresses go from 0 to this, 4-byte aligned."""
    stages: dict[str, float] | None = None
    """Seconds each build stage took."""
    position: int | None = None
    """Its place in line while it waits for any board (1 = next)."""

    @property
    def done(self) -> bool:
        """Whether the job has ended (complete, failed or cancelled)."""
        return self.status in TERMINAL_STATUSES


class Submitted(msgspec.Struct, frozen=True, kw_only=True):
    """The service's answer to a submit, run or release: the job it queued (a submit for any
    board: on a board at once, or ``waiting`` at ``position`` in line)."""

    job_id: uuid.UUID
    fpga_id: int | None
    status: str = "queued"
    position: int | None = None
    trace_id: uuid.UUID | None = None
    """A traced run's recording."""


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a Wishbone run job: words read, or the words written."""

    ok: bool
    data: list[int]
    error: str | None = None
    trace_id: uuid.UUID | None = None
    """The run's waveform recording, when it was traced."""


class TraceInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A waveform recording of a virtual board: its state and what it holds."""

    trace_id: uuid.UUID
    fpga_id: int
    status: str
    """``recording``, ``recorded`` or ``failed``."""
    requested_at: datetime
    updated_at: datetime
    job_id: uuid.UUID | None = None
    sha256: str | None = None
    size: int | None = None
    first_cycle: int | None = None
    last_cycle: int | None = None
    stop_reason: str | None = None
    """``transaction``, ``stopped``, ``cycle_cap``, ``byte_cap``, ``session_ended`` or
    ``finished``."""
    error: str | None = None


class WhoAmI(msgspec.Struct, frozen=True, kw_only=True):
    """The key a client authenticates with."""

    key_id: str
    name: str
    admin: bool


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One event of the live feed (the same record for SSE and WebSocket)."""

    seq: int
    """Its stream sequence: resume after it with ``events(after=seq)``."""
    type: str
    """The event type, e.g. ``JobQueued``, ``SessionOpened``, ``WishboneResult``."""
    fpga_id: int
    job_id: uuid.UUID | None = None
    time: datetime
    payload: dict[str, Any]
    """The event's own fields (``payload["type"]`` repeats the type)."""
    redacted: bool = False
    """True when another key's run data was removed from the payload."""


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /health``: whether the service and its event store answer."""

    status: str
    nats: bool = False
    jetstream: bool = False
