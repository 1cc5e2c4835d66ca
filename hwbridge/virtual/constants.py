"""Facts about the virtual board and its base SoC that the service and the build child share.

LiteX-free on purpose: the service side imports this without pulling LiteX in.
"""

from __future__ import annotations

#: Board kind, as named in the inventory and in build cache keys.
BOARD_KIND = "virtual"
#: Bump when the base SoC or the simulator build changes, so cached builds are not reused.
BASE_SOC_VERSION = "sim-3"
#: The virtual board's system clock, in cycles per second of real time: a reserved board's
#: simulation is held to this pace while nothing crosses its bus (so an idle board costs a few
#: percent of a core: the simulator manages several M cycles/s), and runs as fast as it can
#: while a transaction is in flight. The bus timeout (10,000 cycles) counts cycles of it.
SYS_CLK_FREQ = 100_000
#: Cycles after which UARTBone drops a half-received frame (it counts 0.1 s of the clock it is
#: told): well over the bus timeout, so a slave that never acknowledges is still answered
#: (0xFFFFFFFF) before the bridge gives up on the frame.
UARTBONE_TIMEOUT_CYCLES = 100_000
#: What the UART sim module waits after a previous client's last byte before it delivers a
#: new client's first: longer than the frame timeout, so no half frame is completed by a stranger.
QUIET_CYCLES = 110_000
#: Cycles after the last byte crossed the board's UART during which its simulation keeps
#: running flat out: a transaction's reply comes a few dozen cycles after its request.
BUSY_CYCLES = 256
#: Byte address of the SoC's trace control CSR (LiteX's ``sim_trace_enable``): writing 1 starts
#: a waveform recording of the user's slot, 0 ends it. Checked against LiteX's register map
#: when a kit is built. Only the service writes it: a design's window starts far above it.
TRACE_CONTROL_ADDRESS = 0x1000
