"""Facts about the virtual board and its base SoC that the service and the build child share.

LiteX-free on purpose: the service side imports this without pulling LiteX in.
"""

from __future__ import annotations

#: Board kind, as named in the inventory and in build cache keys.
BOARD_KIND = "virtual"
#: Bump when the base SoC or the simulator build changes, so cached builds are not reused.
BASE_SOC_VERSION = "sim-2"
#: Nominal simulated clock. UARTBone's frame timeout (100 ms simulated) and the bus timeout are
#: counted in cycles of this clock; at several M simulated cycles/s, 1 MHz keeps both short in
#: real time while a reply byte still only costs ~0.1 us of real time.
SYS_CLK_FREQ = 1_000_000
