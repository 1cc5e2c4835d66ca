"""Sixteen 32-bit echo registers, the Amaranth twin of examples/echo_regs.py."""

from amaranth import Array, Elaboratable, Module, Signal


class UserDesign(Elaboratable):
    def __init__(self):
        self.wb_cyc = Signal()
        self.wb_stb = Signal()
        self.wb_we = Signal()
        self.wb_adr = Signal(10)  # a 4 KiB region, as the Migen design's window
        self.wb_dat_w = Signal(32)
        self.wb_sel = Signal(4)
        self.wb_dat_r = Signal(32)
        self.wb_ack = Signal()

    def ports(self):
        return [
            self.wb_cyc,
            self.wb_stb,
            self.wb_we,
            self.wb_adr,
            self.wb_dat_w,
            self.wb_sel,
            self.wb_dat_r,
            self.wb_ack,
        ]

    def elaborate(self, platform):
        m = Module()
        regs = Array(Signal(32, name=f"reg{i}") for i in range(16))
        index = self.wb_adr[:4]
        access = self.wb_cyc & self.wb_stb & ~self.wb_ack
        m.d.sync += self.wb_ack.eq(0)
        with m.If(access):
            m.d.sync += [self.wb_ack.eq(1), self.wb_dat_r.eq(regs[index])]
            with m.If(self.wb_we):
                for b in range(4):
                    with m.If(self.wb_sel[b]):
                        m.d.sync += regs[index][8 * b : 8 * (b + 1)].eq(
                            self.wb_dat_w[8 * b : 8 * (b + 1)]
                        )
        return m
