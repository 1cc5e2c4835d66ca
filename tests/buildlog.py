"""A build log recorder: what a build or programmer passes to its ``log`` callback, kept."""

from __future__ import annotations

import re


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    async def __call__(self, stage: str, line: str) -> None:
        self.lines.append((stage, line))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


#: How a job's stored log line starts: the seconds since the job's build started.
TIMED = re.compile(r"^\d+\.\d\ds ")


def untimed(line: str) -> str:
    """A stored log line without its leading time."""
    return TIMED.sub("", line, count=1)
