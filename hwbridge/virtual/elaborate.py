"""Build child: ``python -m hwbridge.virtual.elaborate DESIGN_PY OUT_DIR``.

Runs inside the resource-limited process that :func:`hwbridge.virtual.build.build_sim` spawns.
It loads the user's ``design.py`` from its path (the service's import path never sees it),
checks the contract, generates the base SoC for LiteX's simulator into ``OUT_DIR/build`` and
compiles it with Verilator. Every output line is flushed at once so the parent can stream it.

Protocol with the parent (one line each, on stdout unless said otherwise):

* ``::hwbridge-stage:: NAME``: the following lines belong to stage NAME.
* ``::hwbridge-error:: TEXT`` (stderr): one human-readable line saying why the build failed.
* ``::hwbridge-result:: JSON``: on success, ``{"path", "window_base", "window_size"}``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

STAGE_MARKER = "::hwbridge-stage::"
ERROR_MARKER = "::hwbridge-error::"
RESULT_MARKER = "::hwbridge-result::"

EXIT_OK = 0
EXIT_USAGE = 2
#: design.py failed to import or instantiate, or broke the contract.
EXIT_DESIGN = 3
#: LiteX/migen could not turn the SoC with this design into Verilog.
EXIT_ELABORATE = 4
#: Verilator or the C++ compiler failed.
EXIT_COMPILE = 5

#: Port written into the template sim_config.js; every simulator instance rewrites it.
PLACEHOLDER_PORT = 1
#: Subdirectory of OUT_DIR that LiteX's Builder writes to.
BUILD_SUBDIR = "build"

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Lines that name the cause of a failed compile (Verilator, gcc, the kernel's OOM answers).
_COMPILE_CAUSE = re.compile(
    r"%Error|\berror:|fatal error|out of memory|memory exhausted|Killed|No such file",
    re.IGNORECASE,
)
#: Lines that only say that something failed (make's summary); used when no cause was seen.
_COMPILE_FAILED = re.compile(r"\berror\b", re.IGNORECASE)


class _PlainFormatter(logging.Formatter):
    """LiteX colours its log messages unconditionally; logs are read as plain text."""

    def format(self, record: logging.LogRecord) -> str:
        return _ANSI.sub("", super().format(record))


def _stage(name: str) -> None:
    print(f"{STAGE_MARKER} {name}", flush=True)


def _fail(code: int, reason: str) -> int:
    print(f"{ERROR_MARKER} {reason}", file=sys.stderr, flush=True)
    return code


def _user_traceback(exc: BaseException, design_py: Path) -> str:
    """Format ``exc`` showing only the frames that are in the user's file.

    Frames of importlib, LiteX and this module mean nothing to the user; when none of the
    frames is theirs (a SyntaxError, an error deep in migen) the innermost frame is kept so the
    message still says where it happened.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if Path(f.filename) == design_py]
    lines = ["Traceback (most recent call last, design.py frames only):\n"]
    if not mine and frames:
        mine = [frames[-1]]
        lines = ["Traceback (innermost frame; none is in design.py):\n"]
    lines += traceback.format_list(mine)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def _describe(exc: BaseException) -> str:
    """``Type: message`` on one line (multi-line messages joined, capped)."""
    message = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    if len(message) > 300:
        message = message[:297] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def load_design_module(design_py: Path) -> ModuleType:
    """Execute ``design_py`` as a module named ``design`` without touching sys.path.

    Args:
        design_py: Path of the user's file.

    Returns:
        The executed module.
    """
    spec = importlib.util.spec_from_file_location("design", design_py)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {design_py}")
    module = importlib.util.module_from_spec(spec)
    # Registered before execution so dataclasses/pickle inside the design can find it.
    sys.modules["design"] = module
    spec.loader.exec_module(module)
    return module


def _copy_sim_modules(out_dir: Path) -> Path:
    """Copy the hardened sim modules next to this build.

    LiteX writes a ``variables.mak`` into ``extra_mods_path``: the package directory must stay
    untouched and concurrent builds must not share it.
    """
    src = Path(__file__).resolve().parent / "sim_modules"
    dst = out_dir / "sim_modules"
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("variables.mak", "*.o", "*.so"))
    return dst


def _compile(gateware: Path) -> int:
    """Run LiteX's generated build script, streaming its output line by line."""
    _stage("verilator")
    cause = ""
    failed = ""
    with subprocess.Popen(
        ["bash", "build_sim.sh"],
        cwd=gateware,
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
            # The first cause is the one to report: later errors are usually consequences.
            if not cause and _COMPILE_CAUSE.search(line):
                cause = line.strip()
            elif _COMPILE_FAILED.search(line):
                failed = line.strip()
        rc = proc.wait()
    if rc != 0:
        return _fail(
            EXIT_COMPILE, f"Verilator build failed: {cause or failed or f'exit {rc}'}"[:400]
        )
    for needed in ("obj_dir/Vsim", "modules/serial2tcp_nodelay.so", "sim_config.js"):
        if not (gateware / needed).exists():
            return _fail(EXIT_COMPILE, f"Verilator build produced no {needed}")
    return EXIT_OK


def load_checked_design(design_py: Path) -> tuple[Any, int] | int:
    """Instantiate the user's ``Design`` and check the contract (the same for every board).

    Returns:
        The design and its window size, or the exit code after reporting what was wrong.
    """
    from hwbridge.virtual import soc as board

    print(f"loading {design_py.name}", flush=True)
    try:
        module = load_design_module(design_py)
        design_cls = getattr(module, "Design", None)
        if design_cls is None:
            raise board.DesignContractError("design.py defines no class named 'Design'")
        if not isinstance(design_cls, type):
            raise board.DesignContractError("Design in design.py must be a class")
        design = design_cls()
        window_size = board.check_design(design)
    except board.DesignContractError as exc:
        return _fail(EXIT_DESIGN, f"design contract violated: {exc}")
    except (Exception, SystemExit) as exc:
        print(_user_traceback(exc, design_py), file=sys.stderr, end="", flush=True)
        return _fail(EXIT_DESIGN, f"design.py raised {_describe(exc)}")
    last = board.USER_WINDOW_BASE + window_size - 1
    print(f"user window: {board.USER_WINDOW_BASE:#010x}..{last:#010x}", flush=True)
    return design, window_size


def run(design_py: Path, out_dir: Path) -> int:
    """Load, check, elaborate and compile one design.

    Args:
        design_py: The user's design file.
        out_dir: Build directory owned by this build alone.

    Returns:
        The process exit code (``EXIT_*``).
    """
    _stage("elaborate")
    # LiteX is imported here, not at module level, so `--help`-style failures stay cheap and a
    # broken LiteX install is reported as an elaboration error rather than a crash.
    from hwbridge.virtual import soc as board

    loaded = load_checked_design(design_py)
    if isinstance(loaded, int):
        return loaded
    design, window_size = loaded
    gateware = out_dir / BUILD_SUBDIR / "gateware"
    try:
        from litex.soc.integration.builder import Builder

        soc = board.build_soc(design, window_size)
        builder = Builder(
            soc,
            output_dir=str(out_dir / BUILD_SUBDIR),
            compile_software=False,
            compile_gateware=False,
        )
        builder.build(
            run=False,
            sim_config=board.sim_config(PLACEHOLDER_PORT),
            extra_mods=[board.UART_SIM_MODULE],
            extra_mods_path=str(_copy_sim_modules(out_dir)),
            jobs=os.cpu_count() or 1,
            opt_level="O3",
        )
    except Exception as exc:
        print(_user_traceback(exc, design_py), file=sys.stderr, end="", flush=True)
        return _fail(EXIT_ELABORATE, f"elaboration failed: {_describe(exc)}")

    rc = _compile(gateware)
    if rc != EXIT_OK:
        return rc
    result = {
        "path": str(gateware),
        "window_base": board.USER_WINDOW_BASE,
        "window_size": window_size,
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
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m hwbridge.virtual.elaborate DESIGN_PY OUT_DIR", file=sys.stderr)
        return EXIT_USAGE
    # Line-buffer both streams even when they are pipes, so the parent sees lines as they come.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_PlainFormatter("%(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    return run(Path(args[0]).resolve(), Path(args[1]).resolve())


if __name__ == "__main__":
    sys.exit(main())
