"""Decisions on the farm's waiting list, pure: joining it, leaving it, and giving a waiting job
a board. Each returns the events to append; the caller appends them with the expected
sequences of the aggregates they were decided against (the list, the board, the key)."""

from __future__ import annotations

from events.farm import BoardClaimed, JobAssigned, JobWaiting, WaitingCancelled
from events.types import JobQueued
from projections.waiting import WaitingList
from services.domain.commands import CancelWaiting, Wait
from services.domain.errors import JobNotFound, NotWaiting, WaitingLimitReached
from services.domain.fairness import Assignment


def decide_wait(command: Wait, waiting: WaitingList) -> JobWaiting:
    """Join the waiting list.

    Raises:
        WaitingLimitReached: the key has ``max_waiting`` jobs waiting already.
    """
    count = waiting.count(command.owner)
    if command.max_waiting and count >= command.max_waiting:
        raise WaitingLimitReached(
            f"this API key has {count} jobs waiting, the most one key may have; cancel one or "
            "wait for a board."
        )
    return JobWaiting(
        job_id=command.job_id, owner=command.owner, design_sha256=command.design_sha256,
        design_size=command.design_size, filename=command.filename, language=command.language,
        top=command.top, driver=command.driver, lease_seconds=command.lease_seconds,
        max_session_seconds=command.max_session_seconds,
    )  # fmt: skip


def decide_cancel_waiting(command: CancelWaiting, waiting: WaitingList) -> WaitingCancelled:
    """Leave the waiting list (the owner, or an admin).

    Raises:
        JobNotFound: no such job waits, or it is another key's.
    """
    waiter = waiting.waiting(command.job_id)
    if waiter is None or not (command.admin or waiter.owner == command.by):
        raise JobNotFound(f"Job {command.job_id} not found.")
    return WaitingCancelled(job_id=command.job_id, by=command.by, reason=command.reason)


def decide_assignment(
    assignment: Assignment, held: int
) -> tuple[JobQueued, JobAssigned, BoardClaimed]:
    """Put the waiting job on the free board: its ``JobQueued`` on the board, ``JobAssigned``
    on the list, ``BoardClaimed`` on its key's holdings (``held``: boards the key holds).

    Raises:
        NotWaiting: the board is no longer free.
    """
    board, job = assignment.board, assignment.waiter.job
    if not board.assignable:
        raise NotWaiting(f"FPGA {board.fpga_id} is no longer free.")
    fpga_id = board.fpga_id
    queued = JobQueued(
        fpga_id=fpga_id, job_id=job.job_id, owner=job.owner, design_sha256=job.design_sha256,
        design_size=job.design_size, filename=job.filename, language=job.language, top=job.top,
        lease_seconds=job.lease_seconds, max_session_seconds=job.max_session_seconds,
    )  # fmt: skip
    assigned = JobAssigned(job_id=job.job_id, fpga_id=fpga_id, owner=job.owner)
    claimed = BoardClaimed(fpga_id=fpga_id, owner=job.owner, job_id=job.job_id, held=held)
    return queued, assigned, claimed
