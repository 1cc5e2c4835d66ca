"""The farm's waiting list fold: ``apply(waiting, event, seq) -> waiting``, pure.

Jobs submitted for any board wait here in the order they came; the fair order they get boards
in is a rule of the service (``services.domain.fairness``), decided from this view.
"""

from __future__ import annotations

import uuid

import msgspec
from msgspec.structs import replace

from events.farm import JobAssigned, JobWaiting, QueueEvent, WaitingCancelled


class Waiter(msgspec.Struct, frozen=True, kw_only=True):
    """One waiting job: what its ``JobWaiting`` said, and the sequence it was stored at."""

    seq: int
    job: JobWaiting

    @property
    def job_id(self) -> uuid.UUID:
        return self.job.job_id

    @property
    def owner(self) -> str:
        return self.job.owner


class WaitingList(msgspec.Struct, frozen=True, kw_only=True):
    """Waiting jobs in arrival order, when each key last got a board, and the list's last
    sequence (the expected sequence of its next append)."""

    jobs: tuple[Waiter, ...] = ()
    served: dict[str, int] = msgspec.field(default_factory=dict)
    """The sequence of each key's latest assignment: round-robin between keys."""
    last_seq: int = 0

    def waiting(self, job_id: uuid.UUID) -> Waiter | None:
        return next((w for w in self.jobs if w.job_id == job_id), None)

    def count(self, owner: str) -> int:
        return sum(w.owner == owner for w in self.jobs)


def apply(waiting: WaitingList, event: QueueEvent, seq: int) -> WaitingList:
    """Fold one event of the waiting list."""
    waiting = replace(waiting, last_seq=seq)
    match event:
        case JobWaiting():
            return replace(waiting, jobs=(*waiting.jobs, Waiter(seq=seq, job=event)))
        case JobAssigned(job_id=jid, owner=owner):
            jobs = tuple(w for w in waiting.jobs if w.job_id != jid)
            return replace(waiting, jobs=jobs, served={**waiting.served, owner: seq})
        case WaitingCancelled(job_id=jid):
            return replace(waiting, jobs=tuple(w for w in waiting.jobs if w.job_id != jid))
