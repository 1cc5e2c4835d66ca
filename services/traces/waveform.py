"""A stored recording read back: every signal of the user's slot with its value changes.

The FST file is read with pywellen (a Rust reader: the file was written by a simulator running
untrusted RTL, which could have written it itself). Names are given relative to the slot: the
Wishbone port of the wrapper (``cyc``, ``stb``, ``ack``, ``dat_w``, ...) and the design below it
(``user.wb_cyc``, ``user.reg0``, ...). The clock is the slot's ``clk``: cycle 0 is its first
rising edge in the recording.
"""

from __future__ import annotations

import bisect
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pywellen

#: The hierarchy the simulator records (the user's slot), stripped from names.
SLOT_SCOPE = "TOP.sim.fpga_cloud_user."
#: The slot's clock.
CLOCK = "clk"
#: A value: an integer, or a string of binary digits when some are unknown (``x``, ``z``).
Value = int | str


class WaveformError(Exception):
    """The file is not a waveform this service can read."""


@dataclass(frozen=True)
class Signal:
    """One signal: its name (relative to the slot), width and changes (time in ps, value)."""

    name: str
    width: int
    changes: list[tuple[int, Value]] = field(default_factory=list)

    def value_at(self, time: int) -> Value | None:
        """The value at ``time`` (after every change at that time), None before the first."""
        index = bisect.bisect_right(self.changes, time, key=lambda c: c[0]) - 1
        return self.changes[index][1] if index >= 0 else None


@dataclass(frozen=True)
class Waveform:
    """Every signal of a recording, by name, and its clock's rising edges (times in ps)."""

    signals: dict[str, Signal]
    edges: list[int]
    end: int
    """The time of the recording's last change."""

    @property
    def cycles(self) -> int:
        return len(self.edges)

    @property
    def period(self) -> int:
        """The clock period in ps (0 with fewer than two edges)."""
        return self.edges[1] - self.edges[0] if len(self.edges) > 1 else 0

    def cycle_of(self, time: int) -> int:
        """The cycle ``time`` falls in: the last rising edge at or before it (0 before any)."""
        return max(0, bisect.bisect_right(self.edges, time) - 1)

    def start_of(self, cycle: int) -> int:
        """The time cycle ``cycle`` starts (its rising edge); past the last: the end."""
        if not self.edges:
            return 0
        return self.edges[cycle] if cycle < len(self.edges) else self.end + 1


def _relative(full_name: str) -> str:
    return full_name[len(SLOT_SCOPE) :] if full_name.startswith(SLOT_SCOPE) else full_name


def _value(raw: object) -> Value:
    if isinstance(raw, int):
        return raw
    return str(raw)


def load(fst: bytes) -> Waveform:
    """Read an FST file's bytes.

    Raises:
        WaveformError: They are not a readable FST waveform.
    """
    with tempfile.NamedTemporaryFile(suffix=".fst") as f:
        f.write(fst)
        f.flush()
        try:
            wave = pywellen.Waveform(f.name, multi_threaded=False)
            variables = [v for v in wave.all_vars() if not (v.is_real or v.is_string)]
            by_id: dict[str, list[Signal]] = {}
            signals: dict[str, Signal] = {}
            for var in variables:
                signal = Signal(_relative(var.full_name), int(var.bitwidth or 1))
                signals[signal.name] = signal
                by_id.setdefault(str(var.signal_id), []).append(signal)
            last = [0]

            def changed(time: int, signal_id: object, raw: object) -> None:
                value = _value(raw)
                for signal in by_id.get(str(signal_id), ()):
                    signal.changes.append((time, value))
                last[0] = max(last[0], time)

            wave.stream_changes(changed, variables)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a Rust panic in the reader is a BaseException
            raise WaveformError(f"not a readable FST waveform: {exc}") from None
    clock = signals.get(CLOCK)
    edges = [t for t, v in clock.changes if v == 1] if clock is not None else []
    return Waveform(dict(sorted(signals.items())), edges, last[0])


def iter_changes(
    wave: Waveform, names: list[str], start: int, stop: int
) -> Iterator[tuple[int, str, Value]]:
    """Every change of ``names`` with ``start <= time < stop``, in time order (a name's value
    at ``start`` comes first, as a change at ``start``)."""
    merged: list[tuple[int, int, str, Value]] = []
    for order, name in enumerate(names):
        signal = wave.signals[name]
        initial = signal.value_at(start)
        if initial is not None:
            merged.append((start, order, name, initial))
        merged += [(t, order, name, v) for t, v in signal.changes if start < t < stop]
    merged.sort(key=lambda c: (c[0], c[1]))
    for time, _, name, value in merged:
        yield time, name, value
