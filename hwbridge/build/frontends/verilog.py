"""Verilog / SystemVerilog front end: a module with the contract's ports, found by Verilator.

No user code runs: Verilator parses the file (``--xml-only``) and reports every module with its
ports, so the top (``top``, else ``user_design``) and its ports are checked against the
contract before anything is built, with messages that name the file's line. The same check
serves every front end whose output is Verilog (:func:`discover`).
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from hwbridge.build import protocol
from hwbridge.build.contract import DEFAULT_MODULE, RESERVED_MODULES, Port, check_ports
from hwbridge.build.netlist import Netlist

#: Bump when the check or what it produces changes, so cached builds are not reused.
VERSION = "verilog-1"
VERILATOR_TIMEOUT_S = 120.0
_LOCATION = re.compile(r"(%(?:Error|Warning)[^:]*: )(\S*?/)?([^/\s:]+:\d+)(?::\d+)?(: )")


class VerilogError(Exception):
    """The sources do not parse, or hold no usable top; the message is one readable line."""


def tidy(line: str) -> str:
    """A Verilator message without the build directory: ``design.v:12: syntax error ...``."""
    return _LOCATION.sub(lambda m: m.group(3) + m.group(4), line.strip()).lstrip("%")


def modules(sources: list[Path], work: Path) -> dict[str, dict[str, Port]]:
    """Every module the sources define, with its ports by name.

    Raises:
        VerilogError: Verilator refused the sources (the first error, tidied).
    """
    out = work / "modules.xml"
    argv = ["verilator", "--xml-only", "--xml-output", str(out), "-Wno-fatal", "-Wno-MULTITOP"]
    run = subprocess.run(
        [*argv, *map(str, sources)],
        cwd=work, capture_output=True, text=True, errors="replace",
        timeout=VERILATOR_TIMEOUT_S, check=False,
    )  # fmt: skip
    for line in run.stdout.splitlines() + run.stderr.splitlines():
        print(line, flush=True)
    if run.returncode != 0:
        errors = [tidy(x) for x in run.stderr.splitlines() if x.startswith("%Error")]
        raise VerilogError(errors[0] if errors else f"verilator exited with {run.returncode}")
    root = ET.parse(out).getroot()
    widths = {}
    for dtype in root.iter():
        if dtype.get("id") is not None and dtype.tag.endswith("dtype"):
            left, right = dtype.get("left"), dtype.get("right")
            width = abs(int(left) - int(right)) + 1 if left and right else 1
            widths[dtype.get("id")] = width
    found: dict[str, dict[str, Port]] = {}
    for module in root.iter("module"):
        name = module.get("origName") or module.get("name") or ""
        ports = {}
        for var in module.findall("var"):
            direction = var.get("dir")
            if direction in ("input", "output", "inout"):
                port = var.get("origName") or var.get("name") or ""
                ports[port] = Port(port, direction, widths.get(var.get("dtype_id") or "", 1))
        found.setdefault(name, ports)
    return found


def discover(
    sources: list[Path], work: Path, top: str | None, *, generated: bool = False
) -> tuple[str, dict[str, Port]]:
    """The top module and its ports, checked against the contract.

    Raises:
        VerilogError: No such module, a reserved name, or ports that break the contract.
    """
    found = modules(sources, work)
    name = top or DEFAULT_MODULE
    if name not in found:
        listed = ", ".join(sorted(found)) or "none"
        names = ", ".join(s.name for s in sources)
        raise VerilogError(
            f"no module named {name} in {names} (modules: {listed}); name the top module "
            "with the submit field 'top'"
        )
    taken = RESERVED_MODULES & set(found)
    if taken:
        raise VerilogError(
            f"module name(s) {', '.join(sorted(taken))} are used by the base SoC; rename yours"
        )
    ports = found[name]
    problem = check_ports(name, ports, generated=generated)
    if problem is not None:
        raise VerilogError(problem)
    return name, ports


def netlist(source: Path, build_dir: Path, top: str | None, language: str) -> int:
    """Check the user's file and write the netlist (the trusted phase: no user code)."""
    protocol.stage("elaborate")
    print(f"checking {source.name} with Verilator", flush=True)
    try:
        name, ports = discover([source], build_dir, top)
    except VerilogError as exc:
        return protocol.fail(protocol.EXIT_DESIGN, str(exc))
    window = 4 << ports["wb_adr"].width
    Netlist(
        language=language,
        top=name,
        sources=(source.name,),
        ports=ports,
        window_size=window,
        systemverilog=source.suffix == ".sv",
    ).save(build_dir)
    print(f"module {name}: wb_adr {ports['wb_adr'].width} bits, region {window} bytes", flush=True)
    return protocol.EXIT_OK
