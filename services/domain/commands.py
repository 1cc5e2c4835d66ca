"""Commands: what a client asked for, already validated at the edge."""

from __future__ import annotations

import uuid

import msgspec


class Submit(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str
    design_sha256: str
    design_size: int
    filename: str


class Run(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str
    op: int
    address: int
    data: list[int]
    count: int


class Reset(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str


class Release(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    owner: str


class Cancel(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    job_id: uuid.UUID
    by: str


class OpenStream(msgspec.Struct, frozen=True, kw_only=True):
    fpga_id: int
    stream_id: uuid.UUID
    session_id: str
    owner: str


Command = Submit | Run | Reset | Release | Cancel | OpenStream
