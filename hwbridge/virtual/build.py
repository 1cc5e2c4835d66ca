"""Parent side of a virtual-board build: elaborate and compile in the sandbox, stream the log.

The child (:mod:`hwbridge.virtual.elaborate`) executes untrusted user code and the Verilator
compile, so :func:`hwbridge.buildrunner.run_build_child` runs it in the sandbox (resource
limits, an unprivileged user, no network, only its build directory writable, a clean
environment) under a wall-clock timeout. This module never imports LiteX.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hwbridge.buildfailure import build_failure
from hwbridge.buildrunner import (
    BuildLimits,
    DesignBuildError,
    LogFn,
    LogPump,
    build_environment,
    close_build_dir,
    open_build_dir,
    run_build_child,
)
from hwbridge.sandbox import Sandbox, python_command
from hwbridge.virtual.artifact import SimArtifact

__all__ = ["BuildLimits", "DesignBuildError", "LogFn", "SimArtifact", "build_sim"]


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
    limits: BuildLimits | None = None,
    sandbox: Sandbox | None = None,
) -> SimArtifact:
    """Build a user's design into a virtual board.

    Args:
        source: Contents of the user's ``design.py``.
        out_dir: Fresh directory for this build alone (created if missing).
        log: Awaited with ``(stage, line)`` for every output line as it appears; stages are
            ``elaborate``, ``verilator`` and ``build`` (messages of this function).
        limits: Resource limits of the build; default: :class:`BuildLimits` defaults.
        sandbox: The sandbox to build in; default: the default :class:`Sandbox`.

    Returns:
        The saved artifact.

    Raises:
        DesignBuildError: If the design or the build failed, or a limit was hit.
        ValueError: If ``out_dir`` already holds a build.
    """
    limits = limits or BuildLimits()
    sandbox = sandbox or Sandbox()
    out_dir, design_py, tmp = open_build_dir(source, Path(out_dir), sandbox)
    pump = LogPump(log, limits.max_log_lines)
    try:
        async with asyncio.timeout(limits.timeout_s):
            rc = await run_build_child(
                sandbox,
                python_command("hwbridge.virtual.elaborate", str(design_py), str(out_dir)),
                out_dir=out_dir,
                env=build_environment(tmp),
                limits=limits.resources(),
                pump=pump,
            )
    except TimeoutError:
        reason = f"build timed out after {limits.timeout_s:g} s"
        await log("build", reason)
        raise DesignBuildError(reason, "timeout") from None
    finally:
        close_build_dir(sandbox, out_dir)
    if rc != 0 or pump.result is None:
        err = build_failure(rc, pump, limits)
        await log("build", f"build failed: {err.reason}")
        raise err
    return _artifact_from(pump.result, out_dir)
