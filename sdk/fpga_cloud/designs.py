"""A design to upload, from a path, bytes or text, with the file name the service reads.

The service tells the language from the file name first (``.py``: Migen, or Amaranth when it
imports ``amaranth``; ``.v``; ``.sv``), then from the content. Source given as text or bytes
without a ``filename`` gets ``design.v`` when it holds a Verilog ``module ... endmodule`` and
``design.py`` otherwise.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DesignSource = str | bytes | os.PathLike[str]
"""A path (``pathlib.Path``, or a ``str`` without a newline), or the design's text or bytes
(a ``str`` with at least one newline, or ``bytes``)."""

_VERILOG = re.compile(rb"^\s*(?:module|macromodule)\s+[A-Za-z_\\][\s\S]*\bendmodule\b", re.M)


@dataclass(frozen=True)
class Upload:
    """The design's bytes and the name it is uploaded under."""

    filename: str
    content: bytes


def guess_filename(content: bytes) -> str:
    """``design.v`` for Verilog source, else ``design.py``."""
    return "design.v" if _VERILOG.search(content) else "design.py"


def load(design: DesignSource, filename: str | None = None) -> Upload:
    """The upload for ``design``.

    Args:
        design: a path, or the source itself. A ``str`` counts as source when it contains a
            newline, else as a path.
        filename: the name to upload under (its extension picks the language); by default the
            path's name, or a name guessed from the source.

    Raises:
        FileNotFoundError: ``design`` is a path to no file.
    """
    if isinstance(design, bytes):
        content = design
    elif isinstance(design, str) and "\n" in design:
        content = design.encode()
    else:
        path = Path(design)
        content = path.read_bytes()
        filename = filename or path.name
    return Upload(filename or guess_filename(content), content)
