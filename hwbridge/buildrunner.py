"""Parent side of every build: run the build child in the sandbox and stream its log.

Both board kinds build the same way: the child (:mod:`hwbridge.virtual.elaborate`, or
:mod:`hwbridge.ecp5.elaborate` phase by phase) executes untrusted user code and compilers, so it
runs through :class:`hwbridge.sandbox.Sandbox` with the build's resource limits, no network,
the build directory as its only writable place and a clean environment. Its output follows the
line protocol of :mod:`hwbridge.virtual.elaborate` (stage, error and result markers). This
module never imports LiteX.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwbridge.sandbox import ResourceLimits, Sandbox, SandboxError, clean_environment
from hwbridge.virtual.elaborate import ERROR_MARKER, RESULT_MARKER, STAGE_MARKER

__all__ = [
    "BuildLimits",
    "DesignBuildError",
    "LogFn",
    "LogPump",
    "build_environment",
    "close_build_dir",
    "kill_group",
    "open_build_dir",
    "run_build_child",
]

LogFn = Callable[[str, str], Awaitable[None]]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LINE_LIMIT = 1 << 20
#: How long output may keep coming after the child ended (only processes that escaped its
#: process group on a platform without pid namespaces can hold the pipes longer).
_DRAIN_S = 5.0


@dataclass(frozen=True)
class BuildLimits:
    """Resource limits of one build (each limit applies per process, the timeout to all).

    Attributes:
        timeout_s: Wall-clock limit of the whole build.
        memory_bytes: Address-space limit (RLIMIT_AS) of each process.
        cpu_seconds: CPU-time limit (RLIMIT_CPU) of each process.
        max_file_bytes: Largest file a process may write (RLIMIT_FSIZE).
        max_processes: Processes and threads of the sandbox user (RLIMIT_NPROC).
        max_log_lines: Lines passed to ``log``; the rest are counted and dropped.
    """

    timeout_s: float = 300.0
    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 600
    max_file_bytes: int = 512 * 1024**2
    max_processes: int = 512
    max_log_lines: int = 20_000

    def resources(self, memory_bytes: int | None = None) -> ResourceLimits:
        """The per-process limits, optionally with another address-space limit."""
        return ResourceLimits(
            memory_bytes=memory_bytes or self.memory_bytes,
            max_file_bytes=self.max_file_bytes,
            max_processes=self.max_processes,
            cpu_seconds=self.cpu_seconds,
        )


class DesignBuildError(Exception):
    """A build failed.

    Attributes:
        reason: One human-readable line, e.g. ``design.py raised NameError: ...``.
        kind: ``design`` (user code or contract), ``elaborate``, ``compile``, ``timeout``,
            ``limit`` or ``internal`` (ECP5 builds add ``fit`` and ``timing``).
    """

    def __init__(self, reason: str, kind: str = "internal") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


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
        self.max_lines = max_lines
        self.lines = 0
        self.error: str | None = None
        self.result: dict[str, Any] | None = None
        self.last_stderr = ""

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
            line = _ANSI.sub("", raw.decode("utf-8", "replace").rstrip("\r\n"))
            if line.startswith(STAGE_MARKER):
                self.stage = line[len(STAGE_MARKER) :].strip() or self.stage
            elif line.startswith(ERROR_MARKER):
                self.error = line[len(ERROR_MARKER) :].strip()
            elif line.startswith(RESULT_MARKER):
                with contextlib.suppress(ValueError):
                    self.result = json.loads(line[len(RESULT_MARKER) :])
            else:
                if is_stderr and line.strip():
                    self.last_stderr = line.strip()
                await self._emit(line)


def kill_group(pid: int) -> None:
    """SIGKILL the process group ``pid`` leads, if any of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def open_build_dir(source: bytes, out_dir: Path, sandbox: Sandbox) -> tuple[Path, Path, Path]:
    """Create a build directory with the design in it and hand it to the sandbox.

    Returns:
        The resolved directory, the ``design.py`` path and the private temporary directory.

    Raises:
        ValueError: If ``out_dir`` already holds a build.
        DesignBuildError: If the sandbox cannot take the directory.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    design_py = out_dir / "design.py"
    try:
        # Exclusive creation: a second build pointed at the same directory fails here instead
        # of racing the first one (LiteX's build script starts with rm -rf obj_dir).
        with design_py.open("xb") as f:
            f.write(source)
    except FileExistsError:
        raise ValueError(f"{out_dir} already holds a build; use a fresh directory") from None
    try:
        tmp = sandbox.open_build_dir(out_dir)
    except (OSError, SandboxError) as exc:
        raise DesignBuildError(f"the build sandbox could not be set up: {exc}") from None
    return out_dir, design_py, tmp


def close_build_dir(sandbox: Sandbox, out_dir: Path) -> None:
    """Take a build directory back from the sandbox once its children ended.

    Raises:
        DesignBuildError: If it cannot be taken back.
    """
    try:
        sandbox.close_build_dir(out_dir)
    except SandboxError as exc:
        raise DesignBuildError(str(exc)) from None


def build_environment(tmp: Path, path_prefix: Path | None = None, **extra: str) -> dict[str, str]:
    """The build child's whole environment: nothing of the service's (NATS_*, secrets)."""
    env = clean_environment(tmp, tmp, **extra)
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}:{env['PATH']}"
    return env


async def run_build_child(
    sandbox: Sandbox,
    argv: Sequence[str],
    *,
    out_dir: Path,
    env: dict[str, str],
    limits: ResourceLimits,
    pump: LogPump,
    writable: Sequence[Path] = (),
) -> int:
    """Run one build child to its end in the sandbox, streaming its output into ``pump``.

    The child gets no network and may write only ``out_dir`` and ``writable``. Whatever it
    started is killed once it ends, and at once if this coroutine is cancelled (a timeout).

    Returns:
        The child's return code (negative: the signal that killed it).

    Raises:
        DesignBuildError: If the sandbox cannot run it as configured.
    """
    try:
        command = sandbox.command(
            argv, cwd=out_dir, limits=limits, writable=[out_dir, *writable], keep_network=False
        )
    except SandboxError as exc:
        raise DesignBuildError(f"the build sandbox could not be set up: {exc}") from None
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd="/",
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=_LINE_LIMIT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    reading = asyncio.ensure_future(
        asyncio.gather(pump.pump(proc.stdout, False), pump.pump(proc.stderr, True))
    )
    waiter = asyncio.ensure_future(proc.wait())
    try:
        either: set[asyncio.Future[Any]] = {waiter, reading}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if reading.done():
            reading.result()  # a failing log callback ends the build here
        return await waiter
    finally:
        # Also on timeout, cancellation or a failing log callback: never leave tools running.
        kill_group(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            await waiter
        try:
            await asyncio.wait_for(reading, _DRAIN_S)
        except TimeoutError:
            pass  # wait_for cancelled the readers
