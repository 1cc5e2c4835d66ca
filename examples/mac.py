"""MAC: an unsigned 32 x 32 -> 64-bit multiply-accumulate unit.

Register map (byte offsets from the window base, 32-bit registers):

======  ====  ===============================================================================
Offset  R/W   Meaning
======  ====  ===============================================================================
0x00    RW    A: first operand.
0x04    RW    B: second operand.
0x08    RW    Writing any value performs ACC += A * B (one cycle). Reads the number of
              accumulations since the last clear.
0x0C    R     ACC[31:0], low word of the 64-bit accumulator.
0x10    W     Writing any value clears ACC and the accumulation count. Reads 0.
0x14    R     ACC[63:32], high word of the accumulator.
======  ====  ===============================================================================

Example: write A=3 at 0x00, B=7 at 0x04, write 0x08 twice, then 0x0C reads 42 and 0x08 reads 2.
Only the low three bits of the word address are decoded; other offsets read 0, writes are
ignored.
"""

from litex.soc.interconnect import wishbone
from migen import Case, If, Module, Signal


class Design(Module):
    def __init__(self):
        self.bus = bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
        self.size = 0x1000

        a = Signal(32)
        b = Signal(32)
        acc = Signal(64)
        count = Signal(32)

        # The slave sees the full system word address: decode the low bits only.
        index = bus.adr[:3]
        access = bus.cyc & bus.stb & ~bus.ack
        write = access & bus.we

        self.sync += [
            bus.ack.eq(0),
            If(access,
                bus.ack.eq(1),
                Case(index, {
                    0: bus.dat_r.eq(a),
                    1: bus.dat_r.eq(b),
                    2: bus.dat_r.eq(count),
                    3: bus.dat_r.eq(acc[:32]),
                    5: bus.dat_r.eq(acc[32:]),
                    "default": bus.dat_r.eq(0),
                }),
            ),
            If(write,
                Case(index, {
                    0: a.eq(bus.dat_w),
                    1: b.eq(bus.dat_w),
                    2: [acc.eq(acc + a * b), count.eq(count + 1)],
                    4: [acc.eq(0), count.eq(0)],
                    "default": [],
                }),
            ),
        ]
