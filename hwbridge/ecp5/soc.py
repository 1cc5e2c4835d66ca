"""The base SoC of a real board: the Lattice ECP5 evaluation board (LFE5UM5G-85F-8BG381).

Same shape as the virtual board (:mod:`hwbridge.virtual.soc`): no CPU, UARTBone as the only bus
master, LiteX's control CSRs (``ctrl_scratch`` at byte 0x4 reads 0x12345678 after reset, the
identifier at 0x800) and the user's module as a Wishbone slave at the same window,
:data:`~hwbridge.virtual.soc.USER_WINDOW_BASE`. The design contract and its checks are the
virtual board's; they are imported, not repeated.

Clock: the board's 12 MHz crystal through the ECP5 PLL to a 60 MHz system clock. 60 MHz is
exact (VCO 480 MHz / 8) while 50 MHz comes out as 50.4 MHz, which would skew the UART by 0.8 %;
small designs reach ~170-190 MHz, so 60 MHz leaves ample slack for user logic too.

This module imports LiteX and litex-boards; only the build child imports it.
"""

from __future__ import annotations

from typing import Any

from litex.build.lattice import LatticeECP5Platform
from litex.gen import LiteXModule
from litex.soc.cores.clock import ECP5PLL
from litex.soc.integration.soc import SoCRegion
from litex.soc.integration.soc_core import SoCCore
from litex_boards.platforms import lattice_ecp5_evn
from migen import ClockDomain, Module

from hwbridge.ecp5.constants import BOARD_KIND, CLK12_FREQ, DEFAULT_BAUDRATE, SYS_CLK_FREQ
from hwbridge.virtual.soc import (
    BASE_SOC_OPTIONS,
    USER_WINDOW_BASE,
    DesignContractError,
    check_design,
)

__all__ = [
    "BOARD_KIND",
    "DEFAULT_BAUDRATE",
    "SYS_CLK_FREQ",
    "USER_WINDOW_BASE",
    "DesignContractError",
    "Ecp5BoardSoC",
    "EvnPlatform",
    "build_soc",
    "check_design",
]

#: The UART's name in the litex-boards platform (the FT2232H channel B pins).
UART_NAME = "serial"


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
    """CPU-less SoC: UARTBone on the board UART, LiteX control CSRs, the user's design."""

    def __init__(
        self,
        platform: EvnPlatform,
        design: Module,
        window_size: int,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
    ) -> None:
        self.crg = _CRG(platform, SYS_CLK_FREQ)
        SoCCore.__init__(
            self, platform, SYS_CLK_FREQ, ident="hwbridge ecp5_evn board", **BASE_SOC_OPTIONS
        )
        self.add_uartbone(uart_name=UART_NAME, baudrate=baudrate)
        self.user = design
        self.bus.add_slave(
            name="user",
            slave=design.bus,
            region=SoCRegion(origin=USER_WINDOW_BASE, size=window_size, cached=False),
        )


def build_soc(design: Module, window_size: int, *, baudrate: int = DEFAULT_BAUDRATE) -> Any:
    """Build the base SoC around a checked design.

    Args:
        design: A Design instance that passed :func:`check_design`.
        window_size: The size returned by :func:`check_design`.
        baudrate: UART rate of the bridge; the board's serial port must use the same.

    Returns:
        The SoC (an :class:`Ecp5BoardSoC`), ready for LiteX's Builder.
    """
    return Ecp5BoardSoC(EvnPlatform(toolchain="trellis"), design, window_size, baudrate=baudrate)
