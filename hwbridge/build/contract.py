"""The design contract every front end delivers: a module with Wishbone slave ports, a window.

Whatever the language, a front end hands the back ends one Verilog module whose ports follow
the prototype's classic Wishbone B4 slave contract, word for word:

====================  =========  ======  ==========================================
port                  direction  width   meaning
====================  =========  ======  ==========================================
``clk``               input      1       the SoC's system clock
``rst``               input      1       the system reset (active high)
``wb_cyc``            input      1       a bus cycle is in progress
``wb_stb``            input      1       this is a transfer
``wb_we``             input      1       write (1) or read (0)
``wb_adr``            input      1-22    *word* address inside the design's region
``wb_dat_w``          input      32      data to write
``wb_sel``            input      4       byte lanes of a write
``wb_dat_r``          output     32      data read
``wb_ack``            output     1       the transfer is done
====================  =========  ======  ==========================================

The region is ``4 * 2**len(wb_adr)`` bytes. A Migen design keeps its own contract (a LiteX
``wishbone.Interface`` and a ``size``): its front end names the interface's signals after these
ports, with the full 30-bit system word address and the interface's ``cti``, ``bte`` and
``err`` besides, and the region is its ``size``.

LiteX-free: the service, the build child and the back ends import it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Byte address of the user's window on the system bus. 1 GiB is aligned for every allowed size
#: and far from the CSR space LiteX puts at 0 when there is no CPU.
USER_WINDOW_BASE = 0x4000_0000
MIN_WINDOW_SIZE = 4
MAX_WINDOW_SIZE = 16 * 1024 * 1024
#: The SoC decodes the largest window for every design (the service refuses addresses past a
#: design's own window before they reach the board), so the SoC is the same for every design.
USER_REGION_SIZE = MAX_WINDOW_SIZE
#: Window of a Migen design without a ``size`` attribute.
DEFAULT_WINDOW_SIZE = 0x1000
MIN_ADDRESS_BITS = 1
MAX_ADDRESS_BITS = 22
#: Width of the system word address (32-bit byte addresses, word addressing).
SYSTEM_ADDRESS_BITS = 30
#: The name the user's module gets when the user names none (Verilog) or it is generated.
DEFAULT_MODULE = "user_design"
#: The Amaranth class a design is built from when ``top`` names none.
DEFAULT_CLASS = "UserDesign"
#: Module names the base SoC uses itself; a user module may not take them.
RESERVED_MODULES = frozenset({"sim", "fpga_cloud_user"})

INPUT = "input"
OUTPUT = "output"


@dataclass(frozen=True)
class Port:
    """One port of the user's module."""

    name: str
    direction: str
    width: int


#: The classic contract, in its documented order: name -> (direction, width or None = 1-22).
CLASSIC: dict[str, tuple[str, int | None]] = {
    "clk": (INPUT, 1),
    "rst": (INPUT, 1),
    "wb_cyc": (INPUT, 1),
    "wb_stb": (INPUT, 1),
    "wb_we": (INPUT, 1),
    "wb_adr": (INPUT, None),
    "wb_dat_w": (INPUT, 32),
    "wb_sel": (INPUT, 4),
    "wb_dat_r": (OUTPUT, 32),
    "wb_ack": (OUTPUT, 1),
}
#: What a Migen ``wishbone.Interface`` adds to the classic ports.
MIGEN_EXTRA: dict[str, tuple[str, int | None]] = {
    "wb_cti": (INPUT, 3),
    "wb_bte": (INPUT, 2),
    "wb_err": (OUTPUT, 1),
}


def expected_list() -> str:
    """The contract's ports as a person reads them."""
    parts = []
    for name, (direction, width) in CLASSIC.items():
        size = "[N-1:0], N 1-22" if width is None else (f"[{width - 1}:0]" if width > 1 else "")
        parts.append(f"{direction} {name}{size}")
    return ", ".join(parts)


#: Ports a generated netlist may lack: a design with no clocked logic has no clock or reset.
CLOCK_PORTS = frozenset({"clk", "rst"})


def check_ports(
    module: str, ports: dict[str, Port], *, migen: bool = False, generated: bool = False
) -> str | None:
    """Why ``ports`` break the contract (one line naming the port), or None when they keep it.

    Args:
        module: The module's name, for the message.
        ports: Its ports by name.
        migen: Check a Migen front end's output (full system address, the extra signals).
        generated: The module was generated from a design without clocked logic, which may
            leave out ``clk`` and ``rst``.
    """
    wanted = dict(CLASSIC)
    if migen:
        wanted |= MIGEN_EXTRA
        wanted["wb_adr"] = (INPUT, SYSTEM_ADDRESS_BITS)
    for name, (direction, width) in wanted.items():
        port = ports.get(name)
        if port is None and generated and name in CLOCK_PORTS:
            continue
        if port is None:
            return f"module {module} has no port {name}; expected ports: {expected_list()}"
        if port.direction != direction:
            hint = " (the design never drives it)" if direction == OUTPUT else ""
            return (
                f"port {name} of module {module} must be an {direction}, not an "
                f"{port.direction}{hint}"
            )
        if width is None:
            if not MIN_ADDRESS_BITS <= port.width <= MAX_ADDRESS_BITS:
                return (
                    f"port wb_adr of module {module} is {port.width} bits wide; a word address "
                    f"of {MIN_ADDRESS_BITS} to {MAX_ADDRESS_BITS} bits is needed (region "
                    f"{window_size(MIN_ADDRESS_BITS)} B to {window_size(MAX_ADDRESS_BITS)} B)"
                )
        elif port.width != width:
            return (
                f"port {name} of module {module} is {port.width} bit(s) wide; the contract needs "
                f"{width}"
            )
    extra = sorted(set(ports) - set(wanted))
    if extra:
        return (
            f"module {module} has port(s) the contract does not have: {', '.join(extra)}; "
            f"expected ports: {expected_list()}"
        )
    return None


def window_size(address_bits: int) -> int:
    """Bytes of a region addressed by ``address_bits`` of word address."""
    return 4 << address_bits


def check_window_size(size: object) -> int:
    """A Migen design's ``size``.

    Raises:
        ValueError: It is not an int power of two between 4 bytes and 16 MiB.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise ValueError(
            f"Design.size must be an int number of bytes, got {type(size).__name__} {size!r}"
        )
    if not MIN_WINDOW_SIZE <= size <= MAX_WINDOW_SIZE:
        raise ValueError(
            f"Design.size must be between {MIN_WINDOW_SIZE} and {MAX_WINDOW_SIZE} bytes "
            f"(16 MiB), got {size:#x}"
        )
    if size & (size - 1):
        raise ValueError(f"Design.size must be a power of two, got {size:#x}")
    return size
