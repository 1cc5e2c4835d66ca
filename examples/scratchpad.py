"""Scratchpad: 2 KiB of RAM behind the bus, in Amaranth, for burst reads and writes.

Register map (byte offsets inside the design's 2 KiB region; ``wb_adr`` is 9 bits):

======  ====  =============================================================================
Offset  R/W   Meaning
======  ====  =============================================================================
0x000   RW    word 0
0x004   RW    word 1
...     RW    ...
0x7FC   RW    word 511
======  ====  =============================================================================

Each word reads back what was last written to it (byte lanes of a write are honoured); the RAM
starts out holding each word's own index, so a read before any write tells where it landed.
A 512-word burst (``{"op": 2, "address": 0, "count": 512}``) reads the whole RAM.
"""

from amaranth import Elaboratable, Module, Signal
from amaranth.lib.memory import Memory

WORDS = 512


class UserDesign(Elaboratable):
    """The prototype's classic Wishbone B4 slave signals, 32-bit data, a 9-bit word address."""

    def __init__(self):
        self.wb_cyc = Signal()
        self.wb_stb = Signal()
        self.wb_we = Signal()
        self.wb_adr = Signal(9)
        self.wb_dat_w = Signal(32)
        self.wb_sel = Signal(4)
        self.wb_dat_r = Signal(32)
        self.wb_ack = Signal()

    def ports(self):
        return [self.wb_cyc, self.wb_stb, self.wb_we, self.wb_adr, self.wb_dat_w,
                self.wb_sel, self.wb_dat_r, self.wb_ack]

    def elaborate(self, platform):
        m = Module()
        m.submodules.ram = ram = Memory(shape=32, depth=WORDS, init=range(WORDS))
        read = ram.read_port()
        write = ram.write_port(granularity=8)

        start = self.wb_cyc & self.wb_stb & ~self.wb_ack
        # The read port answers a cycle after it is given the address: acknowledge then.
        pending = Signal()
        m.d.comb += [
            read.addr.eq(self.wb_adr),
            write.addr.eq(self.wb_adr),
            write.data.eq(self.wb_dat_w),
            self.wb_dat_r.eq(read.data),
        ]
        with m.If(start & self.wb_we):
            m.d.comb += write.en.eq(self.wb_sel)
        m.d.sync += [
            pending.eq(start & ~pending),
            self.wb_ack.eq(pending),
        ]
        return m
