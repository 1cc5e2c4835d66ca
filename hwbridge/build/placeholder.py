"""The design in a board's user window between sessions, and in its health probes.

A Migen design built like any user design, then cached: it acknowledges every access and reads
0, so the base SoC around it answers the bridge (scratch register, identification).
"""

from __future__ import annotations

from events.designs import MIGEN
from hwbridge.build.design import Design

#: Its source (``design.py``).
BASE_DESIGN = b'''"""Base SoC placeholder in the user window: acks every access, reads 0."""
from litex.soc.interconnect import wishbone
from migen import If, Module


class Design(Module):
    def __init__(self):
        self.bus = bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
        self.size = 0x1000
        self.sync += [bus.ack.eq(0), If(bus.cyc & bus.stb & ~bus.ack, bus.ack.eq(1))]
'''


#: As a build takes it.
PLACEHOLDER = Design(BASE_DESIGN, MIGEN)
