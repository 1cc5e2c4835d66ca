"""Build child: ``python -m hwbridge.ecp5.elaborate [--phase P] DESIGN_PY OUT_DIR``.

Builds a user's design into the ECP5 board's base SoC and on to a bitstream, in two phases that
:func:`hwbridge.ecp5.build.build_bitstream` runs as two processes with different limits:

* ``elaborate``: loads the untrusted ``design.py`` (with the virtual board's loader and contract
  checks), generates the SoC's Verilog and LiteX's Trellis build script into ``OUT_DIR/build``.
* ``toolchain``: runs the script's three tools one by one (``yosys``, ``nextpnr``, ``ecppack``
  stages) through yowasp wrappers, reads nextpnr's log, and fails the build if the design does
  not fit the device or misses the system clock (LiteX lets nextpnr pass timing failures).
  It runs no user Python: it needs more address space than the elaborate phase may have, since
  each WebAssembly tool reserves ~4 GiB of virtual memory up front.

``--phase all`` (the default) runs both in one process. The line protocol is the virtual
board's (:mod:`hwbridge.virtual.elaborate`): stage, error and result markers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hwbridge.ecp5.constants import DEFAULT_BAUDRATE, SYS_CLK_FREQ
from hwbridge.ecp5.nextpnr_log import PnrReport
from hwbridge.ecp5.toolchain import (
    ToolchainError,
    find_build_script,
    parse_build_script,
    write_wrappers,
)
from hwbridge.virtual.elaborate import (
    BUILD_SUBDIR,
    EXIT_COMPILE,
    EXIT_ELABORATE,
    EXIT_OK,
    EXIT_USAGE,
    RESULT_MARKER,
    _describe,
    _fail,
    _PlainFormatter,
    _stage,
    _user_traceback,
    load_checked_design,
)

#: The design needs more of some resource than the LFE5UM5G-85F has.
EXIT_FIT = 6
#: The design misses the system clock frequency after routing.
EXIT_TIMING = 7
#: Written by the elaborate phase for the toolchain phase.
ELABORATED_FILE = "elaborated.json"
BIN_SUBDIR = "bin"
PHASES = ("all", "elaborate", "toolchain")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# yosys and nextpnr start fatal messages with "ERROR:"; a Python traceback from a wrapper ends
# in "SomeError: ..." (e.g. wasmtime failing to reserve memory).
_TOOL_ERROR = re.compile(r"^ERROR:|Error: |Killed")


def elaborate(design_py: Path, out_dir: Path, baudrate: int) -> int:
    """Load and check the design, generate Verilog and the build script.

    Args:
        design_py: The user's design file.
        out_dir: Build directory owned by this build alone.
        baudrate: UART rate of the bridge.

    Returns:
        The process exit code (``EXIT_*``).
    """
    _stage("elaborate")
    # LiteX is imported here so the toolchain phase never loads it.
    from hwbridge.ecp5 import soc as board

    loaded = load_checked_design(design_py)
    if isinstance(loaded, int):
        return loaded
    design, window_size = loaded
    try:
        from litex.soc.integration.builder import Builder

        soc = board.build_soc(design, window_size, baudrate=baudrate)
        builder = Builder(
            soc,
            output_dir=str(out_dir / BUILD_SUBDIR),
            compile_software=False,
            compile_gateware=False,
        )
        builder.build(run=False)
    except Exception as exc:
        print(_user_traceback(exc, design_py), file=sys.stderr, end="", flush=True)
        return _fail(EXIT_ELABORATE, f"elaboration failed: {_describe(exc)}")
    info = {
        "gateware": str(out_dir / BUILD_SUBDIR / "gateware"),
        "window_base": board.USER_WINDOW_BASE,
        "window_size": window_size,
        "target_mhz": SYS_CLK_FREQ / 1e6,
        "baudrate": baudrate,
    }
    (out_dir / ELABORATED_FILE).write_text(json.dumps(info) + "\n")
    return EXIT_OK


def _run_tool(command: str, cwd: Path, env: dict[str, str], report: PnrReport) -> tuple[int, str]:
    """Run one build-script line, echoing and parsing its output; (exit code, cause line)."""
    cause = last = ""
    with subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = _ANSI.sub("", raw.rstrip("\n"))
            print(line, flush=True)
            report.feed(line)
            if line.strip():
                last = line.strip()
                # The first error is the cause; later ones are usually its consequences.
                if not cause and _TOOL_ERROR.search(line):
                    cause = line.strip()
        rc = proc.wait()
    return rc, cause or last


def _check_pnr(report: PnrReport, target_mhz: float) -> int:
    """Fail the build if nextpnr's figures show the design cannot work on the board."""
    if report.out_of_room():
        return _fail(EXIT_FIT, report.fit_reason())
    summary = ", ".join(
        f"{name} {report.used[name]}/{report.capacity[name]}"
        for name in ("LUT4", "FF", "TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D")
        if name in report.used
    )
    print(f"utilisation: {summary}", flush=True)
    clock = report.clock_at(target_mhz)
    if clock is None:
        return _fail(EXIT_TIMING, f"nextpnr reported no timing for the {target_mhz:g} MHz clock")
    print(f"system clock: {clock.fmax_mhz:.2f} MHz achieved, {target_mhz:.2f} MHz needed")
    if clock.fmax_mhz < target_mhz:
        return _fail(
            EXIT_TIMING,
            f"timing not met: the system clock reaches {clock.fmax_mhz:.2f} MHz after routing, "
            f"the design must run at {target_mhz:.2f} MHz (critical path in the nextpnr log)",
        )
    return EXIT_OK


def toolchain(out_dir: Path) -> int:
    """Run yosys, nextpnr-ecp5 and ecppack on an elaborated build; print the result line.

    Args:
        out_dir: The build directory the elaborate phase wrote.

    Returns:
        The process exit code (``EXIT_*``).
    """
    try:
        info: dict[str, Any] = json.loads((out_dir / ELABORATED_FILE).read_text())
        gateware = Path(info["gateware"])
        write_wrappers(out_dir / BIN_SUBDIR, out_dir)
        steps = parse_build_script(find_build_script(gateware).read_text())
    except (OSError, ValueError, KeyError, ToolchainError) as exc:
        _stage("yosys")
        return _fail(EXIT_COMPILE, f"cannot start the toolchain: {_describe(exc)}")
    env = dict(os.environ)
    env["PATH"] = f"{out_dir / BIN_SUBDIR}{os.pathsep}{env.get('PATH', '')}"
    report = PnrReport()
    for step in steps:
        _stage(step.stage)
        print(f"$ {step.command}", flush=True)
        started = time.monotonic()
        rc, cause = _run_tool(step.command, gateware, env, report)
        print(
            f"{step.stage} finished in {time.monotonic() - started:.1f} s (exit {rc})", flush=True
        )
        if rc != 0:
            if step.stage == "nextpnr" and report.out_of_room():
                return _fail(EXIT_FIT, report.fit_reason())
            return _fail(EXIT_COMPILE, f"{step.stage} failed: {cause or f'exit {rc}'}"[:400])
        if step.stage == "nextpnr" and (rc := _check_pnr(report, info["target_mhz"])):
            return rc
    bits = sorted(gateware.glob("*.bit"))
    if len(bits) != 1:
        return _fail(EXIT_COMPILE, f"ecppack produced {len(bits)} .bit files, expected 1")
    clock = report.clock_at(info["target_mhz"])
    assert clock is not None  # _check_pnr passed
    result = {
        "path": str(bits[0]),
        "window_base": info["window_base"],
        "window_size": info["window_size"],
        "utilisation": report.used,
        "capacity": report.capacity,
        "fmax_mhz": clock.fmax_mhz,
        "target_mhz": info["target_mhz"],
        "size_bytes": bits[0].stat().st_size,
    }
    print(f"{RESULT_MARKER} {json.dumps(result)}", flush=True)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns:
        The process exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m hwbridge.ecp5.elaborate")
    parser.add_argument("--phase", choices=PHASES, default="all")
    parser.add_argument("--baudrate", type=int, default=DEFAULT_BAUDRATE)
    parser.add_argument("design_py", type=Path)
    parser.add_argument("out_dir", type=Path)
    try:
        args = parser.parse_args(argv)
    except SystemExit:
        return EXIT_USAGE
    # Line-buffer both streams even when they are pipes, so the parent sees lines as they come.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_PlainFormatter("%(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    design_py, out_dir = args.design_py.resolve(), args.out_dir.resolve()
    if args.phase in ("all", "elaborate"):
        rc = elaborate(design_py, out_dir, args.baudrate)
        if rc != EXIT_OK or args.phase == "elaborate":
            return rc
    return toolchain(out_dir)


if __name__ == "__main__":
    sys.exit(main())
