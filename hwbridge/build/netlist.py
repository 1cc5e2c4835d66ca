"""What a front end hands the back ends: the user's Verilog, its top module, ports and window.

Written by the build child as ``netlist.json`` in the build directory and read back by the next
phase; every path in it is relative to that directory, so nothing a design wrote can point a
back end elsewhere. LiteX-free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from hwbridge.build.contract import Port

NETLIST_FILE = "netlist.json"


@dataclass(frozen=True)
class Netlist:
    """The user's design as RTL with a known top and ports.

    Attributes:
        language: The language it was written in (``events.designs.LANGUAGES``).
        top: The Verilog module the SoC instantiates.
        sources: Verilog / SystemVerilog files, relative to the build directory.
        ports: The top's ports by their role in the contract (see
            :mod:`hwbridge.build.contract`); a port's own name is usually its role.
        window_size: Bytes of the design's window (its region).
        data_files: Memory initialisation files the sources read, relative to the build
            directory; they travel with the built design.
        systemverilog: The sources are SystemVerilog.
    """

    language: str
    top: str
    sources: tuple[str, ...]
    ports: dict[str, Port]
    window_size: int
    data_files: tuple[str, ...] = field(default=())
    systemverilog: bool = False

    def save(self, build_dir: Path) -> None:
        data = {
            "language": self.language,
            "top": self.top,
            "sources": list(self.sources),
            "ports": {role: [p.name, p.direction, p.width] for role, p in self.ports.items()},
            "window_size": self.window_size,
            "data_files": list(self.data_files),
            "systemverilog": self.systemverilog,
        }
        (build_dir / NETLIST_FILE).write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, build_dir: Path) -> Netlist:
        """Read and check ``netlist.json``.

        Raises:
            ValueError: It is malformed or names a file outside ``build_dir``.
        """
        try:
            data = json.loads((build_dir / NETLIST_FILE).read_text())
            netlist = cls(
                language=str(data["language"]),
                top=str(data["top"]),
                sources=tuple(str(s) for s in data["sources"]),
                ports={
                    str(role): Port(str(n), str(d), int(w))
                    for role, (n, d, w) in data["ports"].items()
                },
                window_size=int(data["window_size"]),
                data_files=tuple(str(s) for s in data.get("data_files", ())),
                systemverilog=bool(data.get("systemverilog", False)),
            )
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed {NETLIST_FILE}: {exc}") from None
        root = build_dir.resolve()
        for name in (*netlist.sources, *netlist.data_files):
            if not (root / name).resolve().is_relative_to(root):
                raise ValueError(f"{NETLIST_FILE} names {name!r}, outside the build directory")
        return netlist

    def paths(self, build_dir: Path) -> list[Path]:
        return [(build_dir / s).resolve() for s in self.sources]
