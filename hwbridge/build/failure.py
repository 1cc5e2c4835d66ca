"""Why a build failed, in one line a user can act on.

The child's own reason (``design.py raised ...``) comes first; when it is what a sandbox limit
looks like from inside (MemoryError, a failed fork, a refused write, an unreachable network),
the limit is named after it. A child killed by a signal is named by the limit that sends it.
"""

from __future__ import annotations

import signal

from hwbridge.build.limits import BuildLimits, DesignBuildError
from hwbridge.build.logpump import LogPump
from hwbridge.build.protocol import KINDS
from hwbridge.sandbox.enter import EXIT_SETUP

_MAX_REASON = 400


def _mib(n: int) -> str:
    return f"{n / 1024**2:g} MiB"


def sandbox_hint(error: str, limits: BuildLimits) -> str:
    """What the sandbox did, when ``error`` is how one of its limits shows inside; else ''."""
    if "MemoryError" in error or "Cannot allocate memory" in error:
        return f"the build's memory limit is {_mib(limits.memory_bytes)}"
    if "File too large" in error:
        return f"the build's file-size limit is {_mib(limits.max_file_bytes)}"
    if "BlockingIOError" in error or "Resource temporarily unavailable" in error:
        return f"a build may run at most {limits.max_processes} processes"
    network = ("Network is unreachable", "name resolution", "Name or service not known")
    if any(text in error for text in network):
        return "builds have no network access"
    if "Permission denied" in error or "Read-only file system" in error:
        return "builds run as an unprivileged user and may write only their own directory"
    return ""


def build_failure(rc: int, pump: LogPump, limits: BuildLimits) -> DesignBuildError:
    """The error for a build child that ended with ``rc`` after the output ``pump`` read.

    Args:
        rc: The child's return code (negative: the signal that killed it).
        pump: Its output, with the child's own reason if it gave one.
        limits: The limits it ran under.
    """
    if pump.error:
        hint = sandbox_hint(pump.error, limits)
        reason = f"{pump.error} ({hint})" if hint else pump.error
        return DesignBuildError(reason, KINDS.get(rc, "internal"))
    if rc == -signal.SIGXCPU:
        return DesignBuildError(
            f"the build exceeded its CPU-time limit ({limits.cpu_seconds} s)", "limit"
        )
    if rc == -signal.SIGXFSZ:
        return DesignBuildError(
            f"the build exceeded its file-size limit ({_mib(limits.max_file_bytes)})", "limit"
        )
    if rc == -signal.SIGKILL:
        return DesignBuildError(
            "the build was killed by SIGKILL: it ignored the end of its CPU-time limit "
            f"({limits.cpu_seconds} s) or the host ran out of memory",
            "limit",
        )
    if rc < 0:
        return DesignBuildError(f"the build was killed by {signal.Signals(-rc).name}", "limit")
    if rc == EXIT_SETUP:
        detail = pump.last_stderr.removeprefix("sandbox: ")
        return DesignBuildError(f"the build sandbox could not be set up: {detail}"[:_MAX_REASON])
    detail = f": {pump.last_stderr}" if pump.last_stderr else ""
    return DesignBuildError(
        f"build failed (exit {rc}){detail}"[:_MAX_REASON], KINDS.get(rc, "internal")
    )
