"""A recording in the forms tools read: compact JSON (per cycle, for agents) and VCD.

JSON gives each selected signal's width and its changes as ``[cycle, value]`` pairs (the value
right after that cycle's rising edge; the first pair is the value at the range's start), so ten
signals over fifty cycles are a few kilobytes. VCD gives the exact changes in time (ps), as the
simulator recorded them, for the selected signals and cycles.
"""

from __future__ import annotations

import io
from typing import Any

from vcd import VCDWriter

from services.traces.select import Selection, sampled
from services.traces.waveform import Value, Waveform, iter_changes

#: Most value changes one JSON answer may hold: narrow the signals or cycles past it.
MAX_JSON_CHANGES = 200_000
#: Most value changes one VCD answer may hold.
MAX_VCD_CHANGES = 2_000_000


class TooLarge(ValueError):
    """The selection holds more than one answer may."""


def as_json(wave: Waveform, selection: Selection, about: dict[str, Any]) -> dict[str, Any]:
    """The JSON form: ``about`` (the trace's metadata), the clock and the signals.

    Raises:
        TooLarge: The selection holds more than :data:`MAX_JSON_CHANGES` changes.
    """
    signals = []
    total = 0
    for name in selection.names:
        changes = sampled(wave, name, selection.first, selection.last)
        total += len(changes)
        if total > MAX_JSON_CHANGES:
            raise TooLarge(
                f"the selection holds over {MAX_JSON_CHANGES} changes: narrow it with "
                "signals= (globs) or cycles=A-B"
            )
        signals.append(
            {
                "name": name,
                "width": wave.signals[name].width,
                "changes": [[cycle, value] for cycle, value in changes],
            }
        )
    return {
        **about,
        "clock": {"signal": "clk", "period_ps": wave.period, "cycles": wave.cycles},
        "cycles": [selection.first, selection.last],
        "signals": signals,
    }


def _vcd_value(value: Value, width: int) -> int | str:
    if isinstance(value, int):
        return value
    return value.lower() if width > 1 else value[-1:].lower()


def as_vcd(wave: Waveform, selection: Selection, comment: str) -> str:
    """The VCD form of the selection (times in ps, as recorded).

    Raises:
        TooLarge: The selection holds more than :data:`MAX_VCD_CHANGES` changes.
    """
    start = wave.start_of(selection.first) if wave.edges else 0
    stop = wave.start_of(selection.last + 1) if wave.edges else wave.end + 1
    out = io.StringIO()
    with VCDWriter(out, timescale="1 ps", date="", comment=comment, version="fpga-cloud") as w:
        variables = {}
        for name in selection.names:
            *scopes, leaf = name.split(".")
            scope = ".".join(["fpga_cloud_user", *scopes])
            width = wave.signals[name].width
            variables[name] = (w.register_var(scope, leaf, "wire", size=width), width)
        for count, (time, name, value) in enumerate(
            iter_changes(wave, selection.names, start, stop)
        ):
            if count >= MAX_VCD_CHANGES:
                raise TooLarge(
                    f"the selection holds over {MAX_VCD_CHANGES} changes: narrow it with "
                    "signals= (globs) or cycles=A-B"
                )
            var, width = variables[name]
            w.change(var, time, _vcd_value(value, width))
    return out.getvalue()
