"""Front ends: one module per language, each turning a design into a checked :class:`Netlist`.

A front end has up to two steps, run by :mod:`hwbridge.build.child`:

* ``elaborate(source, build_dir, top)``, the untrusted phase, for languages whose designs are
  code (Migen, Amaranth): it runs the user's file under the build's limits;
* ``netlist(...)``, in the trusted phase that also runs the back end, for what needs tools the
  untrusted phase may not run (Yosys for Amaranth) or no user code at all (Verilog).

Either way the result is ``netlist.json`` (:class:`hwbridge.build.netlist.Netlist`). Adding a
language is one module here and one entry in :data:`FRONTENDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.designs import AMARANTH, MIGEN, SYSTEMVERILOG, VERILOG
from hwbridge.build.frontends import amaranth, migen, verilog


@dataclass(frozen=True)
class FrontEnd:
    """How a language is built.

    Attributes:
        version: Goes into the build cache key: bump it when the front end's output changes.
        untrusted: Whether a phase runs the user's code (a sandboxed phase under the build's
            limits of its own).
        needs_yosys: Whether the trusted phase runs Yosys (more address space, the tool cache).
    """

    version: str
    untrusted: bool
    needs_yosys: bool = False


FRONTENDS = {
    MIGEN: FrontEnd(migen.VERSION, untrusted=True),
    AMARANTH: FrontEnd(amaranth.VERSION, untrusted=True, needs_yosys=True),
    VERILOG: FrontEnd(verilog.VERSION, untrusted=False),
    SYSTEMVERILOG: FrontEnd(verilog.VERSION, untrusted=False),
}
