"""Commands: what a caller asked for, already validated and authenticated at the edge."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec


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


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    """The lease policy and the clock reading a renewal is decided with."""

    now: datetime
    length: timedelta
    max_total: timedelta


class Run(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str
    session_id: str | None
    op: int
    address: int
    data: list[int]
    count: int
    lease: Lease | None = None


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
    lease: Lease | None = None
    api_instance: str = ""


class Expire(msgspec.Struct, frozen=True, kw_only=True):
    """End the session if its lease ran out by ``now``; the reset job is ``job_id``."""

    fpga_id: int
    job_id: uuid.UUID
    now: datetime


Command = Submit | Run | Reset | Release | Cancel | OpenStream | Expire
