"""Parent side of an ECP5 build: run the build child's two phases under limits, stream the log.

The subprocess machinery is the virtual board's (:mod:`hwbridge.virtual.build`): resource
limits, a scrubbed environment, its own session killed as a group on timeout or cancellation,
and the stage/error/result line protocol. Two things differ:

* The untrusted ``design.py`` runs only in the ``elaborate`` phase, under the caller's limits.
  The ``toolchain`` phase runs trusted code and the WebAssembly tools, each of which reserves
  ~4 GiB of *address space* (not memory) up front, so its ``RLIMIT_AS`` is raised to
  :data:`TOOLCHAIN_ADDRESS_SPACE`; wasm32 itself caps a tool's heap at 4 GiB.
* The child gets the wrapper directory on ``PATH`` and a persistent ``YOWASP_CACHE_DIR``: the
  first run of each tool compiles its WebAssembly (~35-70 s), later runs load the cache.

This module never imports LiteX.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sys
from pathlib import Path

from hwbridge.drivers.base import LogFn
from hwbridge.ecp5.artifact import BitstreamArtifact
from hwbridge.ecp5.constants import DEFAULT_BAUDRATE
from hwbridge.ecp5.elaborate import BIN_SUBDIR, EXIT_FIT, EXIT_TIMING
from hwbridge.virtual.build import (
    _LINE_LIMIT,
    BuildLimits,
    DesignBuildError,
    _child_env,
    _failure,
    _kill_group,
    _limit_preexec,
    _LogPump,
    _prepare,
)
from hwbridge.virtual.elaborate import EXIT_OK

__all__ = [
    "TOOLCHAIN_ADDRESS_SPACE",
    "BitstreamArtifact",
    "BuildLimits",
    "DesignBuildError",
    "build_bitstream",
]

#: RLIMIT_AS of the toolchain phase. Measured: a yowasp tool does not start under 8 GiB and
#: runs under 10 GiB; the rest is headroom for nextpnr's threads and a large netlist.
TOOLCHAIN_ADDRESS_SPACE = 16 * 1024**3
#: Failure kinds of the ECP5-specific exit codes (the shared ones are mapped by ``_failure``).
_KINDS = {EXIT_FIT: "fit", EXIT_TIMING: "timing"}


def _toolchain_limits(limits: BuildLimits) -> BuildLimits:
    return dataclasses.replace(
        limits, memory_bytes=max(limits.memory_bytes, TOOLCHAIN_ADDRESS_SPACE)
    )


def _env(out_dir: Path, cache_dir: Path) -> dict[str, str]:
    """The child's environment: the virtual build's, plus the wrappers and the YoWASP cache."""
    cache_dir = Path(cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    env = _child_env(out_dir)
    env["PATH"] = f"{out_dir / BIN_SUBDIR}:{env['PATH']}"
    env["YOWASP_CACHE_DIR"] = str(cache_dir)
    return env


async def _run_phase(
    args: list[str],
    out_dir: Path,
    env: dict[str, str],
    limits: BuildLimits,
    pump: _LogPump,
) -> int:
    """Run one phase of the build child to completion; kill its group if cancelled."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hwbridge.ecp5.elaborate",
        *args,
        cwd=out_dir,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_limit_preexec(limits),
        limit=_LINE_LIMIT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        await asyncio.gather(pump.pump(proc.stdout, False), pump.pump(proc.stderr, True))
        rc = await proc.wait()
    finally:
        # On timeout, cancellation or a failing log callback: never leave tools running.
        if proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
    if rc < 0:
        # Killed by a limit: a tool may still be running in the group.
        _kill_group(proc.pid)
    return rc


def _artifact_from(result: dict[str, object], out_dir: Path) -> BitstreamArtifact:
    try:
        artifact = BitstreamArtifact.from_json(result)
    except ValueError as exc:
        raise DesignBuildError(f"build reported a malformed result: {exc}") from None
    path = artifact.path.resolve()
    if not path.is_relative_to(out_dir) or not path.is_file():
        raise DesignBuildError(f"build reported a bitstream that is not a file in {out_dir}")
    return dataclasses.replace(artifact, path=path)


async def build_bitstream(
    source: bytes,
    out_dir: Path,
    log: LogFn,
    *,
    limits: BuildLimits,
    cache_dir: Path,
    baudrate: int = DEFAULT_BAUDRATE,
) -> BitstreamArtifact:
    """Build a user's design into a bitstream for the ECP5 evaluation board.

    Args:
        source: Contents of the user's ``design.py``.
        out_dir: Fresh directory for this build alone (created if missing). Any path works,
            ``/tmp`` included.
        log: Awaited with ``(stage, line)`` for every output line as it appears; stages are
            ``elaborate``, ``yosys``, ``nextpnr``, ``ecppack`` and ``build`` (this function's
            own messages).
        limits: Resource limits; the wall-clock limit covers both phases, the address-space
            limit applies to the elaborate phase (see the module docstring).
        cache_dir: Persistent YoWASP cache of compiled tools (created if missing); keep it
            between builds, e.g. ``<data_dir>/yowasp-cache``.
        baudrate: UART rate of the bridge in the gateware.

    Returns:
        The artifact; ``out_dir/artifact.json`` describes it.

    Raises:
        DesignBuildError: If the design or the build failed (``kind`` ``design``,
            ``elaborate``, ``compile``, ``fit``, ``timing``, ``timeout``, ``limit`` or
            ``internal``).
        ValueError: If ``out_dir`` already holds a build.
    """
    out_dir, design_py = _prepare(source, Path(out_dir))
    env = _env(out_dir, cache_dir)
    common = [f"--baudrate={int(baudrate)}", str(design_py), str(out_dir)]
    pump = _LogPump(log, limits.max_log_lines)
    rc = EXIT_OK
    try:
        async with asyncio.timeout(limits.timeout_s):
            for phase, phase_limits in (
                ("elaborate", limits),
                ("toolchain", _toolchain_limits(limits)),
            ):
                rc = await _run_phase(
                    [f"--phase={phase}", *common], out_dir, env, phase_limits, pump
                )
                if rc != EXIT_OK:
                    break
    except TimeoutError:
        reason = f"build timed out after {limits.timeout_s:g} s (in the {pump.stage} stage)"
        await log("build", reason)
        raise DesignBuildError(reason, "timeout") from None
    if rc != EXIT_OK or pump.result is None:
        err = _failure(rc, pump, limits)
        err.kind = _KINDS.get(rc, err.kind)
        await log("build", f"build failed: {err.reason}")
        raise err
    artifact = _artifact_from(pump.result, out_dir)
    artifact.save(out_dir)
    return artifact
