"""What the load clients did: every command with each attempt and its final answer."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

Op = Literal["submit", "run", "release", "cancel"]
#: Commands whose answer names the job they created (``job_id``).
JOB_CREATING: frozenset[str] = frozenset({"submit", "run", "release"})
#: An attempt answered 503 that did not say when to retry.
NO_RETRY_AFTER = "503 without Retry-After"


@dataclass
class Call:
    """One command as a client saw it: its attempts (status, or the transport error's name)
    and the answer it ended with (``status`` None: it was never answered)."""

    client: str
    op: Op
    fpga_id: int
    owner: str
    idempotency_key: str
    target_job: uuid.UUID | None = None
    """The job a cancel names."""
    attempts: list[int | str] = field(default_factory=list)
    status: int | None = None
    body: Any = None
    started: float = field(default_factory=time.monotonic)

    @property
    def job_id(self) -> uuid.UUID | None:
        """The job its 2xx answer names."""
        if isinstance(self.body, dict) and isinstance(self.body.get("job_id"), str):
            return uuid.UUID(self.body["job_id"])
        return None

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("detail"), dict):
            code = self.body["detail"].get("error")
            return code if isinstance(code, str) else None
        return None


@dataclass
class StreamTally:
    """Wishbone stream frames: answered, and broken off (the stream's API replica died, the
    session ended)."""

    frames: int = 0
    broken: int = 0


@dataclass
class History:
    """All clients' calls, streams and the faults injected meanwhile."""

    calls: list[Call] = field(default_factory=list)
    streams: StreamTally = field(default_factory=StreamTally)
    faults: list[str] = field(default_factory=list)
    feed_seqs: list[int] = field(default_factory=list)
    reads: Counter[str] = field(default_factory=Counter)
    """GETs of boards and jobs by answer (a status, or the transport error's name)."""
    errors: list[str] = field(default_factory=list)
    """Exceptions a client did not expect (each a failed check)."""

    def answers(self) -> Counter[str]:
        """Attempts by answer (status codes and transport errors), over every call."""
        return Counter(str(a) for call in self.calls for a in call.attempts)

    def by_op(self) -> Counter[str]:
        return Counter(call.op for call in self.calls)
