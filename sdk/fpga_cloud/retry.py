"""When a request is tried again, and how long the SDK waits first.

* 429 (rate limited) and 503 (unavailable) are retried for every request, after the
  ``Retry-After`` the service sent (capped at ``max_wait``), else after a doubling backoff.
* A connection that could not be opened is retried for every request: the service never saw it.
* A connection that broke after the request was sent is retried only for requests that are
  safe to repeat (``GET``); a submit, run or release is not repeated, as it may have happened.
* Live feeds (events, followed logs) reconnect for up to ``reconnect_for`` seconds.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

#: HTTP statuses that mean "not now": the request did not happen and may be sent again.
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a client tries before it raises.

    Attributes:
        attempts: retries after the first try (0: never retry).
        max_wait: the longest single wait in seconds; a longer ``Retry-After`` is not waited
            for, the error is raised at once.
        backoff: the first wait when the service names none; it doubles each retry.
        reconnect_for: seconds a live feed keeps trying to reconnect after it was cut.
    """

    attempts: int = 4
    max_wait: float = 30.0
    backoff: float = 0.25
    reconnect_for: float = 60.0

    def wait(self, retry: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based), or None: give up."""
        if retry > self.attempts:
            return None
        delay = retry_after if retry_after is not None else self.backoff * 2 ** (retry - 1)
        return None if delay > self.max_wait else delay


NO_RETRY = RetryPolicy(attempts=0, reconnect_for=0.0)
"""A policy that never retries nor reconnects (every refusal is raised at once)."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
