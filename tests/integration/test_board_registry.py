"""Boards from the inventory become events, visible in the API; bad inventories stop start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from events.designs import MIGEN
from events.store import EventStore
from hwbridge.build.design import Design
from hwbridge.build.kits import KitStore
from hwbridge.cache import BuildCache
from hwbridge.drivers.virtual import VirtualBoard
from hwbridge.inventory import BoardConfig
from hwbridge.main import register
from hwbridge.sandbox import Sandbox
from projections.runner import ProjectionRunner
from tests.conftest import KIT_DIR
from tests.e2e.system import REPO
from tests.integration.contract import SUMMARY_FIELDS


async def test_registration_shows_in_the_board_list_and_is_idempotent(
    store: EventStore, runner: ProjectionRunner, client: httpx.AsyncClient
) -> None:
    lab = BoardConfig(fpga_id=4, driver="ecp5_evn", serial_url="/dev/ttyUSB1", host="lab-a",
                      serial_number="FT1")  # fmt: skip
    await register(store, lab)
    await register(store, lab)  # unchanged: no second event
    await register(store, BoardConfig(fpga_id=5, in_service=False))
    assert len(await store.read_board(4)) == 1
    await runner.wait_for(await store.last_seq())
    boards = {b["fpga_id"]: b for b in (await client.get("/fpga")).json()}
    assert boards[4]["driver"] == "ecp5_evn" and boards[4]["in_service"] is True
    assert boards[5]["driver"] == "virtual" and boards[5]["in_service"] is False
    assert set(boards[0]) == SUMMARY_FIELDS


async def test_out_of_service_board_refuses_designs(
    store: EventStore, runner: ProjectionRunner, client: httpx.AsyncClient
) -> None:
    await register(store, BoardConfig(fpga_id=6, in_service=False))
    await runner.wait_for(await store.last_seq())
    r = await client.post("/fpga/6/submit", files={"file": ("design.py", b"x = 1\n")})
    assert r.status_code == 409
    assert r.json()["detail"]["error"] == "fpga_out_of_service"


def test_bad_inventory_is_a_clear_message_at_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "boards.toml"
    bad.write_text(
        '[[boards]]\nfpga_id = 1\ndriver = "fpga9000"\n\n'
        '[[boards]]\nfpga_id = 1\ndriver = "ecp5_evn"\n'
    )
    env = {**os.environ, "FPGA_CLOUD_INVENTORY": str(bad), "FPGA_CLOUD_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "services.cli", "up"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "fpga9000" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "nats").exists()  # nothing was started


@pytest.mark.slow
async def test_compiled_simulator_travels_through_the_object_store(
    store: EventStore, tmp_path: Path
) -> None:
    source = (REPO / "examples" / "echo_regs.py").read_bytes()
    cache = BuildCache(store.nc)
    lines: list[str] = []

    async def log(stage: str, line: str) -> None:
        lines.append(f"[{stage}] {line}")

    design = Design(source, MIGEN)
    kits = KitStore(KIT_DIR, Sandbox())
    first = await VirtualBoard(1, tmp_path / "host-a", cache=cache, kits=kits).build(
        uuid.uuid4(), design, log
    )
    assert not first.cache_hit and any("[verilator]" in line for line in lines)
    lines.clear()
    # Another host with an empty build directory: the build comes from the bucket.
    other = VirtualBoard(7, tmp_path / "host-b", cache=cache, kits=kits)
    second = await other.build(uuid.uuid4(), design, log)
    assert second.cache_hit and second.artifact == first.artifact
    assert not any("[verilator]" in line or "[elaborate]" in line for line in lines)
    assert any("cache hit" in line for line in lines)
    await other.program(second, log)
    try:
        assert other.programmed()
        await other.write(0, [0x5A5A])
        assert await other.read(0, 1) == [0x5A5A]
    finally:
        await other.close()


@pytest.mark.slow
async def test_a_virtual_board_probe_reads_its_base_soc(tmp_path: Path, sim_kit: Path) -> None:
    """The health probe starts the real base SoC in Verilator and reads its identification
    over UARTBone, then leaves the board stopped; a second probe reuses the built placeholder."""
    board = VirtualBoard(2, tmp_path / "host", kits=KitStore(KIT_DIR, Sandbox()))
    try:
        assert await board.probe() == "hwbridge virtual board"
        assert not board.programmed()
        built = sorted((tmp_path / "host" / "builds" / "virtual").iterdir())
        assert await board.probe() == "hwbridge virtual board"
        assert sorted((tmp_path / "host" / "builds" / "virtual").iterdir()) == built
    finally:
        await board.close()
