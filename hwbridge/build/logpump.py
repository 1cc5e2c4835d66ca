"""Reads a build child's output into the job's log, tagged with the stage it announced."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from hwbridge.build.protocol import ANSI, ERROR_MARKER, RESULT_MARKER, STAGE_MARKER
from hwbridge.drivers.base import LogFn


class LogPump:
    """Tags child output lines with the current stage and forwards them to ``log``.

    Attributes:
        stage: The stage the child announced last.
        error: The child's own reason for failing, if it gave one.
        result: The child's result object, if it printed one.
        last_stderr: The last non-empty line on stderr (the reason of a crash).
    """

    def __init__(self, log: LogFn, max_lines: int) -> None:
        self.log = log
        self.stage = "elaborate"
        self._stage_started = time.monotonic()
        self._seconds: dict[str, float] = {}
        self.max_lines = max_lines
        self.lines = 0
        self.error: str | None = None
        self.result: dict[str, Any] | None = None
        self.last_stderr = ""

    def _switch(self, stage: str) -> None:
        now = time.monotonic()
        self._seconds[self.stage] = self._seconds.get(self.stage, 0.0) + now - self._stage_started
        self.stage, self._stage_started = stage, now

    def stage_seconds(self) -> dict[str, float]:
        """Seconds spent in each stage so far (the current one until now), in stage order."""
        self._switch(self.stage)
        return {stage: round(seconds, 3) for stage, seconds in self._seconds.items()}

    async def _emit(self, line: str) -> None:
        self.lines += 1
        if self.lines <= self.max_lines:
            await self.log(self.stage, line)
        elif self.lines == self.max_lines + 1:
            await self.log(self.stage, f"[log truncated after {self.max_lines} lines]")

    async def pump(self, stream: asyncio.StreamReader, is_stderr: bool) -> None:
        """Read ``stream`` to its end."""
        while True:
            try:
                raw = await stream.readline()
            except ValueError:
                # asyncio drops an over-long line; say so rather than fail the build.
                await self._emit("[over-long output line dropped]")
                continue
            if not raw:
                return
            line = ANSI.sub("", raw.decode("utf-8", "replace").rstrip("\r\n"))
            if line.startswith(STAGE_MARKER):
                self._switch(line[len(STAGE_MARKER) :].strip() or self.stage)
            elif line.startswith(ERROR_MARKER):
                self.error = line[len(ERROR_MARKER) :].strip()
            elif line.startswith(RESULT_MARKER):
                with contextlib.suppress(ValueError):
                    self.result = json.loads(line[len(RESULT_MARKER) :])
            else:
                if is_stderr and line.strip():
                    self.last_stderr = line.strip()
                await self._emit(line)
