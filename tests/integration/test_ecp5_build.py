"""Real ECP5 builds with the yowasp toolchain, and the shared build cache on a real nats-server.

One real build of examples/echo_regs.py (about 15 s, plus ~40 s the first time the yowasp
tools compile; their cache lives in the repository's var/yowasp-cache) is shared by the tests
through a module-scoped fixture. It builds under pytest's /tmp directory on purpose: yowasp
hides the host's /tmp, and the wrappers' YOWASP_MOUNT must make it visible. The design that
does not fit is a second, shorter real run (it stops in placement, ~11 s).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from nats.aio.client import Client as NATS

import hwbridge.build.runner as build_runner
import hwbridge.drivers.ecp5 as ecp5_driver
from events.designs import MIGEN
from events.streams import provision
from hwbridge.build.design import Design
from hwbridge.cache import BuildCache
from hwbridge.drivers.base import BuildError, BuildOutput
from hwbridge.drivers.ecp5 import Ecp5Board
from hwbridge.ecp5.artifact import BitstreamArtifact
from hwbridge.ecp5.build import BuildLimits, DesignBuildError, build_bitstream
from hwbridge.inventory import BoardConfig
from services.nats.server import NatsServer

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

REPO = Path(__file__).resolve().parents[2]
ECHO_REGS = REPO / "examples" / "echo_regs.py"
YOWASP_CACHE = REPO / "var" / "yowasp-cache"
LIMITS = BuildLimits(timeout_s=900)  # a cold yowasp cache on a busy CI machine is slow
CONFIG = BoardConfig(fpga_id=0, driver="ecp5_evn", serial_url="/dev/ttyUSB-not-opened")
TOO_BIG = b"""
from litex.soc.interconnect import wishbone
from migen import If, Memory, Module


class Design(Module):
    def __init__(self):
        self.bus = bus = wishbone.Interface(data_width=32, address_width=32, addressing="word")
        self.size = 0x100000
        # 2**18 x 32 bits = 8 Mbit: the 85k part has 208 block RAMs of 18 kbit (3.7 Mbit).
        mem = Memory(32, 2**18)
        port = mem.get_port(write_capable=True)
        self.specials += mem, port
        self.comb += [
            port.adr.eq(bus.adr[:18]),
            port.dat_w.eq(bus.dat_w),
            port.we.eq(bus.cyc & bus.stb & bus.we & ~bus.ack),
            bus.dat_r.eq(port.dat_r),
        ]
        self.sync += [bus.ack.eq(0), If(bus.cyc & bus.stb & ~bus.ack, bus.ack.eq(1))]
"""


@dataclass
class TimedLog:
    lines: list[tuple[float, str, str]] = field(default_factory=list)

    async def __call__(self, stage: str, line: str) -> None:
        self.lines.append((time.monotonic(), stage, line))

    def stages(self) -> list[str]:
        seen: list[str] = []
        for _, stage, _ in self.lines:
            if stage not in seen:
                seen.append(stage)
        return seen

    def text(self) -> str:
        return "\n".join(line for _, _, line in self.lines)


@dataclass
class Built:
    data_dir: Path
    output: BuildOutput
    artifact: BitstreamArtifact
    log: TimedLog
    finished: float
    cache: BuildCache


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def nats_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[NATS]:
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    await server.start()
    nc = await server.connect()
    await provision(nc.jetstream())
    yield nc
    await nc.drain()
    await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def echo(nats_client: NATS, tmp_path_factory: pytest.TempPathFactory) -> Built:
    data_dir = tmp_path_factory.mktemp("ecp5-a")
    assert str(data_dir).startswith("/tmp/")  # the case yowasp's private /tmp would break
    cache = BuildCache(nats_client)
    board = Ecp5Board(CONFIG, data_dir, cache=cache, limits=LIMITS, yowasp_cache=YOWASP_CACHE)
    log = TimedLog()
    output = await board.build(uuid.uuid4(), Design(ECHO_REGS.read_bytes(), MIGEN), log)
    finished = time.monotonic()
    artifact = BitstreamArtifact.load(data_dir / "builds" / "ecp5_evn" / output.artifact)
    return Built(data_dir, output, artifact, log, finished, cache)


async def test_bitstream_file(echo: Built) -> None:
    data = echo.artifact.path.read_bytes()
    assert echo.artifact.size_bytes == len(data) > 100_000
    # ecppack's layout: 0xFF 0x00, a NUL-terminated comment naming the part, 0xFF, then the
    # preamble 0xFFFF 0xBDB3, and soon after VERIFY_ID (0xE2) with the LFE5UM5G-85F's IDCODE.
    assert data[:2] == b"\xff\x00"
    comment_end = data.index(b"\x00\xff", 2)
    assert data[2:comment_end] == b"Part: LFE5UM5G-85F-8CABGA381"
    assert data[comment_end + 2 : comment_end + 6] == b"\xff\xff\xbd\xb3"
    # 0x81113043 is the LFE5UM5G-85F (the LFE5UM-85F without SERDES-5G would be 0x01113043).
    assert b"\xe2\x00\x00\x00\x81\x11\x30\x43" in data[comment_end : comment_end + 32]


async def test_window_utilisation_and_fmax(echo: Built) -> None:
    art = echo.artifact
    assert (echo.output.window_base, echo.output.window_size) == (0x4000_0000, 0x1000)
    assert not echo.output.cache_hit
    assert 500 < art.utilisation["LUT4"] < 5_000 and art.capacity["LUT4"] == 83_640
    assert 500 < art.utilisation["FF"] < 5_000
    assert art.utilisation["TRELLIS_COMB"] > 0 and art.utilisation["TRELLIS_FF"] > 0
    assert art.utilisation["EHXPLLL"] == 1 and art.utilisation["DP16KD"] == 0
    assert art.target_mhz == 60.0
    assert art.fmax_mhz > art.target_mhz
    assert f"system clock: {art.fmax_mhz:.2f} MHz achieved, 60.00 MHz needed" in echo.log.text()


async def test_log_streams_each_stage_as_it_runs(echo: Built) -> None:
    assert echo.log.stages() == ["build", "elaborate", "yosys", "nextpnr", "ecppack"]
    assert echo.log.lines[0][1:] == ("build", f"design: Migen, {ECHO_REGS.stat().st_size} bytes")
    by_stage = {
        stage: [line for _, s, line in echo.log.lines if s == stage] for stage in echo.log.stages()
    }
    assert any(line.startswith("$ yosys ") for line in by_stage["yosys"])
    assert any("--timing-allow-fail" in line for line in by_stage["nextpnr"])
    assert any(line.startswith("$ ecppack ") for line in by_stage["ecppack"])
    # Streamed, not dumped at the end: yosys' first line came long before the build was done.
    first_yosys = next(t for t, stage, _ in echo.log.lines if stage == "yosys")
    assert echo.finished - first_yosys > 3.0


async def test_second_build_is_a_cache_hit_without_the_toolchain(
    echo: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_toolchain(*args: object, **kwargs: object) -> int:
        raise AssertionError("a cache hit must not start the toolchain")

    # Every way a build could start a process: the phase launcher and the build entry point.
    monkeypatch.setattr(build_runner, "run_build_child", no_toolchain)
    monkeypatch.setattr(ecp5_driver, "build_bitstream", no_toolchain)
    monkeypatch.setenv("PATH", str(tmp_path))  # and no wrapper or tool to find
    source = Design(ECHO_REGS.read_bytes(), MIGEN)

    # Another host: nothing on its disk, the bitstream comes from the fpga-builds bucket.
    other = Ecp5Board(CONFIG, tmp_path / "host-b", cache=echo.cache, limits=LIMITS)
    log = TimedLog()
    output = await other.build(uuid.uuid4(), source, log)
    assert output.stages is not None and set(output.stages) == {"cache"}
    assert dataclasses.replace(output, stages=None) == BuildOutput(
        echo.output.artifact, echo.output.window_base, echo.output.window_size, cache_hit=True,
        utilisation=echo.output.utilisation, fmax_mhz=echo.output.fmax_mhz,
    )  # fmt: skip
    assert output.utilisation is not None and output.utilisation["LUT4"] > 0
    assert "from the fpga-builds bucket" in log.text() and "cache hit" in log.text()
    copy = BitstreamArtifact.load(tmp_path / "host-b" / "builds" / "ecp5_evn" / output.artifact)
    assert copy.path.read_bytes() == echo.artifact.path.read_bytes()
    assert copy.fmax_mhz == echo.artifact.fmax_mhz
    assert (await echo.cache.meta(output.artifact) or {})["board_kind"] == "ecp5_evn"

    # The same host again: its own disk answers.
    same = Ecp5Board(CONFIG, echo.data_dir, cache=echo.cache, limits=LIMITS)
    log = TimedLog()
    assert (await same.build(uuid.uuid4(), source, log)).cache_hit
    assert "cache hit: bitstream" in log.text() and "on this host" in log.text()


async def test_design_that_does_not_fit(tmp_path: Path) -> None:
    log = TimedLog()
    with pytest.raises(DesignBuildError) as caught:
        await build_bitstream(TOO_BIG, tmp_path / "big", log, limits=LIMITS, cache_dir=YOWASP_CACHE)
    assert caught.value.kind == "fit"
    assert caught.value.reason == "design does not fit the LFE5UM5G-85F: needs DP16KD 512/208"
    assert "ecppack" not in log.stages()
    assert log.lines[-1][1:] == ("build", f"build failed: {caught.value.reason}")


async def test_failing_design_is_a_build_error(tmp_path: Path) -> None:
    board = Ecp5Board(CONFIG, tmp_path, limits=LIMITS, yowasp_cache=YOWASP_CACHE)
    log = TimedLog()
    with pytest.raises(BuildError, match=r"design\.py raised RuntimeError: boom"):
        await board.build(uuid.uuid4(), Design(b"raise RuntimeError('boom')\n", MIGEN), log)
    assert log.stages() == ["build", "elaborate"]
    assert not list((tmp_path / "builds" / "ecp5_evn").iterdir())  # no scratch left behind


def _processes_in(directory: Path) -> list[int]:
    """Pids whose working directory is inside ``directory`` (the toolchain runs in there)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cwd = (proc / "cwd").resolve()
            except OSError:
                continue
            if cwd.is_relative_to(directory):
                found.append(int(proc.name))
    return found


async def test_timeout_kills_every_tool(tmp_path: Path) -> None:
    log = TimedLog()
    out = tmp_path / "slow"
    with pytest.raises(DesignBuildError) as caught:
        await build_bitstream(
            ECHO_REGS.read_bytes(),
            out,
            log,
            limits=BuildLimits(timeout_s=6.0),
            cache_dir=YOWASP_CACHE,
        )
    assert caught.value.kind == "timeout"
    assert caught.value.reason.startswith("build timed out after 6 s (in the ")
    assert "yosys" in log.stages()  # it was killed while a tool ran, not before
    # SIGKILL is sent to the whole group at once; give the kernel a moment to reap them.
    deadline = time.monotonic() + 5
    while _processes_in(out.resolve()) and time.monotonic() < deadline:  # noqa: ASYNC110 - polling /proc
        await asyncio.sleep(0.05)
    assert _processes_in(out.resolve()) == []


@pytest.mark.parametrize(
    ("name", "language"),
    [("counter.py", "migen"), ("mac.py", "migen"), ("scratchpad.py", "amaranth"),
     ("crc32.v", "verilog")],
)  # fmt: skip
async def test_every_other_example_builds_to_a_bitstream(
    tmp_path: Path, name: str, language: str
) -> None:
    """echo_regs.py is built by the shared fixture; these are the rest of examples/, in every
    language."""
    log = TimedLog()
    source = (REPO / "examples" / name).read_bytes()
    art = await build_bitstream(source, tmp_path / "build", log, limits=LIMITS,
                                cache_dir=YOWASP_CACHE, language=language)  # fmt: skip
    assert art.path.read_bytes()[:2] == b"\xff\x00" and art.size_bytes > 100_000
    assert art.fmax_mhz >= art.target_mhz
    assert art.utilisation["LUT4"] > 0
