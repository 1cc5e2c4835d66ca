"""The virtual board's base SoC, as LiteX generates it for its simulator.

No CPU: UARTBone is the only bus master, on the sim's serial byte stream (wired by hand:
LiteX's ``add_uartbone`` wants UART pins, the sim's ``serial`` pads are a byte stream), the
LiteX control CSRs, LiteX's simulation trace control (a CSR whose bit switches waveform
recording on and off at run time, ``hwbridge/virtual/sim_core/tracer.cpp``), and the user's slot
(:func:`hwbridge.build.backends.soc.add_user_slot`).
It is the same for every design, so it is generated once per simulator kit
(:func:`hwbridge.build.backends.virtual.build_kit`).

Imports LiteX: only the build child imports it, when it builds a kit.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from litex.build.generic_platform import Pins, Subsignal
from litex.build.sim import SimPlatform
from litex.build.sim.config import SimConfig
from litex.build.sim.platform import SimTrace
from litex.soc.cores.uart import RS232PHYModel, UARTBone
from litex.soc.integration.builder import Builder
from litex.soc.integration.soc_core import SoCCore
from migen.genlib.io import CRG

from hwbridge.build.backends.soc import BASE_SOC_OPTIONS, add_user_slot
from hwbridge.virtual.constants import SYS_CLK_FREQ, UARTBONE_TIMEOUT_CYCLES

#: Name of the hardened serial-to-TCP simulator module (``hwbridge/virtual/sim_modules``).
UART_SIM_MODULE = "serial2tcp_nodelay"
OUR_SIM_MODULES = Path(__file__).resolve().parents[2] / "virtual" / "sim_modules"
#: The trace control CSR's name in LiteX's register map.
TRACE_CSR = "sim_trace_enable"

_SIM_IO: list[tuple[Any, ...]] = [
    ("sys_clk", 0, Pins(1)),
    ("sys_rst", 0, Pins(1)),
    # The simulator's serial "pads" are a byte stream driven by a sim module, not UART pins.
    (
        "serial",
        0,
        Subsignal("source_valid", Pins(1)),
        Subsignal("source_ready", Pins(1)),
        Subsignal("source_data", Pins(8)),
        Subsignal("sink_valid", Pins(1)),
        Subsignal("sink_ready", Pins(1)),
        Subsignal("sink_data", Pins(8)),
    ),
]


class SimBoardPlatform(SimPlatform):  # type: ignore[misc]
    """Verilator platform with only a clock, a reset and the serial byte stream."""

    def __init__(self) -> None:
        SimPlatform.__init__(self, "SIM", list(_SIM_IO))


class VirtualBoardSoC(SoCCore):  # type: ignore[misc]
    """CPU-less SoC: UARTBone master, LiteX control CSRs, the user's slot."""

    def __init__(self, platform: SimBoardPlatform) -> None:
        SoCCore.__init__(
            self, platform, SYS_CLK_FREQ, ident="hwbridge virtual board", **BASE_SOC_OPTIONS
        )
        self.crg = CRG(platform.request("sys_clk"))
        self.uartbone_phy = RS232PHYModel(platform.request("serial"))
        # UARTBone's frame timeout is 0.1 s of the clock it is given: 10 x UARTBONE_TIMEOUT_CYCLES.
        self.uartbone = UARTBone(self.uartbone_phy, 10 * UARTBONE_TIMEOUT_CYCLES, address_width=32)
        self.bus.add_master(name="uartbone", master=self.uartbone.wishbone)
        # Recording is off at reset; the service sets the bit around what it records.
        self.sim_trace = SimTrace(platform.trace)
        add_user_slot(self)


def sim_config(port: int) -> SimConfig:
    """Simulator configuration: the system clock and the hardened serial-to-TCP module."""
    config = SimConfig()
    config.add_clocker("sys_clk", freq_hz=SYS_CLK_FREQ)
    config.add_module(UART_SIM_MODULE, "serial", args={"port": port})
    return config


def generate(soc_dir: Path, port: int) -> Path:
    """Write the SoC's Verilog, the simulator's C++ glue and its config; the gateware dir."""
    builder = Builder(
        VirtualBoardSoC(SimBoardPlatform()),
        output_dir=str(soc_dir),
        compile_software=False,
        compile_gateware=False,
    )
    modules = soc_dir / "sim_modules"
    shutil.copytree(OUR_SIM_MODULES, modules, dirs_exist_ok=True)
    # trace=True: the generated glue calls the tracer on every step (it records only while the
    # SoC's trace bit is set).
    builder.build(
        run=False, sim_config=sim_config(port), extra_mods=[UART_SIM_MODULE],
        extra_mods_path=str(modules), trace=True,
    )  # fmt: skip
    return soc_dir / "gateware"


def trace_control_address(soc_dir: Path) -> int:
    """The byte address of the trace control CSR in the generated SoC (its ``csr.json``)."""
    registers = json.loads((soc_dir / "csr.json").read_text())["csr_registers"]
    address: int = registers[TRACE_CSR]["addr"]
    return address
