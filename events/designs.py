"""What an uploaded design is: its language, told from the file name and the bytes, and its top.

Shared by the API (which records the language on ``JobQueued`` and refuses what is no design at
all) and the build pipeline (which picks the front end). Pure and cheap: nothing here parses or
runs the design.
"""

from __future__ import annotations

import re

MIGEN = "migen"
AMARANTH = "amaranth"
VERILOG = "verilog"
SYSTEMVERILOG = "systemverilog"
LANGUAGES = (MIGEN, AMARANTH, VERILOG, SYSTEMVERILOG)

#: The name a design of each language gets in its build directory.
SOURCE_NAMES = {
    MIGEN: "design.py",
    AMARANTH: "design.py",
    VERILOG: "design.v",
    SYSTEMVERILOG: "design.sv",
}
#: How each language is named to people.
TITLES = {
    MIGEN: "Migen",
    AMARANTH: "Amaranth",
    VERILOG: "Verilog",
    SYSTEMVERILOG: "SystemVerilog",
}
ACCEPTED = (
    "a Migen design (.py with class Design), an Amaranth design (.py importing amaranth) or a "
    "Verilog / SystemVerilog module (.v, .sv)"
)

_AMARANTH_IMPORT = re.compile(rb"^\s*(?:from|import)\s+amaranth\b", re.MULTILINE)
_PYTHON_LINE = re.compile(rb"^(?:from\s+\w[\w.]*\s+import\b|import\s+\w|class\s+\w|def\s+\w)", re.M)
_VERILOG_MODULE = re.compile(rb"^\s*(?:module|macromodule)\s+[A-Za-z_\\]", re.MULTILINE)
_VERILOG_END = re.compile(rb"\bendmodule\b")
_TOP = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,127}")


def detect_language(filename: str | None, source: bytes) -> str | None:
    """The language of an upload, or None when it is no design in any accepted language.

    The extension decides when there is one we know (``.py``: Amaranth if it imports
    ``amaranth``, else Migen; ``.v``; ``.sv``); otherwise the content does: Python statements,
    or a Verilog ``module`` ... ``endmodule``.
    """
    name = (filename or "").lower()
    if name.endswith(".py"):
        return _python_language(source)
    if name.endswith(".sv") or name.endswith(".svh"):
        return SYSTEMVERILOG
    if name.endswith(".v") or name.endswith(".vh"):
        return VERILOG
    if _VERILOG_MODULE.search(source) and _VERILOG_END.search(source):
        return VERILOG
    if _PYTHON_LINE.search(source):
        return _python_language(source)
    return None


def _python_language(source: bytes) -> str:
    return AMARANTH if _AMARANTH_IMPORT.search(source) else MIGEN


def check_top(top: str) -> str:
    """A top name as given (a Python class or a Verilog module name), stripped.

    Raises:
        ValueError: it is not an identifier of at most 128 characters.
    """
    top = top.strip()
    if not _TOP.fullmatch(top):
        raise ValueError(
            "top must name a class or module: letters, digits, '_' (and '$' in Verilog), "
            f"not starting with a digit, at most 128 characters; got {top[:40]!r}"
        )
    return top
