"""The build pipeline's parent side: a design and a board kind in, the child's result out.

Every build runs the same way, whatever the language and the board kind:

1. the build directory is created with the design in it (``design.py``, ``design.v`` or
   ``design.sv``) and handed to the sandbox user;
2. for a language whose designs are code (Migen, Amaranth), the **elaborate** phase runs the
   user's file in the sandbox under the build's limits (no network, only the build directory
   writable, a clean environment) and leaves a netlist (:mod:`hwbridge.build.frontends`);
3. the **board** phase runs no user code: the front end's own tools (Yosys turns Amaranth's
   RTLIL into Verilog; Verilator checks a Verilog module's ports), then the board kind's back
   end (:mod:`hwbridge.build.backends`) builds the base SoC around the design. It is sandboxed
   too; WebAssembly tools get the address space they need (and the cache of their compiled
   code), compilers the build's memory limit.

Both phases are child processes (:mod:`hwbridge.build.child`) whose output streams into the
job's log; whatever they started is killed when they end, time out or are cancelled. This
module never imports LiteX.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from events.designs import SOURCE_NAMES, TITLES
from hwbridge.build.backends import BACKENDS
from hwbridge.build.design import Design
from hwbridge.build.failure import build_failure
from hwbridge.build.frontends import FRONTENDS
from hwbridge.build.limits import BuildLimits, DesignBuildError
from hwbridge.build.logpump import LogPump
from hwbridge.build.protocol import EXIT_OK
from hwbridge.drivers.base import LogFn
from hwbridge.processes import kill_group
from hwbridge.sandbox import ResourceLimits, Sandbox, SandboxError, clean_environment
from hwbridge.sandbox.runtime import python_command

#: RLIMIT_AS of a phase that runs WebAssembly tools (Yosys, nextpnr). Measured: a yowasp tool
#: does not start under 8 GiB and runs under 10 GiB; the rest is headroom for nextpnr's threads
#: and a large netlist. It is address space, not memory: wasm32 caps a tool's heap at 4 GiB.
TOOLCHAIN_ADDRESS_SPACE = 16 * 1024**3
_LINE_LIMIT = 1 << 20
#: How long output may keep coming after the child ended (only processes that escaped its
#: process group on a platform without pid namespaces can hold the pipes longer).
_DRAIN_S = 5.0
_CHILD = "hwbridge.build.child"


def open_build_dir(design: Design, out_dir: Path, sandbox: Sandbox) -> tuple[Path, Path, Path]:
    """Create a build directory with the design in it and hand it to the sandbox.

    Returns:
        The resolved directory, the design file's path and the private temporary directory.

    Raises:
        ValueError: If ``out_dir`` already holds a build.
        DesignBuildError: If the sandbox cannot take the directory.
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / SOURCE_NAMES[design.language]
    try:
        # Exclusive creation: a second build pointed at the same directory fails here instead
        # of racing the first one.
        with source.open("xb") as f:
            f.write(design.source)
    except FileExistsError:
        raise ValueError(f"{out_dir} already holds a build; use a fresh directory") from None
    try:
        tmp = sandbox.open_build_dir(out_dir)
    except (OSError, SandboxError) as exc:
        raise DesignBuildError(f"the build sandbox could not be set up: {exc}") from None
    return out_dir, source, tmp


def close_build_dir(sandbox: Sandbox, out_dir: Path) -> None:
    """Take a build directory back from the sandbox once its children ended.

    Raises:
        DesignBuildError: If it cannot be taken back.
    """
    try:
        sandbox.close_build_dir(out_dir)
    except SandboxError as exc:
        raise DesignBuildError(str(exc)) from None


async def run_build_child(
    sandbox: Sandbox,
    argv: Sequence[str],
    *,
    out_dir: Path,
    env: dict[str, str],
    limits: ResourceLimits,
    pump: LogPump,
    writable: Sequence[Path] = (),
    readable: Sequence[Path] = (),
) -> int:
    """Run one build child to its end in the sandbox, streaming its output into ``pump``.

    The child gets no network and may write only ``out_dir`` and ``writable`` (``readable``:
    directories it reads although they are in a hidden one). Whatever it started is killed
    once it ends, and at once if this coroutine is cancelled (a timeout).

    Returns:
        The child's return code (negative: the signal that killed it).

    Raises:
        DesignBuildError: If the sandbox cannot run it as configured.
    """
    try:
        command = sandbox.command(
            argv, cwd=out_dir, limits=limits, writable=[out_dir, *writable],
            readable=readable, keep_network=False,
        )  # fmt: skip
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


@dataclass(frozen=True)
class _Phase:
    argv: list[str]
    limits: ResourceLimits
    env: dict[str, str]
    writable: tuple[Path, ...] = ()
    readable: tuple[Path, ...] = ()


def _phases(
    design: Design,
    kind: str,
    out_dir: Path,
    source: Path,
    tmp: Path,
    limits: BuildLimits,
    tools_cache: Path | None,
    options: Sequence[str],
    kit: Path | None,
) -> list[_Phase]:
    front, back = FRONTENDS[design.language], BACKENDS[kind]
    tools_cache = tools_cache.resolve() if tools_cache is not None else None
    common = [design.language, str(source), str(out_dir)]
    if design.top is not None:
        common += ["--top", design.top]
    phases = []
    if front.untrusted:
        argv = python_command(_CHILD, "elaborate", *common)
        phases.append(_Phase(argv, limits.resources(), clean_environment(tmp, tmp)))
    tools = front.needs_yosys or back.toolchain_space
    space = max(limits.memory_bytes, TOOLCHAIN_ADDRESS_SPACE) if tools else limits.memory_bytes
    extra = {"YOWASP_CACHE_DIR": str(tools_cache)} if tools and tools_cache else {}
    board = ["board", kind, *common, "--compile-memory", str(limits.memory_bytes), *options]
    if front.needs_yosys and tools_cache is not None:
        board += ["--yosys-cache", str(tools_cache)]
    if kit is not None:
        board += ["--kit", str(kit)]
    phases.append(
        _Phase(
            python_command(_CHILD, *board),
            limits.resources(space),
            clean_environment(tmp, tmp, **extra),
            (tools_cache,) if extra and tools_cache else (),
            (kit,) if kit is not None else (),
        )
    )
    return phases


async def build(
    design: Design,
    kind: str,
    out_dir: Path,
    log: LogFn,
    *,
    limits: BuildLimits | None = None,
    sandbox: Sandbox | None = None,
    tools_cache: Path | None = None,
    options: Sequence[str] = (),
    kit: Path | None = None,
    stages: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Build ``design`` for a board of ``kind``.

    Args:
        design: The design.
        kind: The board kind (a key of :data:`hwbridge.build.backends.BACKENDS`).
        out_dir: Fresh directory for this build alone (created if missing).
        log: Awaited with ``(stage, line)`` for every output line as it appears; ``build`` is
            this function's own stage.
        limits: Resource limits; default: :class:`BuildLimits` defaults. The wall-clock limit
            covers every phase.
        sandbox: The sandbox to build in; default: the default :class:`Sandbox`.
        tools_cache: Persistent cache of the WebAssembly tools' compiled code (created if
            missing), shared between builds; only a phase that runs no user code may write it.
        options: Further arguments of the board phase (e.g. ``--baudrate=115200``).
        kit: The board kind's kit of prebuilt parts (:mod:`hwbridge.build.kits`), read-only.
        stages: Filled with the seconds each stage took (``elaborate``, ``verilator``, ...).

    Returns:
        The back end's result object; paths in it are inside ``out_dir``.

    Raises:
        DesignBuildError: If the design or the build failed, or a limit was hit.
        ValueError: If ``out_dir`` already holds a build.
    """
    limits = limits or BuildLimits()
    sandbox = sandbox or Sandbox()
    out_dir, source, tmp = open_build_dir(design, Path(out_dir), sandbox)
    named = f", top {design.top}" if design.top else ""
    await log("build", f"design: {TITLES[design.language]}{named}, {len(design.source)} bytes")
    pump = LogPump(log, limits.max_log_lines)
    rc = EXIT_OK
    try:
        if tools_cache is not None:
            try:
                sandbox.share(tools_cache)
            except (OSError, SandboxError) as exc:
                reason = f"the tool cache {tools_cache} is not usable: {exc}"
                raise DesignBuildError(reason) from None
        phases = _phases(design, kind, out_dir, source, tmp, limits, tools_cache, options, kit)
        async with asyncio.timeout(limits.timeout_s):
            for phase in phases:
                rc = await run_build_child(
                    sandbox, phase.argv, out_dir=out_dir, env=phase.env, limits=phase.limits,
                    pump=pump, writable=phase.writable, readable=phase.readable,
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
        await log("build", f"build failed: {err.reason}")
        raise err
    took = pump.stage_seconds()
    await log("build", "stages: " + ", ".join(f"{s} {t:.2f}s" for s, t in took.items()))
    if stages is not None:
        stages.update(took)
    return pump.result


def _open_kit_dir(out_dir: Path, sandbox: Sandbox) -> tuple[Path, Path]:
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True)
    try:
        return out_dir, sandbox.open_build_dir(out_dir)
    except (OSError, SandboxError) as exc:
        raise DesignBuildError(f"the build sandbox could not be set up: {exc}") from None


async def build_kit(
    kind: str, out_dir: Path, log: LogFn, *, limits: BuildLimits, sandbox: Sandbox
) -> None:
    """Build a board kind's kit into ``out_dir`` (fresh), in the sandbox; no design involved.

    Raises:
        DesignBuildError: The kit did not build (a broken installation, not a user's fault).
    """
    out_dir, tmp = _open_kit_dir(out_dir, sandbox)
    pump = LogPump(log, limits.max_log_lines)
    argv = python_command(_CHILD, "kit", kind, str(out_dir), "--compile-memory",
                          str(limits.memory_bytes))  # fmt: skip
    try:
        async with asyncio.timeout(limits.timeout_s):
            rc = await run_build_child(
                sandbox, argv, out_dir=out_dir, env=clean_environment(tmp, tmp),
                limits=limits.resources(), pump=pump,
            )  # fmt: skip
    except TimeoutError:
        raise DesignBuildError(f"the {kind} kit did not build in {limits.timeout_s:g} s") from None
    finally:
        close_build_dir(sandbox, out_dir)
    if rc != EXIT_OK or pump.result is None:
        raise build_failure(rc, pump, limits)
