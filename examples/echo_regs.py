"""Echo registers: sixteen 32-bit scratch registers that read back what was written.

Register map (byte offsets from the window base):

======  ====  ==========================================
Offset  R/W   Meaning
======  ====  ==========================================
0x00    RW    register 0
0x04    RW    register 1
...     RW    ...
0x3C    RW    register 15
======  ====  ==========================================

The window is 0x1000 bytes; the registers repeat every 0x40 bytes (only the low four bits of
the word address are decoded). Byte-lane selects (``sel``) are honoured on writes.
"""

from litex.soc.interconnect import wishbone
from migen import Array, If, Module, Signal

N_REGS = 16


class Design(Module):
    def __init__(self):
        self.bus = bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
        self.size = 0x1000

        regs = [Signal(32, name=f"reg{i}") for i in range(N_REGS)]
        # The slave sees the full system word address: decode the low bits only.
        index = bus.adr[:4]
        access = bus.cyc & bus.stb & ~bus.ack

        self.sync += [
            bus.ack.eq(0),
            If(access,
                bus.ack.eq(1),
                bus.dat_r.eq(Array(regs)[index]),
            ),
        ]
        for i, reg in enumerate(regs):
            self.sync += If(access & bus.we & (index == i),
                *[If(bus.sel[b], reg[8 * b:8 * (b + 1)].eq(bus.dat_w[8 * b:8 * (b + 1)]))
                  for b in range(4)]
            )
