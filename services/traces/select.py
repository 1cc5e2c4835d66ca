"""What part of a recording a reader asked for: signals by glob, a range of cycles.

``signals`` is a comma-separated list of shell-style globs matched against the names relative
to the slot (``user.wb_*``, ``*ack``, ``dat_?``); ``cycles`` is ``A-B`` (both included), ``A-``,
``-B`` or ``A``, counted from the recording's first clock edge (cycle 0).
"""

from __future__ import annotations

import bisect
import fnmatch
import re
from dataclasses import dataclass

from services.traces.waveform import Value, Waveform

#: Most globs one request may give.
MAX_GLOBS = 64
_RANGE = re.compile(r"\s*(\d*)\s*(?:-\s*(\d*)\s*)?")


class SelectionError(ValueError):
    """The request's signals or cycles are malformed or select nothing."""


@dataclass(frozen=True)
class Selection:
    """Signal names in order and the cycles ``first``..``last`` (both included)."""

    names: list[str]
    first: int
    last: int

    @property
    def cycles(self) -> int:
        return self.last - self.first + 1


def parse_globs(raw: str | None) -> list[str]:
    """The globs of a ``signals`` parameter (none: every signal)."""
    if raw is None or not raw.strip():
        return []
    globs = [g.strip() for g in raw.split(",") if g.strip()]
    if len(globs) > MAX_GLOBS:
        raise SelectionError(f"signals: at most {MAX_GLOBS} globs")
    return globs


def parse_cycles(raw: str | None, cycles: int) -> tuple[int, int]:
    """The cycle range of a ``cycles`` parameter, clipped to the recording's ``cycles``."""
    last_cycle = max(cycles - 1, 0)
    if raw is None or not raw.strip():
        return 0, last_cycle
    match = _RANGE.fullmatch(raw)
    if match is None or not (match.group(1) or match.group(2)):
        raise SelectionError(f"cycles must be A-B, A-, -B or A (cycle numbers); got {raw!r}")
    start = int(match.group(1)) if match.group(1) else 0
    if "-" in raw:
        end = int(match.group(2)) if match.group(2) else last_cycle
    else:
        end = start
    if end < start:
        raise SelectionError(f"cycles: {start}-{end} ends before it starts")
    if start > last_cycle:
        raise SelectionError(f"cycles: the recording has cycles 0-{last_cycle}; {start} is past it")
    return start, min(end, last_cycle)


def select(wave: Waveform, signals: str | None, cycles: str | None) -> Selection:
    """The selection a request's parameters make of ``wave``.

    Raises:
        SelectionError: A malformed parameter, or globs that match no signal.
    """
    globs = parse_globs(signals)
    names = list(wave.signals)
    if globs:
        # In the order of the globs, so that a diagram's rows come as asked.
        names = list(dict.fromkeys(n for g in globs for n in names if fnmatch.fnmatchcase(n, g)))
        if not names:
            known = ", ".join(list(wave.signals)[:20])
            raise SelectionError(f"signals: {signals!r} matches none of {known}, ...")
    first, last = parse_cycles(cycles, wave.cycles)
    return Selection(names, first, last)


def sampled(wave: Waveform, name: str, first: int, last: int) -> list[tuple[int, Value]]:
    """A signal's value at each cycle of ``first``..``last``, as changes (cycle, value): its
    value at ``first``, then each cycle whose value differs from the cycle before.

    A cycle's value is the one right after its rising edge (what the edge's registers took);
    a change between two edges shows at the next one.
    """
    signal = wave.signals[name]
    edges = wave.edges
    if not edges:
        return [(0, signal.changes[-1][1])] if signal.changes else []
    out: list[tuple[int, Value]] = []
    initial = signal.value_at(edges[first])
    if initial is not None:
        out.append((first, initial))
    start = bisect.bisect_right(signal.changes, edges[first], key=lambda c: c[0])
    for time, value in signal.changes[start:]:
        cycle = bisect.bisect_left(edges, time)
        if cycle > last:
            break
        if out and out[-1][0] == cycle:
            out.pop()
        if not out or out[-1][1] != value:
            out.append((cycle, value))
    return out
