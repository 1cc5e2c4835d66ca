"""openFPGALoader runs and the ECP5 driver's programming step, with a stand-in programmer.

The stand-in is a shell script written into ``tmp_path`` that records its argv; the board's
UART is a pseudo-terminal whose far side either never answers or answers like the base SoC.
No real FPGA or toolchain is involved (the toolchain is in test_ecp5_build.py).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.designs import MIGEN
from hwbridge.build.design import Design
from hwbridge.build.placeholder import BASE_DESIGN
from hwbridge.drivers.base import BuildOutput, DriverError
from hwbridge.drivers.ecp5 import BITSTREAM_FILE, Ecp5Board
from hwbridge.ecp5.artifact import BitstreamArtifact
from hwbridge.ecp5.programmer import TOOL_ENV, program_bitstream
from hwbridge.inventory import BoardConfig
from tests.buildlog import Log
from tests.ptyboard import FarSide

WINDOW = 0x4000_0000


def stand_in(tmp_path: Path, body: str) -> tuple[Path, Path]:
    """An executable openFPGALoader stand-in; returns (tool, file its argv is written to)."""
    argv_file = tmp_path / "argv.txt"
    tool = tmp_path / "openFPGALoader"
    tool.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{argv_file}'\n{body}\n")
    tool.chmod(0o755)
    return tool, argv_file


@pytest.fixture
def bit(tmp_path: Path) -> Path:
    path = tmp_path / "design.bit"
    path.write_bytes(b"\xff\x00Part: LFE5UM5G-85F-8CABGA381\x00\xff\xff\xff\xbd\xb3")
    return path


async def test_command_line_and_streamed_output(tmp_path: Path, bit: Path) -> None:
    tool, argv_file = stand_in(
        tmp_path,
        'echo "Jtag frequency : requested 6.00MHz   -> real 6.00MHz"\n'
        "for p in 10 20 30 40 50 60 70 80 90; do printf 'Loading: [==    ] %s.00%%\\r' $p; done\n"
        "printf 'Loading: [======] 100.00%%\\r\\nDone\\n'",
    )
    log = Log()
    await program_bitstream(
        bit, cable="ft2232", serial_number="FT4ECP5A", tool=str(tool), log=log, timeout_s=10
    )
    assert argv_file.read_text().splitlines() == [
        "-b",
        "ecp5_evn",
        "--ftdi-serial",
        "FT4ECP5A",
        "-c",
        "ft2232",
        str(bit),
    ]
    assert {stage for stage, _ in log.lines} == {"program"}
    lines = [line for _, line in log.lines]
    assert lines[0] == f"$ {tool} -b ecp5_evn --ftdi-serial FT4ECP5A -c ft2232 {bit}"
    assert lines[1].startswith("Jtag frequency")
    assert lines[-1] == "Done"
    # The progress bar's redraws are thinned out, but its last state is kept.
    progress = [line for line in lines if line.startswith("Loading")]
    assert 1 <= len(progress) < 10 and progress[-1].endswith("100.00%")


async def test_defaults_and_the_tool_on_path(
    tmp_path: Path, bit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, argv_file = stand_in(tmp_path, "exit 0")
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    await program_bitstream(bit)
    assert argv_file.read_text().splitlines() == ["-b", "ecp5_evn", str(bit)]


async def test_tool_missing(tmp_path: Path, bit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        DriverError, match=r"not found: install the Debian package 'openfpgaloader'"
    ):
        await program_bitstream(bit, tool=str(tmp_path / "no-such-openFPGALoader"))
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing named openFPGALoader there
    with pytest.raises(DriverError, match=f"or set {TOOL_ENV}"):
        await program_bitstream(bit)


async def test_missing_bitstream(tmp_path: Path) -> None:
    tool, argv_file = stand_in(tmp_path, "exit 0")
    with pytest.raises(DriverError, match="does not exist"):
        await program_bitstream(tmp_path / "nope.bit", tool=str(tool))
    assert not argv_file.exists()


async def test_non_zero_exit_reports_the_error_line(tmp_path: Path, bit: Path) -> None:
    tool, _ = stand_in(
        tmp_path,
        'echo "empty"\n'
        'echo "JTAG init failed with: unable to open ftdi device: -3 (device not found)" >&2\n'
        'echo "bye"\nexit 1',
    )
    log = Log()
    with pytest.raises(DriverError) as caught:
        await program_bitstream(bit, tool=str(tool), log=log)
    assert str(caught.value) == (
        "openFPGALoader failed (exit 1): JTAG init failed with: "
        "unable to open ftdi device: -3 (device not found)"
    )
    assert "bye" in log.text()  # the whole output was streamed


async def test_timeout_kills_the_tool(tmp_path: Path, bit: Path) -> None:
    pid_file = tmp_path / "pid"
    # A child in the background too: the whole process group must go.
    tool, _ = stand_in(tmp_path, f"sleep 60 & echo $! > '{pid_file}'\necho loading\nwait")
    started = time.monotonic()
    with pytest.raises(DriverError, match=r"did not finish within 0.5 s and was killed"):
        await program_bitstream(bit, tool=str(tool), timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert _gone_within(int(pid_file.read_text()), 5.0)


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (its parent, the killed shell, is gone too).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


# --- the driver's programming step -------------------------------------------------------------


@pytest.fixture
def silent_board() -> Iterator[FarSide]:
    far = FarSide(answers=False)
    yield far
    far.close()


@pytest.fixture
def live_board() -> Iterator[FarSide]:
    far = FarSide(answers=True)
    yield far
    far.close()


def _board(tmp_path: Path, far: FarSide, tool: Path) -> Ecp5Board:
    config = BoardConfig(
        fpga_id=0, driver="ecp5_evn", serial_url=far.path, serial_number="FT4ECP5A"
    )
    return Ecp5Board(config, tmp_path / "data", tool=str(tool), link_timeout_s=0.3)


def _place_bitstream(board: Ecp5Board, tmp_path: Path, source: bytes) -> BuildOutput:
    """Put a 'built' bitstream where the driver keeps its builds (no toolchain here)."""
    key = board.cache_key(Design(source, MIGEN))
    directory = tmp_path / "data" / "builds" / "ecp5_evn" / key
    directory.mkdir(parents=True)
    (directory / BITSTREAM_FILE).write_bytes(b"\xff\x00bitstream")
    artifact = BitstreamArtifact(
        path=directory / BITSTREAM_FILE,
        window_base=WINDOW,
        window_size=0x1000,
        utilisation={"LUT4": 1},
        fmax_mhz=100.0,
        size_bytes=11,
        target_mhz=60.0,
    )
    artifact.save(directory)
    return BuildOutput(key, WINDOW, 0x1000)


async def test_program_then_board_not_answering(tmp_path: Path, silent_board: FarSide) -> None:
    tool, argv_file = stand_in(tmp_path, "echo loaded")
    board = _board(tmp_path, silent_board, tool)
    output = _place_bitstream(board, tmp_path, b"design")
    log = Log()
    with pytest.raises(
        DriverError, match=f"board not answering over UARTBone on {silent_board.path}"
    ):
        await board.program(output, log)
    assert argv_file.read_text().splitlines()[-1].endswith(f"/{output.artifact}/design.bit")
    assert "loaded" in log.text()
    assert not board.programmed()
    with pytest.raises(DriverError, match="no running design"):
        await board.read(0, 1)
    await board.close()


async def test_program_read_write_and_reset(tmp_path: Path, live_board: FarSide) -> None:
    tool, argv_file = stand_in(tmp_path, "echo loaded")
    board = _board(tmp_path, live_board, tool)
    output = _place_bitstream(board, tmp_path, b"design")
    await board.program(output, Log())
    assert board.programmed()
    await board.write(0x8, [7, 9])
    assert live_board.words[(WINDOW + 0x8) // 4] == 7
    assert await board.read(0x8, 2) == [7, 9]
    # Fixed-address transfers (a FIFO port), and a posted write without the barrier read.
    del live_board.frames[:]
    await board.write(0x10, [1, 2, 3], fixed=True, confirm=False)
    assert await board.read(0x10, 2, fixed=True) == [3, 3]
    word = (WINDOW + 0x10) // 4
    assert live_board.frames == [(0x03, word, [1, 2, 3]), (0x04, word, [])]
    # Reset loads the base SoC's bitstream: cached here, so no build runs.
    base = _place_bitstream(board, tmp_path, BASE_DESIGN)
    await board.reset()
    assert argv_file.read_text().splitlines()[-1].endswith(f"/{base.artifact}/design.bit")
    assert not board.programmed()
    await board.close()


async def test_program_without_a_built_bitstream(tmp_path: Path, live_board: FarSide) -> None:
    tool, argv_file = stand_in(tmp_path, "exit 0")
    board = _board(tmp_path, live_board, tool)
    with pytest.raises(DriverError, match="neither on this host nor in the build cache"):
        await board.program(BuildOutput(uuid.uuid4().hex, WINDOW, 0x1000), Log())
    assert not argv_file.exists()


@pytest.mark.skipif(shutil.which("openFPGALoader") is None, reason="openfpgaloader not installed")
async def test_real_openfpgaloader_accepts_the_command_line(bit: Path) -> None:
    # A serial number no board has: safe even on a host with boards plugged in. The real tool
    # must accept every flag and then fail to find the device, which is reported as its line.
    log = Log()
    with pytest.raises(DriverError, match=r"openFPGALoader failed \(exit \d+\): .*ftdi") as caught:
        await program_bitstream(
            bit, cable="ft2232", serial_number="no-such-board-0", log=log, timeout_s=30
        )
    assert "unrecognized" not in str(caught.value).lower()
    assert "Board default cable overridden with ft2232" in log.text()
