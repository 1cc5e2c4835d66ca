"""Reading nextpnr-ecp5's log: resource use, achieved clock frequencies, and why it failed.

LiteX runs nextpnr with ``--timing-allow-fail``, so a design that misses its clock still gives
a bitstream; the build child checks the figures parsed here itself. Pure text processing, fed
one line at a time while the tool runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# "Info:     Total LUT4s:      1153/83640     1%" (the "Logic utilisation before packing" block)
_PREPACK = re.compile(r"^Info:\s+Total (LUT4s|DFFs):\s+(\d+)\s*/\s*(\d+)")
# "Info: 	          TRELLIS_FF:     883/  83640     1%" (the "Device utilisation" block)
_DEVICE_ROW = re.compile(r"^Info:\s+([A-Za-z0-9_]+):\s+(\d+)\s*/\s*(\d+)\s+\d+%")
_DEVICE_HEADER = "Device utilisation:"
# "Info: Max frequency for clock '$glbnet$crg_clkout': 172.44 MHz (PASS at 60.00 MHz)"
_FMAX = re.compile(
    r"Max frequency for clock '(?P<name>[^']+)': (?P<fmax>[\d.]+) MHz"
    r"(?: \((?P<verdict>PASS|FAIL) at (?P<target>[\d.]+) MHz\))?"
)
_ERROR = re.compile(r"^ERROR: (.*)")
# nextpnr's words when a cell type has run out of sites on the device.
_NO_ROOM = re.compile(r"no BELs remaining|Unable to place cell|does not fit", re.IGNORECASE)

#: Names used for the pre-packing totals (nextpnr calls them "Total LUT4s"/"Total DFFs").
PREPACK_NAMES = {"LUT4s": "LUT4", "DFFs": "FF"}
#: A clock counts as the system clock when its constraint is within this of the target.
TARGET_TOLERANCE_MHZ = 0.05


@dataclass(frozen=True)
class ClockTiming:
    """One ``Max frequency`` line.

    Attributes:
        name: nextpnr's clock net name (e.g. ``$glbnet$crg_clkout``).
        fmax_mhz: Achieved maximum frequency.
        target_mhz: The constraint it was checked against, if the clock had one.
        passed: nextpnr's verdict, if it gave one.
    """

    name: str
    fmax_mhz: float
    target_mhz: float | None
    passed: bool | None


@dataclass
class PnrReport:
    """What a nextpnr-ecp5 run said, accumulated line by line with :meth:`feed`.

    Attributes:
        used: Cells used per type: the device table (``TRELLIS_COMB``, ``TRELLIS_FF``,
            ``DP16KD``, ``MULT18X18D``, ...) plus ``LUT4`` and ``FF`` from the totals before
            packing.
        capacity: Sites available per type on the device, same keys.
        clocks: The last timing report of each clock (the post-route one when routing ran).
        errors: Text of every ``ERROR:`` line, in order.
    """

    used: dict[str, int] = field(default_factory=dict)
    capacity: dict[str, int] = field(default_factory=dict)
    clocks: dict[str, ClockTiming] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _in_device_table: bool = False

    def feed(self, line: str) -> None:
        """Take one line of nextpnr's output (stdout and stderr, either order)."""
        line = line.rstrip("\r\n")
        if self._in_device_table:
            row = _DEVICE_ROW.match(line)
            if row:
                self._record(row.group(1), int(row.group(2)), int(row.group(3)))
                return
            self._in_device_table = False
        if line.endswith(_DEVICE_HEADER):
            self._in_device_table = True
        elif prepack := _PREPACK.match(line):
            name = PREPACK_NAMES[prepack.group(1)]
            self._record(name, int(prepack.group(2)), int(prepack.group(3)))
        elif fmax := _FMAX.search(line):
            target = fmax.group("target")
            verdict = fmax.group("verdict")
            self.clocks[fmax.group("name")] = ClockTiming(
                name=fmax.group("name"),
                fmax_mhz=float(fmax.group("fmax")),
                target_mhz=float(target) if target is not None else None,
                passed=None if verdict is None else verdict == "PASS",
            )
        elif error := _ERROR.match(line):
            self.errors.append(error.group(1).strip())

    def _record(self, name: str, used: int, capacity: int) -> None:
        self.used[name] = used
        self.capacity[name] = capacity

    def overfull(self) -> list[str]:
        """Cell types the design needs more of than the device has, e.g. ``DP16KD 512/208``."""
        return [
            f"{name} {used}/{self.capacity[name]}"
            for name, used in self.used.items()
            if used > self.capacity.get(name, used)
        ]

    def out_of_room(self) -> bool:
        """Whether the design failed because it does not fit the device."""
        return bool(self.overfull()) or any(_NO_ROOM.search(e) for e in self.errors)

    def clock_at(self, target_mhz: float) -> ClockTiming | None:
        """The slowest clock constrained to ``target_mhz`` (the system clock), if reported."""
        matching = [
            c
            for c in self.clocks.values()
            if c.target_mhz is not None and abs(c.target_mhz - target_mhz) <= TARGET_TOLERANCE_MHZ
        ]
        return min(matching, key=lambda c: c.fmax_mhz, default=None)

    def fit_reason(self) -> str:
        """One line saying what did not fit (for a failed build)."""
        over = self.overfull()
        if over:
            return "design does not fit the LFE5UM5G-85F: needs " + ", ".join(over)
        cause = next((e for e in self.errors if _NO_ROOM.search(e)), "")
        return f"design does not fit the LFE5UM5G-85F: {cause}"
