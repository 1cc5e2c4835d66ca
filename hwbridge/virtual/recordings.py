"""A running simulator's waveform recordings, as its tracer leaves them in ``traces/``.

The tracer (``hwbridge/virtual/sim_core/tracer.cpp``) writes ``<n>.fst`` while the SoC's trace
control bit is set and, once it has closed it, ``<n>.json``: what the file holds and why it
stopped. Both are written by the simulator, which runs the user's design: a design could write
files there too (``$fopen``). So a summary is read as untrusted input, with strict types and
bounds, and a recording file is opened without following links and read up to a bound.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import msgspec

from hwbridge.drivers.base import Recording, StopReason

#: The simulator's recordings directory, in its working directory (the only one it may write).
TRACE_DIR = "traces"
_SUMMARY = re.compile(r"([1-9][0-9]{0,8})\.json")
#: A recording may pass its byte cap by what it records between two checks of its size, and
#: by what closing it writes (its last block, the hierarchy): read up to SIZE_SLACK times the
#: cap plus SLACK_BYTES (which a small cap would otherwise not leave room for).
SIZE_SLACK = 4
SLACK_BYTES = 1 << 20


@dataclass(frozen=True)
class TraceCaps:
    """The caps of a simulator's recordings (0: none)."""

    max_cycles: int = 0
    max_bytes: int = 0

    def plusargs(self) -> list[str]:
        """The simulator's command-line arguments that set them."""
        return [
            f"+trace_dir={TRACE_DIR}",
            f"+trace_max_cycles={self.max_cycles}",
            f"+trace_max_bytes={self.max_bytes}",
        ]

    @property
    def read_limit(self) -> int:
        """The most bytes a recording file is read up to."""
        return self.max_bytes * SIZE_SLACK + SLACK_BYTES if self.max_bytes else 1 << 30


class Summary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``<n>.json``: one closed recording."""

    number: int
    file: str
    first_ps: int
    last_ps: int
    first_cycle: int
    cycles: int
    bytes: int
    reason: StopReason


class RecordingError(Exception):
    """A recording's files are missing or not what the tracer writes."""


def closed(traces: Path) -> list[int]:
    """Numbers of the recordings whose summary is written, oldest first."""
    try:
        names = os.listdir(traces)
    except OSError:
        return []
    return sorted(int(m.group(1)) for n in names if (m := _SUMMARY.fullmatch(n)))


def _read(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file, never through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise RecordingError(f"{path.name}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RecordingError(f"{path.name} is not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise RecordingError(f"{path.name} is larger than {limit} bytes")
    return data


def take(traces: Path, number: int, caps: TraceCaps) -> Recording:
    """Read recording ``number`` and remove its files.

    Raises:
        RecordingError: Its summary or its file is missing or malformed.
    """
    summary_path = traces / f"{number}.json"
    fst_path = traces / f"{number}.fst"
    try:
        raw = _read(summary_path, 4096)
        try:
            summary = msgspec.json.decode(raw, type=Summary)
        except msgspec.DecodeError as exc:
            raise RecordingError(f"malformed summary of recording {number}: {exc}") from None
        if summary.number != number or summary.file != fst_path.name:
            raise RecordingError(f"the summary of recording {number} names another one")
        if min(summary.first_ps, summary.last_ps, summary.first_cycle, summary.cycles) < 0:
            raise RecordingError(f"the summary of recording {number} has negative counts")
        data = _read(fst_path, caps.read_limit)
    finally:
        discard(traces, number)
    return Recording(data, summary.first_cycle, summary.cycles, summary.reason)


def discard(traces: Path, number: int) -> None:
    """Remove recording ``number``'s files, if any."""
    for suffix in (".json", ".fst", ".json.tmp"):
        with contextlib.suppress(OSError):
            (traces / f"{number}{suffix}").unlink()


def discard_all(traces: Path) -> None:
    """Remove every recording's files (those of a recording not closed stay: the simulator
    still writes them)."""
    for number in closed(traces):
        discard(traces, number)
