"""The build child's side of its line protocol with the parent, and its exit codes.

Every line the child prints is streamed into the job's log, tagged with the current stage.
Three kinds of line are read by the parent instead (:class:`hwbridge.build.runner.LogPump`):

* ``::hwbridge-stage:: NAME``: the following lines belong to stage NAME;
* ``::hwbridge-error:: TEXT`` (stderr): one human-readable line saying why the build failed;
* ``::hwbridge-result:: JSON``: what the phase produced.

LiteX-free: both sides import it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

STAGE_MARKER = "::hwbridge-stage::"
ERROR_MARKER = "::hwbridge-error::"
RESULT_MARKER = "::hwbridge-result::"

EXIT_OK = 0
EXIT_USAGE = 2
#: The user's code failed to import or instantiate, or broke the contract.
EXIT_DESIGN = 3
#: LiteX/migen could not turn the SoC with this design into Verilog.
EXIT_ELABORATE = 4
#: Verilator, the C++ compiler or a synthesis tool failed.
EXIT_COMPILE = 5
#: The design needs more of some resource than the FPGA has.
EXIT_FIT = 6
#: The design misses the system clock frequency after routing.
EXIT_TIMING = 7

#: Failure kinds of the exit codes (``DesignBuildError.kind``).
KINDS = {
    EXIT_DESIGN: "design",
    EXIT_ELABORATE: "elaborate",
    EXIT_COMPILE: "compile",
    EXIT_FIT: "fit",
    EXIT_TIMING: "timing",
}

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def stage(name: str) -> None:
    print(f"{STAGE_MARKER} {name}", flush=True)


def fail(code: int, reason: str) -> int:
    """Report why the build failed (one line) and return ``code`` for the exit status."""
    line = " ".join(reason.split())
    print(f"{ERROR_MARKER} {line[:400]}", file=sys.stderr, flush=True)
    return code


def result(value: dict[str, Any]) -> None:
    print(f"{RESULT_MARKER} {json.dumps(value)}", flush=True)


class _PlainFormatter(logging.Formatter):
    """LiteX colours its log messages unconditionally; logs are read as plain text."""

    def format(self, record: logging.LogRecord) -> str:
        return ANSI.sub("", super().format(record))


def setup_child_output() -> None:
    """Line-buffer stdout and stderr (the parent streams them) and log plainly to stdout."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_PlainFormatter("%(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
