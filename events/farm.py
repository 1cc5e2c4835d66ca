"""Events of the farm's aggregates: rules that span boards, each on its own subject beside the
boards' on the board stream (``fpgafarm.<aggregate>.<Type>``).

* A key's holdings (``fpgafarm.key-<hash>``): ``BoardClaimed``, appended with every submit so
  that the per-key board limit is decided with an expected sequence, like a board's rules.
* The waiting list (``fpgafarm.queue``): jobs submitted for any board wait here
  (``JobWaiting``) until one is free; ``JobAssigned`` moves a job onto a board, appended in
  one atomic batch with the board's ``JobQueued`` and the key's ``BoardClaimed``, each with its
  expected sequence, so no board is given twice and no job is assigned twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from events.settings import DEFAULT_LEASE_SECONDS, DEFAULT_MAX_SESSION_SECONDS
from events.types import SCHEMA_VERSION, BoardEvent, new_event_id, utc_now


class FarmEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every farm event: identity, time and schema version (no board of its own)."""

    event_id: str = msgspec.field(default_factory=new_event_id)
    occurred_at: datetime = msgspec.field(default_factory=utc_now)
    v: int = SCHEMA_VERSION


class BoardClaimed(FarmEvent, tag=True, frozen=True, kw_only=True):
    """An API key's submit took a board: the key's holdings aggregate moves on.

    Appended in one atomic batch with the submit's ``JobQueued``, each with its expected
    sequence, so two API replicas deciding for the same key cannot both pass its board limit.
    """

    fpga_id: int
    owner: str
    job_id: uuid.UUID
    held: int
    """Boards the key held when this was decided, this one not counted."""


class JobWaiting(FarmEvent, tag=True, frozen=True, kw_only=True):
    """A design was submitted for any board (of ``driver``, if named) and waits for one."""

    job_id: uuid.UUID
    owner: str
    design_sha256: str
    design_size: int
    filename: str
    language: str
    top: str | None = None
    driver: str | None = None
    """The board kind it must run on (``virtual``, ``ecp5_evn``); None: any."""
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS


class JobAssigned(FarmEvent, tag=True, frozen=True, kw_only=True):
    """A waiting job got a board: its ``JobQueued`` is on the board, in the same batch."""

    job_id: uuid.UUID
    fpga_id: int
    owner: str


class WaitingCancelled(FarmEvent, tag=True, frozen=True, kw_only=True):
    """A waiting job left the list before it got a board (its owner or an admin, ``by``)."""

    job_id: uuid.UUID
    by: str
    reason: str = ""


FarmEvents = BoardClaimed | JobWaiting | JobAssigned | WaitingCancelled
QueueEvent = JobWaiting | JobAssigned | WaitingCancelled
StoredEvent = BoardEvent | FarmEvents
