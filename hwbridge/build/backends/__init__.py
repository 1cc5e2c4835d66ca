"""Back ends: one module per board kind, each turning a :class:`Netlist` and the base SoC into
what a board runs (:mod:`.virtual`: a Verilator simulator; :mod:`.ecp5`: a bitstream).

The modules import LiteX and run only in the build child's trusted phase; this registry is
LiteX-free. Adding a board kind is one module here, one entry in :data:`BACKENDS`, and its
driver in :mod:`hwbridge.drivers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwbridge.ecp5 import constants as ecp5_board
from hwbridge.virtual import constants as virtual_board


@dataclass(frozen=True)
class BackEnd:
    """How a board kind is built.

    Attributes:
        kind: The board kind (inventory ``driver``).
        version: The base SoC and build flow's version, in every build cache key of the kind.
        toolchain_space: Whether its tools need the WebAssembly toolchain's address space
            (see :data:`hwbridge.build.runner.TOOLCHAIN_ADDRESS_SPACE`).
    """

    kind: str
    version: str
    toolchain_space: bool
    sources: tuple[str, ...] = ()
    """Files (globs relative to the ``hwbridge`` package) whose content shapes its builds:
    their hash is part of every cache key of the kind (and of its kit)."""
    kit: bool = False
    """Whether its builds use a kit of prebuilt parts (:mod:`hwbridge.build.kits`)."""


_SHARED = ("build/backends/soc.py", "build/wrapper.py", "build/contract.py")
BACKENDS = {
    virtual_board.BOARD_KIND: BackEnd(
        virtual_board.BOARD_KIND,
        virtual_board.BASE_SOC_VERSION,
        toolchain_space=False,
        sources=(
            *_SHARED, "build/backends/virtual.py", "build/backends/virtual_soc.py",
            "virtual/constants.py", "virtual/sim_modules/**/*.c", "virtual/sim_core/*.cpp",
        ),
        kit=True,
    ),
    ecp5_board.BOARD_KIND: BackEnd(
        ecp5_board.BOARD_KIND,
        ecp5_board.BASE_SOC_VERSION,
        toolchain_space=True,
        sources=(*_SHARED, "build/backends/ecp5.py", "ecp5/constants.py", "ecp5/toolchain.py"),
    ),
}  # fmt: skip
