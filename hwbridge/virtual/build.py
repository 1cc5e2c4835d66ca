"""Parent side of a virtual-board build: run the build child under limits, stream its log.

The child (:mod:`hwbridge.virtual.elaborate`) executes untrusted user code and a compiler, so it
runs in its own session with resource limits, a scrubbed environment and a wall-clock timeout
after which its whole process group is killed. This module never imports LiteX.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwbridge.virtual.artifact import SimArtifact
from hwbridge.virtual.elaborate import (
    ERROR_MARKER,
    EXIT_COMPILE,
    EXIT_DESIGN,
    EXIT_ELABORATE,
    RESULT_MARKER,
    STAGE_MARKER,
)
from hwbridge.virtual.lifetime import die_with_parent

__all__ = ["BuildLimits", "DesignBuildError", "LogFn", "SimArtifact", "build_sim"]

LogFn = Callable[[str, str], Awaitable[None]]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_LINE_LIMIT = 1 << 20


@dataclass(frozen=True)
class BuildLimits:
    """Resource limits of one build child (each limit applies per process, the timeout to all).

    Attributes:
        timeout_s: Wall-clock limit of the whole build.
        memory_bytes: Address-space limit (RLIMIT_AS) of each process.
        cpu_seconds: CPU-time limit (RLIMIT_CPU) of each process.
        max_file_bytes: Largest file a process may write (RLIMIT_FSIZE).
        max_processes: RLIMIT_NPROC; counts all processes of the user and is ignored for root.
        max_log_lines: Lines passed to ``log``; the rest are counted and dropped.
    """

    timeout_s: float = 300.0
    memory_bytes: int = 2 * 1024**3
    cpu_seconds: int = 600
    max_file_bytes: int = 512 * 1024**2
    max_processes: int = 512
    max_log_lines: int = 20_000


class DesignBuildError(Exception):
    """A build failed.

    Attributes:
        reason: One human-readable line, e.g. ``design.py raised NameError: ...``.
        kind: ``design`` (user code or contract), ``elaborate``, ``compile``, ``timeout``,
            ``limit`` or ``internal``.
    """

    def __init__(self, reason: str, kind: str = "internal") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def _limit_preexec(limits: BuildLimits) -> Callable[[], None]:
    wanted = [
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_FSIZE, limits.max_file_bytes),
        (resource.RLIMIT_NPROC, limits.max_processes),
        (resource.RLIMIT_CORE, 0),
    ]

    def preexec() -> None:
        # Runs in the forked child before exec: only async-signal-tolerant, allocation-light
        # work. Soft and hard limits are both lowered so the child cannot raise them again.
        die_with_parent()
        for which, value in wanted:
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))

    return preexec


def _child_env(out_dir: Path) -> dict[str, str]:
    """The child's whole environment: nothing of the service's (NATS_*, secrets) leaks in."""
    tmp = out_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(out_dir),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": str(_PACKAGE_ROOT),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class _LogPump:
    """Tags child output lines with the current stage and forwards them to ``log``."""

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


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _failure(rc: int, pump: _LogPump, limits: BuildLimits) -> DesignBuildError:
    kinds = {EXIT_DESIGN: "design", EXIT_ELABORATE: "elaborate", EXIT_COMPILE: "compile"}
    if pump.error:
        return DesignBuildError(pump.error, kinds.get(rc, "internal"))
    if rc == -signal.SIGXCPU:
        return DesignBuildError(f"build exceeded its CPU limit of {limits.cpu_seconds} s", "limit")
    if rc == -signal.SIGXFSZ:
        return DesignBuildError("build wrote a file larger than its limit", "limit")
    if rc < 0:
        return DesignBuildError(f"build killed by {signal.Signals(-rc).name}", "limit")
    detail = f": {pump.last_stderr}" if pump.last_stderr else ""
    return DesignBuildError(f"build failed (exit {rc}){detail}"[:400], kinds.get(rc, "internal"))


def _prepare(source: bytes, out_dir: Path) -> tuple[Path, Path]:
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    design_py = out_dir / "design.py"
    try:
        # Exclusive creation: a second build pointed at the same directory fails here instead
        # of racing the first one (LiteX's build script starts with rm -rf obj_dir).
        with design_py.open("xb") as f:
            f.write(source)
    except FileExistsError:
        raise ValueError(f"{out_dir} already holds a build; use a fresh directory") from None
    return out_dir, design_py


def _artifact_from(result: dict[str, Any], out_dir: Path) -> SimArtifact:
    artifact = SimArtifact(
        path=Path(result["path"]).resolve(),
        window_base=int(result["window_base"]),
        window_size=int(result["window_size"]),
    )
    if not artifact.path.is_relative_to(out_dir):
        raise DesignBuildError(f"build reported an artifact outside {out_dir}")
    artifact.save()
    return SimArtifact.load(artifact.path)


async def build_sim(
    source: bytes,
    out_dir: Path,
    log: LogFn,
    *,
    limits: BuildLimits = BuildLimits(),
) -> SimArtifact:
    """Build a user's design into a virtual board.

    Args:
        source: Contents of the user's ``design.py``.
        out_dir: Fresh directory for this build alone (created if missing).
        log: Awaited with ``(stage, line)`` for every output line as it appears; stages are
            ``elaborate``, ``verilator`` and ``build`` (messages of this function).
        limits: Resource limits of the build child.

    Returns:
        The saved artifact.

    Raises:
        DesignBuildError: If the design or the build failed, or a limit was hit.
        ValueError: If ``out_dir`` already holds a build.
    """
    out_dir, design_py = _prepare(source, Path(out_dir))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hwbridge.virtual.elaborate",
        str(design_py),
        str(out_dir),
        cwd=out_dir,
        env=_child_env(out_dir),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_limit_preexec(limits),
        limit=_LINE_LIMIT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    pump = _LogPump(log, limits.max_log_lines)
    try:
        async with asyncio.timeout(limits.timeout_s):
            await asyncio.gather(pump.pump(proc.stdout, False), pump.pump(proc.stderr, True))
            rc = await proc.wait()
    except TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        reason = f"build timed out after {limits.timeout_s:g} s"
        await log("build", reason)
        raise DesignBuildError(reason, "timeout") from None
    finally:
        # Also on cancellation or a failing log callback: never leave compilers running.
        if proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
    if rc < 0:
        # Killed by a limit mid-compile: make/g++ may still be running in the group.
        _kill_group(proc.pid)
    if rc != 0 or pump.result is None:
        err = _failure(rc, pump, limits)
        await log("build", f"build failed: {err.reason}")
        raise err
    return _artifact_from(pump.result, out_dir)
