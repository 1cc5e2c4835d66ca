"""Facts about the ECP5 board and its base SoC that both the service and the build child use.

LiteX-free on purpose: the service side imports this without pulling LiteX in.
"""

from __future__ import annotations

#: Board kind, as named in the inventory and in build cache keys.
BOARD_KIND = "ecp5_evn"
#: Bump when the base SoC or the build flow changes, so cached bitstreams are not reused.
BASE_SOC_VERSION = "ecp5-2"
#: The on-board crystal feeding the PLL.
CLK12_FREQ = 12_000_000
#: System clock. 60 MHz is exact from the 12 MHz crystal (VCO 480 MHz / 8), so the UART baud
#: rate is as exact as the divider allows; 50 MHz would come out as 50.4 MHz (0.8 % off).
SYS_CLK_FREQ = 60_000_000
#: UART rate of the bridge when the inventory does not say otherwise.
DEFAULT_BAUDRATE = 115_200
#: openFPGALoader's name for the board (selects the FT2232H JTAG cable and pins).
OPENFPGALOADER_BOARD = "ecp5_evn"
