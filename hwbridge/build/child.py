"""The build child: ``python -m hwbridge.build.child PHASE ...``, one sandboxed process per phase.

* ``elaborate LANGUAGE SOURCE BUILD_DIR [--top T]``: the untrusted phase, for languages whose
  designs are code: it runs the user's file under the build's limits and leaves the netlist
  (or what the trusted phase makes it from) in ``BUILD_DIR``.
* ``board KIND LANGUAGE SOURCE BUILD_DIR [--top T] [--baudrate B] [--compile-memory BYTES]
  [--yosys-cache DIR] [--kit DIR] [--no-trace]``: the trusted phase, which runs no user code:
  the front end's own tools (Yosys, Verilator's checks), then the back end of the board kind.
* ``kit KIND KIT_DIR [--compile-memory BYTES]``: what every design's build on a board kind
  shares, built once (:func:`hwbridge.build.backends.virtual.build_kit`); no design at all.

Every output line is flushed at once, in the line protocol of :mod:`hwbridge.build.protocol`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from events.designs import AMARANTH, LANGUAGES, MIGEN
from hwbridge.build import protocol
from hwbridge.build.netlist import Netlist

PHASES = ("elaborate", "board", "kit")


def _elaborate(language: str, source: Path, build_dir: Path, top: str | None) -> int:
    if language == MIGEN:
        from hwbridge.build.frontends import migen

        return migen.elaborate(source, build_dir, top)
    if language == AMARANTH:
        from hwbridge.build.frontends import amaranth

        return amaranth.elaborate(source, build_dir, top)
    return protocol.fail(protocol.EXIT_USAGE, f"{language} designs have no elaborate phase")


def _netlist(args: argparse.Namespace, source: Path, build_dir: Path) -> int:
    """The front end's trusted step (none for Migen, whose elaborate phase made the netlist)."""
    if args.language == AMARANTH:
        from hwbridge.build.frontends import amaranth

        return amaranth.netlist(build_dir, args.yosys_cache)
    if args.language != MIGEN:
        from hwbridge.build.frontends import verilog

        return verilog.netlist(source, build_dir, args.top, args.language)
    return protocol.EXIT_OK


def _board(args: argparse.Namespace, source: Path, build_dir: Path) -> int:
    rc = _netlist(args, source, build_dir)
    if rc != protocol.EXIT_OK:
        return rc
    try:
        netlist = Netlist.load(build_dir)
    except ValueError as exc:
        return protocol.fail(protocol.EXIT_ELABORATE, f"the front end's output is unusable: {exc}")
    if args.kind == "ecp5_evn":
        from hwbridge.build.backends import ecp5

        return ecp5.build(build_dir, netlist, args.baudrate)
    from hwbridge.build.backends import virtual

    if args.kit is None:
        return protocol.fail(protocol.EXIT_USAGE, "a virtual board's build needs --kit")
    return virtual.build(
        build_dir, netlist, args.kit.resolve(), args.compile_memory, trace=not args.no_trace
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m hwbridge.build.child")
    parser.add_argument("phase", choices=PHASES)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        first = parser.parse_args(argv)
        sub = argparse.ArgumentParser(prog=f"python -m hwbridge.build.child {first.phase}")
        if first.phase in ("board", "kit"):
            sub.add_argument("kind")
        if first.phase == "kit":
            sub.add_argument("kit_dir", type=Path)
        else:
            sub.add_argument("language", choices=LANGUAGES)
            sub.add_argument("source", type=Path)
            sub.add_argument("build_dir", type=Path)
        sub.add_argument("--top", default=None)
        sub.add_argument("--baudrate", type=int, default=115_200)
        sub.add_argument("--compile-memory", type=int, default=None)
        sub.add_argument("--yosys-cache", type=Path, default=None)
        sub.add_argument("--kit", type=Path, default=None)
        # A simulator without tracing compiled in: what `make bench` compares with.
        sub.add_argument("--no-trace", action="store_true")
        args = sub.parse_args(first.rest)
    except SystemExit:
        return protocol.EXIT_USAGE
    protocol.setup_child_output()
    if first.phase == "kit":
        from hwbridge.build.backends import virtual

        return virtual.build_kit(args.kit_dir.resolve(), args.compile_memory)
    source, build_dir = args.source.resolve(), args.build_dir.resolve()
    if first.phase == "elaborate":
        return _elaborate(args.language, source, build_dir, args.top)
    return _board(args, source, build_dir)


if __name__ == "__main__":
    sys.exit(main())
