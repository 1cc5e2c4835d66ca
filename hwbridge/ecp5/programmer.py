"""Loading a bitstream into the ECP5 evaluation board's SRAM with openFPGALoader.

``openFPGALoader -b ecp5_evn [--ftdi-serial SN] [-c CABLE] design.bit``: a volatile load over
the board's FT2232H JTAG channel (``-f`` would write the flash instead; never used here). The
tool's output streams to the log as it runs; its progress bar redraws one line with carriage
returns, so those updates are thinned out to one every :data:`PROGRESS_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import time
from pathlib import Path

from events.settings import Settings
from hwbridge.drivers.base import DriverError, LogFn
from hwbridge.ecp5.constants import OPENFPGALOADER_BOARD

#: The setting naming the openFPGALoader executable (a path or a name on PATH).
TOOL_ENV = Settings.variables()["openfpgaloader"]
DEFAULT_TOOL = Settings().openfpgaloader
DEBIAN_PACKAGE = "openfpgaloader"
STAGE = "program"
PROGRESS_INTERVAL_S = 1.0
_CHUNK = 4096
_ERROR_LINE = re.compile(r"error|fail|unable|cannot|not found|no device", re.IGNORECASE)


def resolve_tool(tool: str | None = None) -> str:
    """The openFPGALoader executable: ``tool`` (the ``openfpgaloader`` setting), else the
    default's name on PATH.

    Raises:
        DriverError: If it cannot be found or is not executable.
    """
    name = tool or DEFAULT_TOOL
    found = shutil.which(name)
    if found is None:
        raise DriverError(
            f"{name} not found: install the Debian package '{DEBIAN_PACKAGE}' "
            f"(apt-get install {DEBIAN_PACKAGE}) or set {TOOL_ENV} to its path"
        )
    return found


def command_line(
    tool: str, bit: Path, *, cable: str | None = None, serial_number: str | None = None
) -> list[str]:
    """The argv of one SRAM load (see the module docstring)."""
    argv = [tool, "-b", OPENFPGALOADER_BOARD]
    if serial_number:
        argv += ["--ftdi-serial", serial_number]
    if cable:
        argv += ["-c", cable]
    return [*argv, str(bit)]


class _Output:
    """Splits the tool's output into lines (on CR or LF) and forwards them, thinning progress."""

    def __init__(self, log: LogFn | None) -> None:
        self.log = log
        self.lines: list[str] = []
        self._pending = ""
        self._pending_progress: str | None = None
        self._last_progress = 0.0

    async def _emit(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        self.lines.append(line)
        del self.lines[:-50]  # only the tail is needed for the error message
        if self.log is not None:
            await self.log(STAGE, line)

    async def feed(self, data: str) -> None:
        parts = re.split(r"(\r\n|\r|\n)", self._pending + data)
        self._pending = parts.pop()  # the unterminated rest
        for text, end in zip(parts[::2], parts[1::2], strict=True):
            if end == "\r":  # a progress redraw
                self._pending_progress = text
                if time.monotonic() - self._last_progress >= PROGRESS_INTERVAL_S:
                    await self._flush_progress()
            else:
                self._pending_progress = None
                await self._emit(text)

    async def _flush_progress(self) -> None:
        if self._pending_progress is not None:
            self._last_progress = time.monotonic()
            text, self._pending_progress = self._pending_progress, None
            await self._emit(text)

    async def close(self) -> None:
        await self._flush_progress()
        if self._pending:
            text, self._pending = self._pending, ""
            await self._emit(text)

    def cause(self) -> str:
        """The tool's last error-looking line, else its last line."""
        errors = [line for line in self.lines if _ERROR_LINE.search(line)]
        return (errors or self.lines or ["no output"])[-1]


def _check_bitstream(bit: Path) -> None:
    if not bit.is_file():
        raise DriverError(f"bitstream {bit} does not exist")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def program_bitstream(
    bit: Path,
    *,
    cable: str | None = None,
    serial_number: str | None = None,
    timeout_s: float = 60,
    tool: str | None = None,
    log: LogFn | None = None,
) -> None:
    """Load ``bit`` into the board's SRAM.

    Args:
        bit: The ``.bit`` file.
        cable: openFPGALoader cable name (``-c``); the board's default (its FT2232H) if None.
        serial_number: FTDI serial number (``--ftdi-serial``) picking one of several boards.
        timeout_s: Wall-clock limit; the tool is killed when it is reached.
        tool: The executable (a path or a name on PATH); default ``openFPGALoader``.
        log: Awaited with ``("program", line)`` for each output line as it appears.

    Raises:
        DriverError: If the tool is missing, the bitstream is missing, the tool fails (with its
            last error line) or it runs out of time.
    """
    executable = resolve_tool(tool)
    _check_bitstream(Path(bit))
    argv = command_line(executable, Path(bit), cable=cable, serial_number=serial_number)
    if log is not None:
        await log(STAGE, "$ " + " ".join(argv))
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        raise DriverError(f"cannot run {executable}: {exc.strerror or exc}") from None
    assert proc.stdout is not None
    output = _Output(log)
    try:
        async with asyncio.timeout(timeout_s):
            while chunk := await proc.stdout.read(_CHUNK):
                await output.feed(chunk.decode("utf-8", "replace"))
            rc = await proc.wait()
    except TimeoutError:
        raise DriverError(
            f"{Path(executable).name} did not finish within {timeout_s:g} s and was killed"
        ) from None
    finally:
        if proc.returncode is None:
            _kill_group(proc.pid)
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
        await output.close()
    if rc != 0:
        raise DriverError(f"{Path(executable).name} failed (exit {rc}): {output.cause()}")
