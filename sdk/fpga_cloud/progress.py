"""What waiting for a job reports, and how it ends: shared by the sync and async jobs.

A wait listens to the board's live feed for the job's events and reads the job once per event,
so every stage reaches ``on_progress`` as it happens. While the feed is quiet the job is read
again every :data:`RECHECK_S` seconds; a service without the feed is polled every
:data:`POLL_S` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fpga_cloud.errors import ApiError, JobFailed, WaitTimeout
from fpga_cloud.models import JobInfo

ProgressCallback = Callable[[JobInfo], object]
"""Called with the job each time its status or stage changes (the async client awaits what
it returns, if anything awaitable)."""

RECHECK_S = 5.0
POLL_S = 0.5
#: Error statuses that mean the live feed itself is not there: wait by polling instead.
NO_FEED_STATUSES = frozenset({404, 405, 406, 501})


class NoFeed(Exception):
    """The service answered the live feed's request with "no such thing": poll instead."""


def feed_refused(exc: ApiError) -> Exception:
    """What a refused feed request means: :class:`NoFeed`, or the refusal itself."""
    return NoFeed(str(exc)) if exc.status in NO_FEED_STATUSES else exc


@dataclass
class Tracker:
    """Remembers the last status and stage seen, so each change is reported once."""

    last: tuple[str, str | None] | None = None

    def changed(self, info: JobInfo) -> bool:
        """Whether ``info`` shows a new status or stage (and remember it)."""
        key = (info.status, info.stage)
        if key == self.last:
            return False
        self.last = key
        return True


@dataclass(frozen=True)
class Deadline:
    """The moment a wait gives up (never, without a timeout)."""

    at: float | None

    @classmethod
    def after(cls, timeout: float | None) -> Deadline:
        """The deadline ``timeout`` seconds from now (None: no deadline)."""
        return cls(None if timeout is None else time.monotonic() + timeout)

    def left(self, cap: float) -> float:
        """Seconds left, at most ``cap``.

        Raises:
            WaitTimeout: none are left.
        """
        if self.at is None:
            return cap
        left = self.at - time.monotonic()
        if left <= 0:
            raise WaitTimeout("the job did not end in time; it goes on (wait again, or cancel)")
        return min(cap, left)


def outcome(info: JobInfo) -> JobInfo:
    """The job, if it completed.

    Raises:
        JobFailed: it failed or was cancelled (``error`` says why).
    """
    if info.status == "complete":
        return info
    reason = info.error or info.status
    raise JobFailed(f"job {info.job_id} on board {info.fpga_id} {info.status}: {reason}", info)
