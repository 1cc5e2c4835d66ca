"""ECP5 back end: the base SoC for the Lattice ECP5 evaluation board, to a bitstream.

Same shape as the virtual board (:mod:`hwbridge.build.backends.soc`); the clock is the board's
12 MHz crystal through the ECP5 PLL to a 60 MHz system clock (exact: VCO 480 MHz / 8, where
50 MHz would come out as 50.4 MHz and skew the UART by 0.8 %). LiteX writes the Verilog and
its Trellis build script; the script's three tools (``yosys``, ``nextpnr``, ``ecppack``
stages) run one by one through yowasp wrappers, nextpnr's log is read, and the build fails if
the design does not fit the device or misses the system clock (LiteX lets nextpnr pass timing
failures).

Imports LiteX and litex-boards: only the build child's trusted phase imports it. It runs no
user code, and needs more address space than the untrusted phase may have: each WebAssembly
tool reserves ~4 GiB of virtual memory up front.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from litex.build.lattice import LatticeECP5Platform
from litex.gen import LiteXModule
from litex.soc.cores.clock import ECP5PLL
from litex.soc.integration.builder import Builder
from litex.soc.integration.soc_core import SoCCore
from litex_boards.platforms import lattice_ecp5_evn
from migen import ClockDomain

from hwbridge.build import protocol
from hwbridge.build.backends.soc import BASE_SOC_OPTIONS, add_user_slot, add_user_sources
from hwbridge.build.contract import USER_WINDOW_BASE
from hwbridge.build.netlist import Netlist
from hwbridge.ecp5.constants import CLK12_FREQ, SYS_CLK_FREQ
from hwbridge.ecp5.nextpnr_log import PnrReport
from hwbridge.ecp5.toolchain import (
    ToolchainError,
    find_build_script,
    parse_build_script,
    write_wrappers,
)

BUILD_SUBDIR = "build"
BIN_SUBDIR = "bin"
#: The UART's name in the litex-boards platform (the FT2232H channel B pins).
UART_NAME = "serial"
# yosys and nextpnr start fatal messages with "ERROR:"; a Python traceback from a wrapper ends
# in "SomeError: ..." (e.g. wasmtime failing to reserve memory).
_TOOL_ERROR = re.compile(r"^ERROR:|Error: |Killed")


class EvnPlatform(lattice_ecp5_evn.Platform):  # type: ignore[misc]
    """The litex-boards platform without its 2-second pause on every UART request.

    The stock ``request("serial")`` prints a note about the board's resistor and EEPROM
    changes, then sleeps 2 s so a human notices: wasted time in a build service. The note is
    printed once per build here, without the pause.
    """

    def request(self, *args: Any, **kwargs: Any) -> Any:
        """Request a pin group, as ``LatticeECP5Platform.request`` does."""
        if UART_NAME in args:
            print(
                "note: the FT2232H channel B carries the UART only on a modified board "
                "(R22/R23 removed, R34/R35 fitted, channel B set to UART in its EEPROM)",
                flush=True,
            )
        return LatticeECP5Platform.request(self, *args, **kwargs)


class _CRG(LiteXModule):  # type: ignore[misc]
    """12 MHz crystal -> PLL -> ``sys``; the PLL's lock and the board's reset button reset it."""

    def __init__(self, platform: EvnPlatform, sys_clk_freq: int) -> None:
        self.cd_sys = ClockDomain()
        self.pll = pll = ECP5PLL()
        self.comb += pll.reset.eq(~platform.request("rst_n"))
        pll.register_clkin(platform.request("clk12"), CLK12_FREQ)
        # margin=0: the point of 60 MHz is that it is exact; fail rather than approximate it.
        pll.create_clkout(self.cd_sys, sys_clk_freq, margin=0)


class Ecp5BoardSoC(SoCCore):  # type: ignore[misc]
    """CPU-less SoC: UARTBone on the board UART, LiteX control CSRs, the user's slot."""

    def __init__(self, platform: EvnPlatform, *, baudrate: int) -> None:
        self.crg = _CRG(platform, SYS_CLK_FREQ)
        SoCCore.__init__(
            self, platform, SYS_CLK_FREQ, ident="hwbridge ecp5_evn board", **BASE_SOC_OPTIONS
        )
        self.add_uartbone(uart_name=UART_NAME, baudrate=baudrate)
        add_user_slot(self)


def generate(build_dir: Path, netlist: Netlist, baudrate: int) -> Path:
    """Write the SoC's Verilog and LiteX's Trellis build script; the gateware directory."""
    platform = EvnPlatform(toolchain="trellis")
    soc = Ecp5BoardSoC(platform, baudrate=baudrate)
    add_user_sources(platform, build_dir, netlist)
    builder = Builder(
        soc,
        output_dir=str(build_dir / BUILD_SUBDIR),
        compile_software=False,
        compile_gateware=False,
    )
    builder.build(run=False)
    gateware = build_dir / BUILD_SUBDIR / "gateware"
    for name in netlist.data_files:
        (gateware / Path(name).name).write_bytes((build_dir / name).read_bytes())
    return gateware


def _run_tool(command: str, cwd: Path, env: dict[str, str], report: PnrReport) -> tuple[int, str]:
    """Run one build-script line, echoing and parsing its output; (exit code, cause line)."""
    cause = last = ""
    with subprocess.Popen(
        ["bash", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = protocol.ANSI.sub("", raw.rstrip("\n"))
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
        return protocol.fail(protocol.EXIT_FIT, report.fit_reason())
    summary = ", ".join(
        f"{name} {report.used[name]}/{report.capacity[name]}"
        for name in ("LUT4", "FF", "TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D")
        if name in report.used
    )
    print(f"utilisation: {summary}", flush=True)
    clock = report.clock_at(target_mhz)
    if clock is None:
        return protocol.fail(
            protocol.EXIT_TIMING, f"nextpnr reported no timing for the {target_mhz:g} MHz clock"
        )
    print(f"system clock: {clock.fmax_mhz:.2f} MHz achieved, {target_mhz:.2f} MHz needed")
    if clock.fmax_mhz < target_mhz:
        return protocol.fail(
            protocol.EXIT_TIMING,
            f"timing not met: the system clock reaches {clock.fmax_mhz:.2f} MHz after routing, "
            f"the design must run at {target_mhz:.2f} MHz (critical path in the nextpnr log)",
        )
    return protocol.EXIT_OK


def build(build_dir: Path, netlist: Netlist, baudrate: int) -> int:
    """The back end: generate, then yosys, nextpnr-ecp5 and ecppack; prints the result line."""
    protocol.stage("elaborate")
    try:
        gateware = generate(build_dir, netlist, baudrate)
    except Exception as exc:
        return protocol.fail(protocol.EXIT_ELABORATE, f"the SoC could not be generated: {exc}")
    try:
        write_wrappers(build_dir / BIN_SUBDIR, build_dir)
        steps = parse_build_script(find_build_script(gateware).read_text())
    except (OSError, ValueError, ToolchainError) as exc:
        protocol.stage("yosys")
        return protocol.fail(protocol.EXIT_COMPILE, f"cannot start the toolchain: {exc}")
    env = dict(os.environ)
    env["PATH"] = f"{build_dir / BIN_SUBDIR}{os.pathsep}{env.get('PATH', '')}"
    report = PnrReport()
    target_mhz = SYS_CLK_FREQ / 1e6
    for step in steps:
        protocol.stage(step.stage)
        print(f"$ {step.command}", flush=True)
        started = time.monotonic()
        rc, cause = _run_tool(step.command, gateware, env, report)
        took = time.monotonic() - started
        print(f"{step.stage} finished in {took:.1f} s (exit {rc})", flush=True)
        if rc != 0:
            if step.stage == "nextpnr" and report.out_of_room():
                return protocol.fail(protocol.EXIT_FIT, report.fit_reason())
            return protocol.fail(
                protocol.EXIT_COMPILE, f"{step.stage} failed: {cause or f'exit {rc}'}"
            )
        if step.stage == "nextpnr" and (rc := _check_pnr(report, target_mhz)):
            return rc
    bits = sorted(gateware.glob("*.bit"))
    if len(bits) != 1:
        return protocol.fail(
            protocol.EXIT_COMPILE, f"ecppack produced {len(bits)} .bit files, expected 1"
        )
    clock = report.clock_at(target_mhz)
    assert clock is not None  # _check_pnr passed
    protocol.result(
        {
            "path": str(bits[0]),
            "window_base": USER_WINDOW_BASE,
            "window_size": netlist.window_size,
            "utilisation": report.used,
            "capacity": report.capacity,
            "fmax_mhz": clock.fmax_mhz,
            "target_mhz": target_mhz,
            "size_bytes": bits[0].stat().st_size,
        }
    )
    return protocol.EXIT_OK
