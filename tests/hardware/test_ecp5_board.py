"""The whole flow on a real ECP5 evaluation board: build, program, Wishbone, reset.

Skipped unless ``--board-config PATH`` names an inventory with an ``ecp5_evn`` board; the first
such board whose ``host`` is ``$FPGA_CLOUD_HOSTNAME`` (default ``local``) is used. Builds go to
the repository's ``var/hardware-test`` and reuse ``var/yowasp-cache``.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.designs import MIGEN
from hwbridge.build.design import Design
from hwbridge.drivers.ecp5 import Ecp5Board
from hwbridge.inventory import load_inventory

pytestmark = [pytest.mark.hardware, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
N_REGS = 16


async def _log(stage: str, line: str) -> None:
    print(f"[{stage}] {line}")


@pytest.fixture
async def board(board_config: Path) -> AsyncIterator[Ecp5Board]:
    host = os.environ.get("FPGA_CLOUD_HOSTNAME", "local")
    boards = [b for b in load_inventory(board_config).for_host(host) if b.driver == "ecp5_evn"]
    if not boards:
        pytest.skip(f"{board_config} has no ecp5_evn board on host {host!r}")
    driver = Ecp5Board(
        boards[0], REPO / "var" / "hardware-test", yowasp_cache=REPO / "var" / "yowasp-cache"
    )
    yield driver
    await driver.close()


async def test_echo_regs_on_a_real_board(board: Ecp5Board) -> None:
    # The base SoC first: proves programming and the UART before any user design.
    await board.reset()
    assert not board.programmed()

    source = Design((REPO / "examples" / "echo_regs.py").read_bytes(), MIGEN)
    output = await board.build(uuid.uuid4(), source, _log)
    await board.program(output, _log)
    assert board.programmed()

    values = [random.getrandbits(32) for _ in range(N_REGS)]
    await board.write(0, values)
    assert await board.read(0, N_REGS) == values
    assert await board.read(0x40, N_REGS) == values  # the registers repeat every 0x40 bytes

    started = time.perf_counter()
    for _ in range(100):
        await board.read(0, 1)
    per_read_ms = (time.perf_counter() - started) * 10
    print(f"one-word read round trip: {per_read_ms:.2f} ms")

    await board.reset()
    assert not board.programmed()
