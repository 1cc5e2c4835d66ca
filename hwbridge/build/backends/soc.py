"""What every board's base SoC shares: no CPU, UARTBone as the only master, the user's slot.

The user's design sits behind :mod:`hwbridge.build.wrapper`'s module at
:data:`~hwbridge.build.contract.USER_WINDOW_BASE`, in a region of the largest window size, so
the SoC itself is the same for every design. With no CPU, the CSR ``ctrl_scratch`` at byte
0x4 reads 0x12345678 after reset (the service's health probe) and the identifier string is at
0x800.

Imports LiteX: only the build child's trusted phase imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litex.soc.integration.soc import SoCRegion
from litex.soc.interconnect import wishbone
from migen import ClockSignal, Instance, ResetSignal

from hwbridge.build.contract import USER_REGION_SIZE, USER_WINDOW_BASE
from hwbridge.build.netlist import Netlist
from hwbridge.build.wrapper import FILE, MODULE, wrapper_verilog

#: Cycles before the interconnect answers a stalled slave with an error ack (all-ones data). It
#: must be well under UARTBone's 100 ms frame timeout, or a read from a slave that never acks
#: would silently drop the reply instead of returning 0xFFFFFFFF.
BUS_TIMEOUT_CYCLES = 10_000

# No CPU, no memories, no console or timer; UARTBone is the only master. The same bus timeout
# everywhere, so a never-acked access behaves alike.
BASE_SOC_OPTIONS: dict[str, object] = {
    "cpu_type": None,
    "integrated_rom_size": 0,
    "integrated_sram_size": 0,
    "integrated_main_ram_size": 0,
    "with_uart": False,
    "with_timer": False,
    "bus_timeout": BUS_TIMEOUT_CYCLES,
    "ident_version": False,
}


def add_user_slot(soc: Any) -> None:
    """Instantiate the wrapper as the user's Wishbone slave on ``soc``'s bus."""
    bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
    soc.specials += Instance(
        MODULE,
        i_clk=ClockSignal("sys"), i_rst=ResetSignal("sys"),
        i_cyc=bus.cyc, i_stb=bus.stb, i_we=bus.we, i_adr=bus.adr, i_dat_w=bus.dat_w,
        i_sel=bus.sel, i_cti=bus.cti, i_bte=bus.bte,
        o_dat_r=bus.dat_r, o_ack=bus.ack, o_err=bus.err,
    )  # fmt: skip
    region = SoCRegion(origin=USER_WINDOW_BASE, size=USER_REGION_SIZE, cached=False)
    soc.bus.add_slave(name="user", slave=bus, region=region)


def add_user_sources(platform: Any, build_dir: Path, netlist: Netlist) -> None:
    """Write the wrapper for ``netlist`` and give the platform it and the design's sources."""
    wrapper = build_dir / FILE
    wrapper.write_text(wrapper_verilog(netlist))
    language = "systemverilog" if netlist.systemverilog else "verilog"
    platform.add_source(str(wrapper), language="verilog")
    for path in netlist.paths(build_dir):
        platform.add_source(str(path), language=language)
