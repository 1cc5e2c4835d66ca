"""A timing diagram of selected signals: WaveDrom's JSON, and an SVG drawn from it.

The WaveDrom description (``{"signal": [{"name", "wave", "data"}], ...}``) is what the WaveDrom
editor and renderers take; the SVG is drawn here from the same description (one column per
clock cycle; one-bit signals as lines, wider ones as buses labelled in hex), so the service
needs no JavaScript to render it.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from services.traces.select import Selection, sampled
from services.traces.waveform import Value, Waveform

#: Most cycles and signals one diagram may show: narrow the selection past them.
MAX_DIAGRAM_CYCLES = 1000
MAX_DIAGRAM_SIGNALS = 64

_CELL = 24  # px per cycle
_ROW = 28  # px per signal
_TOP = 30  # px above the first signal (cycle numbers)
_HIGH, _LOW = 6, 20  # y offsets of a one-bit signal's levels within its row
_FONT = 'font-family="monospace" font-size="11"'


class DiagramTooLarge(ValueError):
    """The selection has more cycles or signals than one diagram shows."""


def _label(value: Value, width: int) -> str:
    if isinstance(value, int):
        return f"{value:x}" if width > 4 else str(value)
    return value


def wavedrom(wave: Waveform, selection: Selection, title: str) -> dict[str, Any]:
    """The WaveDrom description of the selection (cycle ``first`` is the first column).

    Raises:
        DiagramTooLarge: More than :data:`MAX_DIAGRAM_CYCLES` cycles or
            :data:`MAX_DIAGRAM_SIGNALS` signals.
    """
    if selection.cycles > MAX_DIAGRAM_CYCLES or len(selection.names) > MAX_DIAGRAM_SIGNALS:
        raise DiagramTooLarge(
            f"a diagram shows at most {MAX_DIAGRAM_CYCLES} cycles and {MAX_DIAGRAM_SIGNALS} "
            f"signals; this selection has {selection.cycles} and {len(selection.names)}: narrow "
            "it with signals= (globs) or cycles=A-B"
        )
    rows = []
    for name in selection.names:
        width = wave.signals[name].width
        changes = dict(sampled(wave, name, selection.first, selection.last))
        chars: list[str] = []
        data: list[str] = []
        for cycle in range(selection.first, selection.last + 1):
            if cycle not in changes:
                chars.append("." if chars else "x")
                continue
            value = changes[cycle]
            if width == 1:
                chars.append(str(value) if value in (0, 1) else "x")
            else:
                chars.append("=")
                data.append(_label(value, width))
        row: dict[str, Any] = {"name": name, "wave": "".join(chars)}
        if data:
            row["data"] = data
        rows.append(row)
    return {
        "signal": rows,
        "head": {"text": title, "tick": selection.first},
        "config": {"hscale": 1},
    }


def _bit_path(wave: str, x0: int, y: int) -> str:
    points: list[str] = []
    level = None
    for i, char in enumerate(wave):
        if char != ".":
            level = char
        x = x0 + i * _CELL
        ys = {"1": y + _HIGH, "0": y + _LOW}.get(level or "x", y + (_HIGH + _LOW) // 2)
        points += [f"{x},{ys}", f"{x + _CELL},{ys}"]
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="#0a5" stroke-width="1.5"/>'


def _bus(wave: str, data: list[str], x0: int, y: int) -> list[str]:
    parts: list[str] = []
    segments: list[tuple[int, int, str]] = []  # (first column, columns, label)
    labels = iter(data)
    for i, char in enumerate(wave):
        if char == "." and segments:
            start, length, label = segments[-1]
            segments[-1] = (start, length + 1, label)
        else:
            segments.append((i, 1, next(labels, "") if char == "=" else "x"))
    top, bottom, mid = y + _HIGH, y + _LOW, y + (_HIGH + _LOW) // 2
    for start, length, label in segments:
        a, b = x0 + start * _CELL, x0 + (start + length) * _CELL
        fill = "#eee" if label == "x" else "#fff7d6"
        parts.append(
            f'<polygon points="{a},{mid} {a + 3},{top} {b - 3},{top} {b},{mid} {b - 3},{bottom} '
            f'{a + 3},{bottom}" fill="{fill}" stroke="#333" stroke-width="1"/>'
        )
        fits = max(1, (b - a - 6) // 7)
        text = label if len(label) <= fits else label[: max(1, fits - 1)] + "…"
        parts.append(
            f'<text x="{(a + b) // 2}" y="{mid + 4}" text-anchor="middle" {_FONT}>'
            f"{escape(text)}</text>"
        )
    return parts


def svg(description: dict[str, Any]) -> str:
    """An SVG timing diagram of a WaveDrom description made by :func:`wavedrom`."""
    rows: list[dict[str, Any]] = description["signal"]
    tick: int = description["head"]["tick"]
    columns = max((len(r["wave"]) for r in rows), default=0)
    x0 = 12 + 7 * max((len(r["name"]) for r in rows), default=4)
    width, height = x0 + columns * _CELL + 10, _TOP + len(rows) * _ROW + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        f"<title>{escape(description['head']['text'])}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    step = max(1, 40 // _CELL)
    for i in range(0, columns, step):
        x = x0 + i * _CELL
        out.append(f'<line x1="{x}" y1="{_TOP - 6}" x2="{x}" y2="{height - 10}" stroke="#ddd"/>')
        out.append(f'<text x="{x + 2}" y="{_TOP - 10}" {_FONT} fill="#888">{tick + i}</text>')
    for index, row in enumerate(rows):
        y = _TOP + index * _ROW
        out.append(f'<text x="4" y="{y + _LOW - 2}" {_FONT}>{escape(row["name"])}</text>')
        if "data" in row or "=" in row["wave"]:
            out += _bus(row["wave"], row.get("data", []), x0, y)
        else:
            out.append(_bit_path(row["wave"], x0, y))
    out.append("</svg>")
    return "\n".join(out) + "\n"
