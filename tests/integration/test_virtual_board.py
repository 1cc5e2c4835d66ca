"""Virtual boards end to end: build with Verilator, run, drive over UARTBone with pyserial.

Each build takes ~10-20 s, so every example is built once per module and shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from hwbridge.virtual import simulator
from hwbridge.virtual.build import BuildLimits, DesignBuildError, SimArtifact, build_sim
from hwbridge.virtual.constants import SYS_CLK_FREQ
from hwbridge.virtual.simulator import Simulation, SimulationError
from tests.buildlog import Log

pytestmark = pytest.mark.slow

#: The virtual boards' kit (the session's ``sim_kit``), for the module's helpers.
KIT = Path()


@pytest.fixture(autouse=True, scope="module")
def _kit(sim_kit: Path) -> None:
    global KIT
    KIT = sim_kit


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WINDOW = 0x4000_0000
SCRATCH = 0x4
CMD_WRITE, CMD_READ, CMD_WRITE_FIXED = 0x01, 0x02, 0x03


# --- a minimal UARTBone client ---------------------------------------------------------------


def open_board(url: str) -> serial.SerialBase:
    ser = serial.serial_for_url(url, timeout=2.0)
    # pyserial's socket:// handler leaves Nagle on; a frame must not be held back.
    ser._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ser


def frame(cmd: int, byte_addr: int, count: int, words: list[int] | None = None) -> bytes:
    head = bytes([cmd, count]) + (byte_addr >> 2).to_bytes(4, "big")
    return head + b"".join(w.to_bytes(4, "big") for w in words or [])


def read(ser: serial.SerialBase, byte_addr: int, count: int = 1) -> list[int]:
    ser.write(frame(CMD_READ, byte_addr, count))
    data = ser.read(4 * count)
    assert len(data) == 4 * count, f"short reply: {len(data)} of {4 * count} bytes"
    return [int.from_bytes(data[i : i + 4], "big") for i in range(0, len(data), 4)]


def write(ser: serial.SerialBase, byte_addr: int, words: list[int]) -> None:
    ser.write(frame(CMD_WRITE, byte_addr, len(words), words))


# --- fixtures -------------------------------------------------------------------------------


def _build(example: str, out_dir: Path) -> tuple[SimArtifact, Log]:
    log = Log()
    start = time.monotonic()
    artifact = asyncio.run(
        build_sim((EXAMPLES / f"{example}.py").read_bytes(), out_dir, log, kit=KIT)
    )
    print(f"\n[measure] build {example}: {time.monotonic() - start:.1f} s wall")
    return artifact, log


@contextlib.contextmanager
def running(artifact: SimArtifact, run_dir: Path) -> Iterator[Simulation]:
    sim = asyncio.run(Simulation.start(artifact, run_dir))
    try:
        yield sim
    finally:
        asyncio.run(sim.stop())


@pytest.fixture(scope="module")
def echo_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimArtifact, Log]:
    return _build("echo_regs", tmp_path_factory.mktemp("echo_build"))


@pytest.fixture(scope="class")
def echo_sim(
    echo_build: tuple[SimArtifact, Log], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Simulation]:
    with running(echo_build[0], tmp_path_factory.mktemp("echo_run")) as sim:
        yield sim


# --- the echo board -------------------------------------------------------------------------


class TestEchoBoard:
    """One running echo board, stopped before the other examples build (it spins a core)."""

    def test_build_streams_stages(self, echo_build: tuple[SimArtifact, Log]) -> None:
        artifact, log = echo_build
        stages = {stage for stage, _ in log.lines}
        assert {"elaborate", "verilator"} <= stages
        assert not any("::hwbridge-" in line for _, line in log.lines)
        assert SimArtifact.load(artifact.path) == artifact
        assert (artifact.window_base, artifact.window_size) == (WINDOW, 0x1000)

    def test_health_probe(self, echo_sim: Simulation) -> None:
        assert echo_sim.url == f"socket://127.0.0.1:{echo_sim.port}"
        with open_board(echo_sim.url) as ser:
            assert read(ser, SCRATCH) == [0x12345678]

    def test_unmapped_read_does_not_hang(self, echo_sim: Simulation) -> None:
        with open_board(echo_sim.url) as ser:
            # Nothing decodes 0x20000000: the bus timeout answers with all ones.
            assert read(ser, 0x2000_0000) == [0xFFFF_FFFF]
            assert read(ser, SCRATCH) == [0x12345678]

    def test_write_then_read_back(self, echo_sim: Simulation) -> None:
        values = [0xDEAD_0000 + i for i in range(16)]
        with open_board(echo_sim.url) as ser:
            write(ser, WINDOW, values)
            assert read(ser, WINDOW, 16) == values
            write(ser, WINDOW + 0x14, [0xCAFEF00D])
            assert read(ser, WINDOW + 0x14) == [0xCAFEF00D]
            # 255-word burst: the 16 registers repeat every 0x40 bytes.
            burst = read(ser, WINDOW, 255)
            assert burst[16:32] == burst[:16] and burst[5] == 0xCAFEF00D

    def test_many_frames_in_one_write(self, echo_sim: Simulation) -> None:
        with open_board(echo_sim.url) as ser:
            writes = b"".join(frame(CMD_WRITE, WINDOW + 8, 1, [i]) for i in range(20_000))
            ser.write(writes + frame(CMD_READ, WINDOW + 8, 1))
            assert ser.read(4) == (19_999).to_bytes(4, "big")
            ser.write(frame(CMD_READ, SCRATCH, 1) * 500)
            assert ser.read(2000) == (0x12345678).to_bytes(4, "big") * 500

    def test_disconnect_mid_burst_and_reconnect(self, echo_sim: Simulation) -> None:
        ser = open_board(echo_sim.url)
        ser.write(frame(CMD_READ, WINDOW, 255) * 8)
        ser.close()
        with open_board(echo_sim.url) as ser:
            assert read(ser, SCRATCH) == [0x12345678]
            # Half a write frame, then gone: the bridge must not take the next client's bytes as
            # the rest of it.
            ser.write(frame(CMD_WRITE, WINDOW, 4)[:6] + b"\x01\x02")
        with open_board(echo_sim.url) as ser:
            assert read(ser, SCRATCH) == [0x12345678]
        assert echo_sim.alive()

    def test_new_client_replaces_old(self, echo_sim: Simulation) -> None:
        old = open_board(echo_sim.url)
        try:
            old.write(frame(CMD_READ, WINDOW, 255) * 4)
            with open_board(echo_sim.url) as new:
                assert read(new, SCRATCH) == [0x12345678]
                write(new, WINDOW + 0x3C, [7])
                assert read(new, WINDOW + 0x3C) == [7]
        finally:
            old.close()
        assert echo_sim.alive()

    def test_round_trip_time(self, echo_sim: Simulation) -> None:
        with open_board(echo_sim.url) as ser:
            read(ser, SCRATCH)
            samples = []
            for _ in range(2000):
                t0 = time.perf_counter()
                read(ser, SCRATCH)
                samples.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            read(ser, WINDOW, 255)
            burst = time.perf_counter() - t0
        median = statistics.median(samples) * 1e3
        p99 = sorted(samples)[int(0.99 * len(samples))] * 1e3
        print(
            f"\n[measure] one-word read: median {median:.3f} ms, p99 {p99:.3f} ms; 255-word read "
            f"{burst * 1e3:.2f} ms"
        )
        assert median < 5.0


def test_two_instances_share_one_build(echo_build: tuple[SimArtifact, Log], tmp_path: Path) -> None:
    async def both() -> None:
        a = await Simulation.start(echo_build[0], tmp_path / "a")
        b = await Simulation.start(echo_build[0], tmp_path / "b")
        try:
            assert a.port != b.port
            with open_board(a.url) as sa, open_board(b.url) as sb:
                write(sa, WINDOW, [1])
                write(sb, WINDOW, [2])
                assert read(sa, WINDOW) == [1] and read(sb, WINDOW) == [2]
        finally:
            await a.stop()
            await b.stop()
        assert not a.alive() and not b.alive()
        await a.stop()  # idempotent

    asyncio.run(both())
    assert (tmp_path / "a" / "sim.log").read_text().count("listening on 127.0.0.1") == 1


def test_port_in_use(
    echo_build: tuple[SimArtifact, Log], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(SimulationError, match="code 255"):
            asyncio.run(Simulation.start(echo_build[0], tmp_path / "fixed", port=busy))
        # Auto-picked port taken between picking and binding: retried with another one.
        ports = iter([busy])
        real_free_port = simulator._free_port
        monkeypatch.setattr(simulator, "_free_port", lambda: next(ports, None) or real_free_port())
        sim = asyncio.run(Simulation.start(echo_build[0], tmp_path / "auto"))
        try:
            assert sim.port != busy and sim.alive()
        finally:
            asyncio.run(sim.stop())


# --- the other examples ---------------------------------------------------------------------


def test_mac_board(tmp_path: Path) -> None:
    built, _ = _build("mac", tmp_path / "build")
    # Artifacts are relocatable: the service builds in a scratch directory, then renames it.
    inner = built.path.relative_to(tmp_path / "build")
    (tmp_path / "build").rename(tmp_path / "moved")
    artifact = SimArtifact.load(tmp_path / "moved" / inner)
    with running(artifact, tmp_path / "run") as sim:
        with open_board(sim.url) as ser:
            write(ser, WINDOW + 0x00, [3])
            write(ser, WINDOW + 0x04, [7])
            # Two words to one fixed address: two accumulations.
            ser.write(frame(CMD_WRITE_FIXED, WINDOW + 0x08, 2, [0, 0]))
            assert read(ser, WINDOW + 0x08, 2) == [2, 42]
            write(ser, WINDOW, [0xFFFF_FFFF, 0xFFFF_FFFF, 0])
            total = 42 + 0xFFFF_FFFF**2
            assert read(ser, WINDOW + 0x0C) == [total & 0xFFFF_FFFF]
            assert read(ser, WINDOW + 0x14) == [total >> 32]
            write(ser, WINDOW + 0x10, [0])
            assert read(ser, WINDOW + 0x08, 2) == [0, 0]


def test_an_idle_board_keeps_its_nominal_pace(tmp_path: Path) -> None:
    """Between two reads a known wall time apart the counter advanced by the nominal clock rate:
    the simulation is held to it while idle (and ran flat out only during the reads)."""
    artifact, _ = _build("counter", tmp_path / "build")
    with running(artifact, tmp_path / "run") as sim, open_board(sim.url) as ser:
        first, started = read(ser, WINDOW)[0], time.monotonic()
        time.sleep(2.0)
        second, took = read(ser, WINDOW)[0], time.monotonic() - started
    rate = (second - first) / took
    assert 0.6 * SYS_CLK_FREQ < rate < 1.4 * SYS_CLK_FREQ, rate


def test_counter_board(tmp_path: Path) -> None:
    artifact, _ = _build("counter", tmp_path / "build")
    with running(artifact, tmp_path / "run") as sim:
        with open_board(sim.url) as ser:
            a, b = read(ser, WINDOW), read(ser, WINDOW)
            assert b[0] > a[0]  # free-running
            write(ser, WINDOW + 0x04, [0b10])  # clear and stop
            assert read(ser, WINDOW) == [0] and read(ser, WINDOW + 0x04) == [0]
            write(ser, WINDOW + 0x08, [5])
            write(ser, WINDOW + 0x0C, [500])
            write(ser, WINDOW + 0x04, [0b11])
            time.sleep(0.01)
            assert read(ser, WINDOW + 0x10) == [1]
            assert read(ser, WINDOW)[0] % 5 == 0


# --- builds that fail -----------------------------------------------------------------------


async def _fail(
    tmp_path: Path, source: str, limits: BuildLimits | None = None
) -> tuple[DesignBuildError, Log]:
    log = Log()
    with pytest.raises(DesignBuildError) as info:
        await build_sim(
            source.encode(), tmp_path / "out", log, limits=limits or BuildLimits(), kit=KIT
        )
    return info.value, log


async def test_design_raises_at_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://secret-host:4222")
    source = (
        "import os\nprint('env:', sorted(os.environ))\ndef make():\n    return 1 / zero\nmake()\n"
    )
    err, log = await _fail(tmp_path, source)
    assert err.kind == "design"
    assert err.reason == "design.py raised NameError: name 'zero' is not defined at line 4"
    text = log.text()
    assert 'design.py", line 5' in text and 'design.py", line 4' in text
    assert "hwbridge/" not in text  # no frames of ours
    assert "NATS_URL" not in text and "env: [" in text


async def test_design_loops_forever(tmp_path: Path) -> None:
    start = time.monotonic()
    err, log = await _fail(tmp_path, "while True:\n    pass\n", BuildLimits(timeout_s=4.0))
    elapsed = time.monotonic() - start
    assert err.kind == "timeout" and "timed out after 4 s" in err.reason
    assert elapsed < 8.0
    assert ("build", err.reason) in log.lines


async def test_design_without_bus(tmp_path: Path) -> None:
    source = "from migen import Module\n\nclass Design(Module):\n    size = 0x1000\n"
    err, _ = await _fail(tmp_path, source)
    assert err.kind == "design"
    assert "Design has no 'bus' attribute" in err.reason


_BAD_RTL = """
from litex.soc.interconnect import wishbone
from migen import Instance, Module, Signal



class Design(Module):
    def __init__(self):
        self.bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
        x = Signal(4)
        self.comb += x.eq(self.bus.adr)
        {line}
"""


async def test_design_that_cannot_elaborate(tmp_path: Path) -> None:
    source = _BAD_RTL.format(line="self.sync.nodomain += self.bus.dat_r.eq(x)")
    err, log = await _fail(tmp_path, source)
    assert err.kind == "elaborate"
    assert "Unresolved clock domain nodomain" in err.reason
    assert "none is in design.py" in log.text()


async def test_design_that_verilator_rejects(tmp_path: Path) -> None:
    source = _BAD_RTL.format(line="self.specials += Instance('does_not_exist', i_a=x)")
    err, log = await _fail(tmp_path, source)
    assert err.kind == "compile"
    assert err.reason.startswith("Verilator build failed: user_design.v:")
    assert "Cannot find file containing module: 'does_not_exist'" in err.reason
    assert any(stage == "verilator" and "%Error" in line for stage, line in log.lines)


async def test_design_eats_memory(tmp_path: Path) -> None:
    err, _ = await _fail(tmp_path, "hog = bytearray(1 << 31)\n", BuildLimits(memory_bytes=1 << 30))
    assert err.reason == (
        "design.py raised MemoryError at line 1 (the build's memory limit is 1024 MiB)"
    )


async def test_out_dir_is_single_use(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "design.py").write_text("")
    with pytest.raises(ValueError, match="already holds a build"):
        await build_sim(b"", tmp_path / "out", Log(), kit=KIT)
    assert os.listdir(tmp_path / "out") == ["design.py"]
