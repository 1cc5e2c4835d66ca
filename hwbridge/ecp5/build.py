"""Parent side of an ECP5 build: run the build child's two phases in the sandbox, stream the log.

The sandbox and the line protocol are those of every build (:mod:`hwbridge.buildrunner`:
resource limits, an unprivileged user, no network, only the build directory writable, a clean
environment, everything the child started killed when it ends or times out). Two things differ:

* The untrusted ``design.py`` runs only in the ``elaborate`` phase, under the caller's limits.
  The ``toolchain`` phase runs trusted code and the WebAssembly tools, each of which reserves
  ~4 GiB of *address space* (not memory) up front, so its ``RLIMIT_AS`` is raised to
  :data:`TOOLCHAIN_ADDRESS_SPACE`; wasm32 itself caps a tool's heap at 4 GiB.
* The toolchain phase gets the wrapper directory on ``PATH`` and a persistent, writable
  ``YOWASP_CACHE_DIR``: the first run of each tool compiles its WebAssembly (~35-70 s), later
  runs load the cache. The elaborate phase cannot see the cache where the platform gives the
  sandbox a mount namespace, so a design cannot plant code in it for later builds.

This module never imports LiteX.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from hwbridge.buildfailure import build_failure
from hwbridge.buildrunner import (
    BuildLimits,
    DesignBuildError,
    LogPump,
    build_environment,
    close_build_dir,
    open_build_dir,
    run_build_child,
)
from hwbridge.drivers.base import LogFn
from hwbridge.ecp5.artifact import BitstreamArtifact
from hwbridge.ecp5.constants import DEFAULT_BAUDRATE
from hwbridge.ecp5.elaborate import BIN_SUBDIR, EXIT_FIT, EXIT_TIMING
from hwbridge.sandbox import Sandbox, SandboxError, python_command
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
#: Failure kinds of the ECP5-specific exit codes (``build_failure`` maps the shared ones).
_KINDS = {EXIT_FIT: "fit", EXIT_TIMING: "timing"}


def _artifact_from(result: dict[str, object], out_dir: Path) -> BitstreamArtifact:
    try:
        artifact = BitstreamArtifact.from_json(result)
    except ValueError as exc:
        raise DesignBuildError(f"build reported a malformed result: {exc}") from None
    path = artifact.path.resolve()
    if not path.is_relative_to(out_dir) or not path.is_file():
        raise DesignBuildError(f"build reported a bitstream that is not a file in {out_dir}")
    return dataclasses.replace(artifact, path=path)


def _shared_cache(sandbox: Sandbox, out_dir: Path, cache_dir: Path) -> Path:
    """The YoWASP cache, made usable by the sandbox user (the toolchain phase fills it)."""
    cache_dir = Path(cache_dir).resolve()
    try:
        sandbox.share(cache_dir)
    except (OSError, SandboxError) as exc:
        close_build_dir(sandbox, out_dir)
        raise DesignBuildError(f"the YoWASP cache {cache_dir} is not usable: {exc}") from None
    return cache_dir


async def build_bitstream(
    source: bytes,
    out_dir: Path,
    log: LogFn,
    *,
    limits: BuildLimits,
    cache_dir: Path,
    baudrate: int = DEFAULT_BAUDRATE,
    sandbox: Sandbox | None = None,
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
        sandbox: The sandbox to build in; default: the default :class:`Sandbox`.

    Returns:
        The artifact; ``out_dir/artifact.json`` describes it.

    Raises:
        DesignBuildError: If the design or the build failed (``kind`` ``design``,
            ``elaborate``, ``compile``, ``fit``, ``timing``, ``timeout``, ``limit`` or
            ``internal``).
        ValueError: If ``out_dir`` already holds a build.
    """
    sandbox = sandbox or Sandbox()
    out_dir, design_py, tmp = open_build_dir(source, Path(out_dir), sandbox)
    cache_dir = _shared_cache(sandbox, out_dir, cache_dir)
    common = [f"--baudrate={int(baudrate)}", str(design_py), str(out_dir)]
    phases = [
        ("elaborate", build_environment(tmp), limits.resources(), []),
        (
            "toolchain",
            build_environment(tmp, out_dir / BIN_SUBDIR, YOWASP_CACHE_DIR=str(cache_dir)),
            limits.resources(max(limits.memory_bytes, TOOLCHAIN_ADDRESS_SPACE)),
            [cache_dir],
        ),
    ]
    pump = LogPump(log, limits.max_log_lines)
    rc = EXIT_OK
    try:
        async with asyncio.timeout(limits.timeout_s):
            for phase, env, resources, writable in phases:
                argv = python_command("hwbridge.ecp5.elaborate", f"--phase={phase}", *common)
                rc = await run_build_child(
                    sandbox, argv, out_dir=out_dir, env=env, limits=resources, pump=pump,
                    writable=writable,
                )  # fmt: skip
                if rc != EXIT_OK:
                    break
    except TimeoutError:
        reason = f"build timed out after {limits.timeout_s:g} s (in the {pump.stage} stage)"
        await log("build", reason)
        raise DesignBuildError(reason, "timeout") from None
    finally:
        close_build_dir(sandbox, out_dir)
    if rc != EXIT_OK or pump.result is None:
        err = build_failure(rc, pump, limits)
        err.kind = _KINDS.get(rc, err.kind)
        await log("build", f"build failed: {err.reason}")
        raise err
    artifact = _artifact_from(pump.result, out_dir)
    artifact.save(out_dir)
    return artifact
