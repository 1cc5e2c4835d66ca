"""Counter: a free-running 32-bit counter with enable, clear, step and a compare flag.

Register map (byte offsets from the window base, 32-bit registers):

======  ====  ===============================================================================
Offset  R/W   Meaning
======  ====  ===============================================================================
0x00    RW    COUNT: the counter. Reads the current value; a write loads a new value.
0x04    RW    CONTROL: bit 0 ENABLE (1 after reset: the counter runs). Writing bit 1 (CLEAR)
              sets COUNT to 0 and clears MATCH; CLEAR is not stored and reads as 0. A write
              always sets ENABLE from bit 0: write 3 to clear and keep counting, 2 to clear
              and stop.
0x08    RW    STEP: added to COUNT every clock cycle while enabled (1 after reset).
0x0C    RW    COMPARE: value COUNT is compared with.
0x10    RW    STATUS: bit 0 MATCH, set when COUNT equals COMPARE, sticky; write 1 to clear.
======  ====  ===============================================================================

On a virtual board the clock runs at 100 kHz of real time while nothing crosses the bus, so
COUNT advances by STEP every 10 us (100,000 STEPs a second; faster for a moment while a
transaction is in flight). Only the low three bits of the word address are decoded; other
offsets read 0.
"""

from litex.soc.interconnect import wishbone
from migen import Case, If, Module, Signal


class Design(Module):
    def __init__(self):
        self.bus = bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
        self.size = 0x1000

        count = Signal(32)
        enable = Signal(reset=1)
        step = Signal(32, reset=1)
        compare = Signal(32)
        match = Signal()

        # The slave sees the full system word address: decode the low bits only.
        index = bus.adr[:3]
        access = bus.cyc & bus.stb & ~bus.ack
        write = access & bus.we

        reads = {
            0: bus.dat_r.eq(count),
            1: bus.dat_r.eq(enable),
            2: bus.dat_r.eq(step),
            3: bus.dat_r.eq(compare),
            4: bus.dat_r.eq(match),
            "default": bus.dat_r.eq(0),
        }

        self.sync += [
            bus.ack.eq(0),
            If(access,
                bus.ack.eq(1),
                Case(index, reads),
            ),
            # Counting, overridden below by a bus write to COUNT or a CLEAR.
            If(enable, count.eq(count + step)),
            If(count == compare, match.eq(1)),
            If(write,
                Case(index, {
                    0: count.eq(bus.dat_w),
                    1: [
                        enable.eq(bus.dat_w[0]),
                        If(bus.dat_w[1], count.eq(0), match.eq(0)),
                    ],
                    2: step.eq(bus.dat_w),
                    3: compare.eq(bus.dat_w),
                    4: If(bus.dat_w[0], match.eq(0)),
                    "default": [],
                }),
            ),
        ]
