"""Commands: what a caller asked for, already validated and authenticated at the edge."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from events.settings import DEFAULT_LEASE_SECONDS, DEFAULT_MAX_SESSION_SECONDS


class Submit(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str
    design_sha256: str
    design_size: int
    filename: str
    language: str = "migen"
    top: str | None = None
    held: int = 0
    """Boards the owner holds now (queued through reserved), counted at the edge."""
    max_boards: int = 0
    """Most boards one owner may hold (0 = no limit)."""
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    """The lease of the session the job opens (the policy in force at the submit)."""
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS
    """The longest that session may last, renewals included."""


class Run(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str
    session_id: str | None
    op: int
    address: int
    data: list[int]
    count: int
    now: datetime | None = None
    """The clock the lease is checked and renewed with (None: neither)."""
    trace_id: uuid.UUID | None = None
    """Record the transaction as this trace (a virtual board only)."""


class StartTrace(msgspec.Struct, frozen=True, kw_only=True):
    """Start recording the board's user slot (one recording at a time, a virtual board)."""

    fpga_id: int
    trace_id: uuid.UUID
    owner: str
    session_id: str | None
    now: datetime | None = None


class StopTrace(msgspec.Struct, frozen=True, kw_only=True):
    """End the recording in progress."""

    fpga_id: int
    owner: str
    session_id: str | None
    now: datetime | None = None


class Reset(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str
    admin: bool = False
    session_id: str | None = None


class Release(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str
    admin: bool = False
    session_id: str | None = None


class Cancel(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    by: str
    admin: bool = False


class OpenStream(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    stream_id: uuid.UUID
    session_id: str
    owner: str
    now: datetime | None = None
    """The clock the lease is checked and renewed with (None: neither)."""
    api_instance: str = ""


class Expire(msgspec.Struct, frozen=True, kw_only=True):
    """End the session if its lease ran out by ``now``; the reset job is ``job_id``."""

    fpga_id: int
    job_id: uuid.UUID
    now: datetime


class SetAvailability(msgspec.Struct, frozen=True, kw_only=True):
    """An admin drains a board for maintenance, retires it, or restores it to the pool."""

    fpga_id: int
    to: Literal["maintenance", "retired", "active"]
    by: str
    admin: bool
    reason: str = ""


class Wait(msgspec.Struct, frozen=True, kw_only=True):
    """Submit a design for any board (of ``driver``, if named): it waits for one."""

    job_id: uuid.UUID
    owner: str
    design_sha256: str
    design_size: int
    filename: str
    language: str
    top: str | None = None
    driver: str | None = None
    max_waiting: int = 0
    """Most jobs one key may have waiting (0 = no limit)."""
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS


class CancelWaiting(msgspec.Struct, frozen=True, kw_only=True):
    job_id: uuid.UUID
    by: str
    admin: bool = False
    reason: str = ""


Command = (
    Submit
    | Run
    | Reset
    | Release
    | Cancel
    | OpenStream
    | Expire
    | SetAvailability
    | StartTrace
    | StopTrace
)
