"""Migen front end: ``class Design(Module)`` with a LiteX Wishbone ``bus`` and a ``size``.

Runs the user's file in the untrusted phase, checks the contract and converts the design on its
own into a Verilog module ``user_design`` whose ports are the bus's signals named as in
:mod:`hwbridge.build.contract` (``wb_cyc``, ``wb_adr``, ...; the full 30-bit system word
address, and the interface's ``cti``, ``bte`` and ``err``), with ``clk`` and ``rst`` from the
``sys`` clock domain. A Migen design keeps its contract exactly: it still sees the full system
word address and decodes the low bits.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hwbridge.build import protocol
from hwbridge.build.contract import (
    DEFAULT_MODULE,
    DEFAULT_WINDOW_SIZE,
    INPUT,
    OUTPUT,
    Port,
    check_window_size,
)
from hwbridge.build.netlist import Netlist
from hwbridge.build.usercode import describe, load_module, raised, user_traceback

#: Bump when the conversion changes, so cached builds are not reused.
VERSION = "migen-2"
#: The class built when ``top`` names none.
DEFAULT_CLASS = "Design"
#: Interface signal -> (port name, direction).
_SIGNALS = {
    "cyc": ("wb_cyc", INPUT),
    "stb": ("wb_stb", INPUT),
    "we": ("wb_we", INPUT),
    "adr": ("wb_adr", INPUT),
    "dat_w": ("wb_dat_w", INPUT),
    "sel": ("wb_sel", INPUT),
    "cti": ("wb_cti", INPUT),
    "bte": ("wb_bte", INPUT),
    "dat_r": ("wb_dat_r", OUTPUT),
    "ack": ("wb_ack", OUTPUT),
    "err": ("wb_err", OUTPUT),
}
SOURCE = "user_design.v"
_DOMAIN = re.compile(r'Unresolved clock domain: "([^"]+)"')


class ContractError(Exception):
    """The design does not follow the contract; the message says what to change."""


def check_design(design: object) -> int:
    """Check a Design instance against the contract; its window size in bytes.

    Raises:
        ContractError: With a message naming the violated rule.
    """
    from litex.soc.interconnect import wishbone
    from migen import Module

    if not isinstance(design, Module):
        raise ContractError(
            f"Design must be a migen Module subclass (class Design(Module)), "
            f"got an instance of {type(design).__name__}"
        )
    bus = getattr(design, "bus", None)
    if bus is None:
        raise ContractError(
            "Design has no 'bus' attribute: set self.bus = wishbone.Interface(data_width=32, "
            'address_width=32, addressing="word") in __init__'
        )
    if not isinstance(bus, wishbone.Interface):
        raise ContractError(
            f"Design.bus must be a litex.soc.interconnect.wishbone.Interface, "
            f"got {type(bus).__name__}"
        )
    if bus.data_width != 32:
        raise ContractError(f"Design.bus must have data_width=32, got {bus.data_width}")
    if bus.addressing != "word":
        raise ContractError(
            f'Design.bus must use addressing="word", got addressing="{bus.addressing}"'
        )
    if bus.address_width != 32:
        raise ContractError(
            f"Design.bus must have address_width=32 (a 30-bit word address), "
            f"got address_width={bus.address_width}"
        )
    try:
        return check_window_size(getattr(design, "size", DEFAULT_WINDOW_SIZE))
    except ValueError as exc:
        raise ContractError(str(exc)) from None


def load_design(source: Path, top: str | None) -> tuple[Any, int] | int:
    """Instantiate the user's class and check it; the design and its window, or an exit code."""
    name = top or DEFAULT_CLASS
    print(f"loading {source.name}", flush=True)
    try:
        module = load_module(source)
        cls = getattr(module, name, None)
        if cls is None:
            raise ContractError(f"{source.name} defines no class named {name!r}")
        if not isinstance(cls, type):
            raise ContractError(f"{name} in {source.name} must be a class")
        design = cls()
        window = check_design(design)
    except ContractError as exc:
        return protocol.fail(protocol.EXIT_DESIGN, f"design contract violated: {exc}")
    except (Exception, SystemExit) as exc:
        print(user_traceback(exc, source), end="", flush=True)
        return protocol.fail(protocol.EXIT_DESIGN, raised(exc, source))
    return design, window


def elaborate(source: Path, build_dir: Path, top: str | None) -> int:
    """Load, check and convert the design; write ``user_design.v`` and the netlist."""
    protocol.stage("elaborate")
    loaded = load_design(source, top)
    if isinstance(loaded, int):
        return loaded
    design, window = loaded
    try:
        netlist = _convert(design, window, build_dir)
    except Exception as exc:
        print(user_traceback(exc, source), end="", flush=True)
        domain = _DOMAIN.search(str(exc))
        if isinstance(exc, KeyError) and domain:
            reason = (
                f"Unresolved clock domain {domain.group(1)}; the design's only clock domain "
                "is sys (self.sync)"
            )
        else:
            reason = describe(exc)
        return protocol.fail(protocol.EXIT_ELABORATE, f"elaboration failed: {reason}")
    netlist.save(build_dir)
    print(f"converted to Verilog module {netlist.top} ({window} byte window)", flush=True)
    return protocol.EXIT_OK


def _convert(design: Any, window: int, build_dir: Path) -> Netlist:
    from litex.build.sim.common import sim_special_overrides
    from migen import ClockDomain, Module
    from migen.fhdl import verilog
    from migen.fhdl.tools import list_targets

    class _Top(Module):  # type: ignore[misc]
        def __init__(self) -> None:
            self.submodules.user = design
            # Declared here so the module always has the contract's clk and rst.
            self.clock_domains.cd_sys = ClockDomain("sys")

    top = _Top()
    fragment = top.get_fragment()
    driven = list_targets(fragment)
    ios = {top.cd_sys.clk, top.cd_sys.rst}
    top.cd_sys.clk.name_override, top.cd_sys.rst.name_override = "clk", "rst"
    roles: dict[Any, str] = {top.cd_sys.clk: "clk", top.cd_sys.rst: "rst"}
    for field, (name, direction) in _SIGNALS.items():
        signal = getattr(design.bus, field)
        signal.name_override = name
        ios.add(signal)
        roles[signal] = name
        if direction == OUTPUT and signal not in driven:
            fragment.comb.append(signal.eq(0))  # an output the design leaves alone reads 0
    # Only ``sys`` exists: a design using another clock domain fails here, as in a SoC.
    output = verilog.convert(
        fragment, ios=ios, name=DEFAULT_MODULE, special_overrides=sim_special_overrides,
        create_clock_domains=False,
    )  # fmt: skip
    (build_dir / SOURCE).write_text(str(output))
    data_files = []
    for filename, content in output.data_files.items():
        (build_dir / filename).write_text(content)
        data_files.append(filename)
    directions = {n: d for n, d in _SIGNALS.values()} | {"clk": INPUT, "rst": INPUT}
    ports = {
        role: Port(output.ns.get_name(signal), directions[role], len(signal))
        for signal, role in roles.items()
    }
    return Netlist(
        language="migen",
        top=DEFAULT_MODULE,
        sources=(SOURCE,),
        ports=ports,
        window_size=window,
        data_files=tuple(data_files),
    )
