"""Virtual board back end: the base SoC for LiteX's simulator, compiled with Verilator.

The SoC has no CPU: UARTBone is the only bus master, on the sim's serial byte stream (wired by
hand: LiteX's ``add_uartbone`` wants UART pins), and the user's design is the wrapper's slave
(:mod:`hwbridge.build.backends.soc`). Since the SoC is the same for every design, everything
that does not depend on the design is built once per host into a **kit** (:func:`build_kit`):
the SoC's Verilog and C++ glue (LiteX), the simulator's C core and its two sim modules, the
Verilator runtime (FST tracing compiled in, switched on at run time by the SoC: see
``hwbridge/virtual/sim_core/tracer.cpp``) and a precompiled header of it. A design's build
(:func:`build`) imports no LiteX: it Verilates the kit's SoC with the wrapper and the design,
compiles the one unit that depends on them, and links it with the kit's objects.

A combinational loop in the design is an error (``UNOPTFLAT``), not a simulation that never
settles. Imports LiteX only to build a kit, in the build child.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hwbridge.build import protocol
from hwbridge.build.contract import CLASSIC, DEFAULT_MODULE, USER_WINDOW_BASE, Port
from hwbridge.build.frontends.verilog import tidy
from hwbridge.build.netlist import Netlist
from hwbridge.build.wrapper import FILE as WRAPPER_FILE
from hwbridge.build.wrapper import wrapper_verilog
from hwbridge.virtual.artifact import SIM_MODULES, SimArtifact
from hwbridge.virtual.constants import SYS_CLK_FREQ, TRACE_CONTROL_ADDRESS

KIT_FILE = "kit.json"
#: Port written into the template sim_config.js; every simulator instance rewrites it.
PLACEHOLDER_PORT = 1
OUR_SIM_MODULES = Path(__file__).resolve().parents[2] / "virtual" / "sim_modules"
#: Our Verilator glue in place of LiteX's ``veril.cpp``: the tracer the SoC switches.
TRACER = Path(__file__).resolve().parents[2] / "virtual" / "sim_core" / "tracer.cpp"
#: The SoC's files a simulator build reads from the kit (besides ``*.init``).
GATEWARE_FILES = ("sim.v", "sim_init.cpp", "sim_header.h", "sim_config.js")
#: The LiteX simulator core's C files, compiled once into the kit.
CORE_OBJECTS = ("libdylib.o", "modules.o", "pads.o", "parse.o", "sim.o")
#: C++ objects of a simulator that do not depend on the design (the last two include the
#: model's top-level header, which is the same for every design: checked per build).
RUNTIME_OBJECTS = ("verilated.o", "verilated_fst_c.o", "verilated_threads.o")
GLUE_OBJECTS = ("tracer.o", "sim_init.o")
PCH = "verilated_pch.h"
#: Optimisation of the design's C++: -O1 compiles in about half the time of -Os/-O2 and the
#: simulator runs as fast (measured: ``make bench``); no debug information to write.
OPT = "-O1"
CFLAGS = f"-g0 -Wall {OPT}"
LDFLAGS = "-lpthread -Wl,--no-as-needed -ljson-c -lz -lm -lstdc++ -Wl,--no-as-needed -ldl -levent"
#: FST tracing compiled in: what it costs while nothing records is measured by ``make bench``.
TRACE_FLAGS = ["--trace-fst"]
VERILATOR_FLAGS = [
    "-Wno-fatal", "-O3", "--top-module", "sim", "--exe", "-DPRINTF_COND=0",
    "--unroll-count", "256", "--output-split", "5000", "--output-split-cfuncs", "500",
    "--output-split-ctrace", "500", "-Wno-BLKANDNBLK", "-Wno-WIDTH", "-Wno-COMBDLY",
    "-Wno-CASEINCOMPLETE", "--relative-includes",
    # A real combinational loop would make the simulation fail to settle at run time.
    "-Werror-UNOPTFLAT",
]  # fmt: skip
_PCH_MAKEFILE = """\
# Generated: the precompiled header, with exactly the flags of the design's compile.
pch: {pch}.gch
{pch}.gch: {pch}
\t$(CXX) $(CXXFLAGS) $(CPPFLAGS) $(OPT_FAST) -x c++-header -o $@ $<
"""
_LOOP = re.compile(r"Circular combinational logic: '([^']+)'")
_CAUSE = re.compile(
    r"%Error|\berror:|fatal error|out of memory|memory exhausted|Killed|No such file",
    re.IGNORECASE,
)


def _run(argv: list[str], cwd: Path, memory: int | None) -> tuple[int, list[str]]:
    """Run a compile step, echoing its output; (exit code, the output's lines)."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    lines: list[str] = []
    with subprocess.Popen(
        argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace", preexec_fn=limit,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = protocol.ANSI.sub("", raw.rstrip("\n"))
            print(line, flush=True)
            lines.append(line)
        return proc.wait(), lines


class CompileError(Exception):
    """A compile step failed; the message is the first line that says why."""


def _check(result: tuple[int, list[str]]) -> None:
    rc, lines = result
    if rc == 0:
        return
    loop = next((m for line in lines if (m := _LOOP.search(line))), None)
    if loop is not None:
        where = next((tidy(x) for x in lines if "UNOPTFLAT" in x), "")
        signal = loop.group(1).split(".")[-1]
        place = where.split(": ", 1)[0] if where else "the design"
        raise CompileError(
            f"combinational loop through {signal} ({place}): break it with a register"
        )
    cause = next((tidy(x) for x in lines if _CAUSE.search(x)), "")
    raise CompileError(cause or f"exit {rc}")


def _core() -> Path:
    # The one LiteX path a design's build needs, found without importing LiteX.
    import importlib.util

    spec = importlib.util.find_spec("litex")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "build" / "sim" / "core"


def _verilate(
    workdir: Path,
    kit: Path,
    sources: list[Path],
    cflags: str,
    memory: int | None,
    trace: bool = True,
) -> None:
    """Verilate the kit's SoC with ``sources`` into ``workdir/obj_dir``."""
    core = _core()
    argv = ["verilator", *VERILATOR_FLAGS, *(TRACE_FLAGS if trace else []), "-Mdir", "obj_dir"]
    argv += ["-CFLAGS", f"{CFLAGS} -I{core} -I{kit / 'gateware'} {cflags}", "-LDFLAGS", LDFLAGS]
    for source in (kit / "gateware" / "sim.v", *sources):
        argv += ["--cc", str(source)]
    argv += [str(kit / "gateware" / "sim_init.cpp"), str(TRACER), *CORE_OBJECTS]
    _check(_run(argv, workdir, memory))


def _make(obj_dir: Path, targets: list[str], memory: int | None, *extra: str) -> None:
    jobs = str(os.cpu_count() or 1)
    opts = [f"OPT_FAST={OPT}", f"OPT_SLOW={OPT}", f"OPT_GLOBAL={OPT}"]
    argv = ["make", "-j", jobs, "-f", "Vsim.mk", *extra, *opts, *targets]
    _check(_run(argv, obj_dir, memory))


# ------------------------------------------------------------------------------------- the kit


def _stub_netlist() -> Netlist:
    """A design that is no design: acknowledges nothing, so the SoC can be generated alone."""
    ports = {n: Port(n, d, w or 1) for n, (d, w) in CLASSIC.items()}
    return Netlist("verilog", DEFAULT_MODULE, ("stub.v",), ports, 4)


def _stub_verilog() -> str:
    return (
        f"module {DEFAULT_MODULE}(input clk, input rst, input wb_cyc, input wb_stb, "
        "input wb_we, input [0:0] wb_adr, input [31:0] wb_dat_w, input [3:0] wb_sel, "
        "output [31:0] wb_dat_r, output wb_ack);\n"
        "  assign wb_dat_r = 32'd0;\n  assign wb_ack = 1'b0;\nendmodule\n"
    )


def build_kit(kit: Path, memory: int | None) -> int:
    """Build everything a design's simulator needs that does not depend on the design."""
    protocol.stage("kit")
    try:
        from hwbridge.build.backends.virtual_soc import (
            UART_SIM_MODULE,
            generate,
            trace_control_address,
        )

        gateware = generate(kit / "soc", PLACEHOLDER_PORT)
        control = trace_control_address(kit / "soc")
        if control != TRACE_CONTROL_ADDRESS:
            raise CompileError(
                f"LiteX put the trace control CSR at 0x{control:x}, not at 0x"
                f"{TRACE_CONTROL_ADDRESS:x} (hwbridge.virtual.constants): update the constant"
            )
        (kit / "gateware").mkdir()
        for name in GATEWARE_FILES:
            shutil.copy2(gateware / name, kit / "gateware" / name)
        for init in gateware.glob("*.init"):
            shutil.copy2(init, kit / "gateware" / init.name)
        core = _core()
        obj = kit / "obj"
        obj.mkdir()
        for name in CORE_OBJECTS:
            source = core / (Path(name).stem + ".c")
            _check(
                _run(
                    ["gcc", "-c", *CFLAGS.split(), f"-I{core}", "-o", name, str(source)],
                    obj,
                    memory,
                )
            )
        modules = kit / "modules"
        modules.mkdir()
        for name in SIM_MODULES:
            source = (
                OUR_SIM_MODULES / name / f"{name}.c"
                if name == UART_SIM_MODULE
                else core / "modules" / name / f"{name}.c"
            )
            flags = [*CFLAGS.split(), "-fPIC", "-Werror", f"-I{core}"]
            _check(_run(["gcc", "-c", *flags, "-o", f"{name}.o", str(source)], modules, memory))
            link = ["gcc", "-levent", "-shared", "-fPIC", f"-Wl,-soname,{name}.so"]
            _check(_run([*link, "-o", f"{name}.so", f"{name}.o"], modules, memory))
            (modules / f"{name}.o").unlink()
        # A reference simulator with a stub design: its runtime and glue objects, its header.
        ref = kit / "ref"
        ref.mkdir()
        (ref / "stub.v").write_text(_stub_verilog())
        (ref / WRAPPER_FILE).write_text(wrapper_verilog(_stub_netlist()))
        _verilate(ref, kit, [ref / WRAPPER_FILE, ref / "stub.v"], "", memory)
        _make(ref / "obj_dir", [*RUNTIME_OBJECTS, *GLUE_OBJECTS], memory)
        for name in (*RUNTIME_OBJECTS, *GLUE_OBJECTS):
            shutil.copy2(ref / "obj_dir" / name, obj / name)
        shutil.copy2(ref / "obj_dir" / "Vsim.h", kit / "Vsim.h")
        pch = kit / "pch"
        pch.mkdir()
        (pch / PCH).write_text('#include "verilated.h"\n#include "verilated_fst_c.h"\n')
        (ref / "obj_dir" / "pch.mk").write_text(_PCH_MAKEFILE.format(pch=pch / PCH))
        _make(ref / "obj_dir", ["pch"], memory, "-f", "pch.mk")
        shutil.rmtree(ref)
        shutil.rmtree(kit / "soc")
    except CompileError as exc:
        return protocol.fail(protocol.EXIT_COMPILE, f"the simulator kit does not build: {exc}")
    except Exception as exc:
        return protocol.fail(protocol.EXIT_ELABORATE, f"the simulator kit does not build: {exc}")
    about = {"opt": OPT, "sys_clk_freq": SYS_CLK_FREQ, "trace_control": TRACE_CONTROL_ADDRESS}
    (kit / KIT_FILE).write_text(json.dumps(about) + "\n")
    protocol.result({"path": str(kit)})
    return protocol.EXIT_OK


# ------------------------------------------------------------------------------------ a design


def _link_prebuilt(kit: Path, obj_dir: Path, trace: bool = True) -> list[str]:
    """Put the kit's objects where the simulator's makefile looks; the ones it may reuse.

    Copied, not linked: the makefile rebuilds an object older than the makefile Verilator just
    wrote. The glue objects include the model's top-level header: they are reused only when
    the design's header is the kit's, byte for byte (else the makefile compiles them again).
    A simulator without tracing (``trace`` false: benchmarks only) reuses the C core only.
    """
    reused = [*CORE_OBJECTS]
    if trace:
        reused += RUNTIME_OBJECTS
    if trace and (obj_dir / "Vsim.h").read_bytes() == (kit / "Vsim.h").read_bytes():
        reused += GLUE_OBJECTS
    for name in reused:
        shutil.copyfile(kit / "obj" / name, obj_dir / name)
    return reused


def build(
    build_dir: Path, netlist: Netlist, kit: Path, compile_memory: int | None, trace: bool = True
) -> int:
    """The back end for one design: Verilate, compile, link with the kit, package.

    ``trace`` false builds a simulator without tracing compiled in (what ``make bench``
    compares with); the service's boards always have it.
    """
    (build_dir / WRAPPER_FILE).write_text(wrapper_verilog(netlist))
    work = build_dir / "sim"
    work.mkdir()
    try:
        protocol.stage("verilator")
        pch = f"-include {kit / 'pch' / PCH} -Winvalid-pch" if trace else ""
        sources = [build_dir / WRAPPER_FILE, *netlist.paths(build_dir)]
        _verilate(work, kit, sources, pch, compile_memory, trace)
        reused = _link_prebuilt(kit, work / "obj_dir", trace)
        print(f"reusing {len(reused)} prebuilt objects from the simulator kit", flush=True)
        protocol.stage("compile")
        _make(work / "obj_dir", ["Vsim"], compile_memory)
    except CompileError as exc:
        return protocol.fail(protocol.EXIT_COMPILE, f"Verilator build failed: {exc}")
    protocol.stage("package")
    inits = [*(kit / "gateware").glob("*.init"), *(build_dir / n for n in netlist.data_files)]
    artifact = SimArtifact.pack(
        build_dir / "package",
        vsim=work / "obj_dir" / "Vsim",
        modules=kit / "modules",
        sim_config=kit / "gateware" / "sim_config.js",
        inits=inits,
        window_base=USER_WINDOW_BASE,
        window_size=netlist.window_size,
    )
    result: dict[str, Any] = {
        "path": str(artifact.path),
        "window_base": artifact.window_base,
        "window_size": artifact.window_size,
    }
    protocol.result(result)
    return protocol.EXIT_OK
