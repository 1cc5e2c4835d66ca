"""The base SoC of a virtual board and the contract a user's design must follow.

The SoC has no CPU: the UARTBone bridge is the only bus master, so whoever holds the serial link
drives the Wishbone bus. The user's module is a Wishbone slave in a fixed window at
:data:`USER_WINDOW_BASE`. The slave sees the full system *word* address (LiteX does not subtract
the region origin), so designs decode the low bits of ``bus.adr``.

Contract for ``design.py``::

    class Design(Module):
        def __init__(self):
            self.bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
            self.size = 0x1000  # optional, bytes, power of two, 4 B .. 16 MiB

This module imports LiteX; only the build child imports it.
"""

from __future__ import annotations

from typing import Any

from litex.build.generic_platform import Pins, Subsignal
from litex.build.sim import SimPlatform
from litex.build.sim.config import SimConfig
from litex.soc.cores.uart import RS232PHYModel, UARTBone
from litex.soc.integration.soc import SoCRegion
from litex.soc.integration.soc_core import SoCCore
from litex.soc.interconnect import wishbone
from migen import Module
from migen.genlib.io import CRG

#: Byte address of the user's window on the system bus. 1 GiB is aligned for every allowed size
#: and far from the CSR space LiteX puts at 0 when there is no CPU.
USER_WINDOW_BASE = 0x4000_0000
#: Window size used when the design has no ``size`` attribute.
DEFAULT_WINDOW_SIZE = 0x1000
MIN_WINDOW_SIZE = 4
MAX_WINDOW_SIZE = 16 * 1024 * 1024

#: Nominal simulated clock. UARTBone's frame timeout (100 ms simulated) and the bus timeout are
#: counted in cycles of this clock; at ~8 M simulated cycles/s, 1 MHz keeps both short in real
#: time while a reply byte still only costs ~0.1 us of real time.
SYS_CLK_FREQ = 1_000_000
#: Cycles before the interconnect answers a stalled slave with an error ack (all-ones data). It
#: must be well under UARTBone's 100 ms frame timeout, or a read from a slave that never acks
#: would silently drop the reply instead of returning 0xFFFFFFFF.
BUS_TIMEOUT_CYCLES = 10_000

#: Name of the hardened serial-to-TCP simulator module (``sim_modules/<name>``).
UART_SIM_MODULE = "serial2tcp_nodelay"


class DesignContractError(Exception):
    """The user's design does not follow the contract; the message says what to change."""


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


def check_window_size(size: object) -> int:
    """Validate a design's window size.

    Args:
        size: The value of the design's ``size`` attribute.

    Returns:
        The size as an int.

    Raises:
        DesignContractError: If it is not an int power of two between 4 bytes and 16 MiB.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise DesignContractError(
            f"Design.size must be an int number of bytes, got {type(size).__name__} {size!r}"
        )
    if not MIN_WINDOW_SIZE <= size <= MAX_WINDOW_SIZE:
        raise DesignContractError(
            f"Design.size must be between {MIN_WINDOW_SIZE} and {MAX_WINDOW_SIZE} bytes "
            f"(16 MiB), got {size:#x}"
        )
    if size & (size - 1):
        raise DesignContractError(f"Design.size must be a power of two, got {size:#x}")
    return size


def check_design(design: object) -> int:
    """Check a Design instance against the contract.

    Args:
        design: The object returned by ``Design()``.

    Returns:
        The window size in bytes (``design.size`` or :data:`DEFAULT_WINDOW_SIZE`).

    Raises:
        DesignContractError: With a message naming the violated rule.
    """
    if not isinstance(design, Module):
        raise DesignContractError(
            f"Design must be a migen Module subclass (class Design(Module)), "
            f"got an instance of {type(design).__name__}"
        )
    bus = getattr(design, "bus", None)
    if bus is None:
        raise DesignContractError(
            "Design has no 'bus' attribute: set self.bus = wishbone.Interface(data_width=32, "
            'address_width=32, addressing="word") in __init__'
        )
    if not isinstance(bus, wishbone.Interface):
        raise DesignContractError(
            f"Design.bus must be a litex.soc.interconnect.wishbone.Interface, "
            f"got {type(bus).__name__}"
        )
    if bus.data_width != 32:
        raise DesignContractError(f"Design.bus must have data_width=32, got {bus.data_width}")
    if bus.addressing != "word":
        raise DesignContractError(
            f'Design.bus must use addressing="word", got addressing="{bus.addressing}"'
        )
    if bus.address_width != 32:
        raise DesignContractError(
            f"Design.bus must have address_width=32 (a 30-bit word address), "
            f"got address_width={bus.address_width}"
        )
    return check_window_size(getattr(design, "size", DEFAULT_WINDOW_SIZE))


# The base SoC of every board kind: no CPU, no memories, no console or timer; UARTBone is the
# only master. The same bus timeout everywhere, so a never-acked access behaves alike.
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


class VirtualBoardSoC(SoCCore):  # type: ignore[misc]
    """CPU-less SoC: UARTBone master, LiteX control CSRs, the user's design as a slave."""

    def __init__(self, platform: SimBoardPlatform, design: Module, window_size: int) -> None:
        SoCCore.__init__(
            self, platform, SYS_CLK_FREQ, ident="hwbridge virtual board", **BASE_SOC_OPTIONS
        )
        self.crg = CRG(platform.request("sys_clk"))
        # add_uartbone() expects UART pins; the sim's serial pads are a stream, so the bridge is
        # wired by hand onto the stream PHY model.
        self.uartbone_phy = RS232PHYModel(platform.request("serial"))
        self.uartbone = UARTBone(self.uartbone_phy, SYS_CLK_FREQ, address_width=32)
        self.bus.add_master(name="uartbone", master=self.uartbone.wishbone)
        self.user = design
        self.bus.add_slave(
            name="user",
            slave=design.bus,
            region=SoCRegion(origin=USER_WINDOW_BASE, size=window_size, cached=False),
        )


def build_soc(design: Module, window_size: int) -> VirtualBoardSoC:
    """Build the base SoC around a checked design.

    Args:
        design: A Design instance that passed :func:`check_design`.
        window_size: The size returned by :func:`check_design`.

    Returns:
        The SoC, ready for LiteX's Builder.
    """
    return VirtualBoardSoC(SimBoardPlatform(), design, window_size)


def sim_config(port: int) -> SimConfig:
    """Simulator configuration: the system clock and the hardened serial-to-TCP module.

    Args:
        port: TCP port for the serial module; each running instance rewrites it.

    Returns:
        The LiteX SimConfig.
    """
    config = SimConfig()
    config.add_clocker("sys_clk", freq_hz=SYS_CLK_FREQ)
    config.add_module(UART_SIM_MODULE, "serial", args={"port": port})
    return config
