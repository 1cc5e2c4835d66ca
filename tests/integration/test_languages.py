"""Every language through the one pipeline, on real virtual boards: Migen, Amaranth, Verilog.

The same echo register file written in each language answers the same reads to the same
writes; the examples do what their register maps say; ``top`` picks the module or class; and
each kind of broken design ends as a failed build whose reason a designer can act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwbridge.build.contract import USER_WINDOW_BASE as W
from hwbridge.uartbone import UARTBoneClient
from hwbridge.virtual.build import DesignBuildError, SimArtifact, build_sim
from hwbridge.virtual.simulator import Simulation
from tests.buildlog import Log

#: The virtual boards' kit (the session's ``sim_kit``), for the module's helpers.
KIT = Path()


@pytest.fixture(autouse=True, scope="module")
def _kit(sim_kit: Path) -> None:
    global KIT
    KIT = sim_kit


pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLES, DESIGNS = REPO / "examples", REPO / "tests" / "designs"
TOOLS = REPO / "var" / "yowasp-cache"
ECHOES = {
    "migen": EXAMPLES / "echo_regs.py",
    "amaranth": DESIGNS / "echo_regs_amaranth.py",
    "verilog": DESIGNS / "echo_regs.v",
}


def build(source: bytes, out: Path, language: str, top: str | None = None) -> SimArtifact:
    return asyncio.run(
        build_sim(source, out, Log(), language=language, top=top, tools_cache=TOOLS, kit=KIT)
    )


def failure(source: bytes, out: Path, language: str, top: str | None = None) -> DesignBuildError:
    log = Log()
    with pytest.raises(DesignBuildError) as caught:
        asyncio.run(
            build_sim(source, out, log, language=language, top=top, tools_cache=TOOLS, kit=KIT)
        )
    assert ("build", f"build failed: {caught.value.reason}") in log.lines
    return caught.value


class Board:
    """A running simulation of one build, driven over UARTBone."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.link = UARTBoneClient(sim.url, timeout=2.0)
        self.link.open()

    def read(self, offset: int, count: int = 1) -> list[int]:
        return self.link.read(W + offset, count)

    def write(self, offset: int, words: list[int]) -> None:
        self.link.write(W + offset, words)


@contextlib.contextmanager
def running(artifact: SimArtifact, run_dir: Path) -> Iterator[Board]:
    sim = asyncio.run(Simulation.start(artifact, run_dir))
    board = Board(sim)
    try:
        yield board
    finally:
        board.link.close()
        asyncio.run(sim.stop())


@pytest.fixture(scope="module")
def echoes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SimArtifact]:
    return {
        language: build(path.read_bytes(), tmp_path_factory.mktemp(language), language)
        for language, path in ECHOES.items()
    }


def test_one_register_file_in_three_languages_answers_alike(
    echoes: dict[str, SimArtifact], tmp_path: Path
) -> None:
    rng = random.Random(7)
    writes = [(4 * rng.randrange(16), [rng.getrandbits(32) for _ in range(rng.randrange(1, 5))])
              for _ in range(20)]  # fmt: skip
    answers = {}
    for language, artifact in echoes.items():
        assert artifact.window_size == 0x1000, language
        with running(artifact, tmp_path / language) as board:
            for offset, words in writes:
                board.write(offset, words[: (0x40 - offset) // 4])
            answers[language] = board.read(0, 16) + board.read(0x40, 16)
    assert answers["migen"] == answers["amaranth"] == answers["verilog"]
    assert answers["migen"][:16] == answers["migen"][16:]  # they repeat every 0x40 bytes


def test_a_512_word_burst_through_a_2k_amaranth_region(tmp_path: Path) -> None:
    artifact = build((EXAMPLES / "scratchpad.py").read_bytes(), tmp_path / "b", "amaranth")
    assert artifact.window_size == 2048
    with running(artifact, tmp_path / "run") as board:
        assert board.read(0, 512) == list(range(512))  # the RAM's initial contents
        words = [random.getrandbits(32) for _ in range(512)]
        board.write(0, words)
        assert board.read(0, 512) == words


def test_the_verilog_crc32_example_agrees_with_zlib(tmp_path: Path) -> None:
    artifact = build((EXAMPLES / "crc32.v").read_bytes(), tmp_path / "b", "verilog")
    assert artifact.window_size == 128
    with running(artifact, tmp_path / "run") as board:
        board.write(0x00, [1])
        board.write(0x40, [0x34333231, 0x38373635])  # "12345678"
        board.write(0x10, [0x39])  # "9"
        assert board.read(0x08) == [zlib.crc32(b"123456789")] == [0xCBF43926]
        assert board.read(0x0C) == [9]
        data = random.randbytes(64 * 5)
        board.write(0x00, [1])
        for i in range(0, len(data), 64):
            chunk = data[i : i + 64]
            board.write(0x40, [int.from_bytes(chunk[j : j + 4], "little") for j in range(0, 64, 4)])
        assert board.read(0x08) == [zlib.crc32(data)]


def test_top_names_the_module_or_class(tmp_path: Path) -> None:
    verilog = (DESIGNS / "echo_regs.v").read_text().replace("user_design", "my_regs")
    renamed = build(verilog.encode(), tmp_path / "v", "verilog", top="my_regs")
    two = (
        DESIGNS / "echo_regs_amaranth.py"
    ).read_text() + "\n\nclass Spare(UserDesign):\n    pass\n"
    picked = build(two.encode(), tmp_path / "a", "amaranth", top="Spare")
    for artifact, where in ((renamed, "rv"), (picked, "ra")):
        with running(artifact, tmp_path / where) as board:
            board.write(0x8, [0xC0FFEE])
            assert board.read(0x8) == [0xC0FFEE]


VERILOG_ECHO = (DESIGNS / "echo_regs.v").read_text()
AMARANTH_ECHO = (DESIGNS / "echo_regs_amaranth.py").read_text()
LOOP = """module user_design(input clk, input rst, input wb_cyc, input wb_stb, input wb_we,
  input [8:0] wb_adr, input [31:0] wb_dat_w, input [3:0] wb_sel, output [31:0] wb_dat_r,
  output wb_ack);
  wire a, b;
  assign a = b ^ wb_cyc;
  assign b = a;
  assign wb_ack = a;
  assign wb_dat_r = 32'd0;
endmodule
"""
NARROW = AMARANTH_ECHO.replace("self.wb_dat_w = Signal(32)", "self.wb_dat_w = Signal(8)")
TWO_TOPS = AMARANTH_ECHO.replace("class UserDesign", "class Regs") + (
    "\n\nclass Other(Regs):\n    pass\n"
)
NO_TOP = """from amaranth import *


class Helper(Elaboratable):
    def elaborate(self, platform):
        return Module()
"""
BROKEN = {
    "v-syntax": ("verilog", VERILOG_ECHO.replace("clk,", "clk"), "design", "design.v:4: syntax"),
    "v-missing-port": (
        "verilog",
        VERILOG_ECHO.replace("    input  wire [3:0]  wb_sel,\n", "").replace("if (wb_sel[b]) ", ""),
        "design",
        "module user_design has no port wb_sel; expected ports: input clk, input rst",
    ),
    "v-width": (
        "verilog",
        VERILOG_ECHO.replace("wire [31:0] wb_dat_w", "wire [15:0] wb_dat_w"),
        "design",
        "port wb_dat_w of module user_design is 16 bit(s) wide; the contract needs 32",
    ),
    "v-no-module": (
        "verilog",
        VERILOG_ECHO.replace("module user_design", "module regs"),
        "design",
        "no module named user_design in design.v (modules: regs)",
    ),
    "v-comb-loop": ("verilog", LOOP, "compile", "combinational loop through a (design.v:"),
    "a-width": (
        "amaranth",
        NARROW,
        "design",
        "UserDesign.wb_dat_w is 8 bit(s) wide; the contract needs 32",
    ),
    "a-several": (
        "amaranth",
        TWO_TOPS,
        "design",
        "several Elaboratables in design.py have the Wishbone signals (Other, Regs)",
    ),
    "a-none": ("amaranth", NO_TOP, "design", "no Elaboratable in design.py has the Wishbone"),
    "a-syntax": (
        "amaranth",
        "from amaranth import *\nclass UserDesign(Elaboratable)\n",
        "design",
        "design.py raised SyntaxError: expected ':' (design.py, line 2)",
    ),
}


@pytest.mark.parametrize(("language", "source", "kind", "reason"), BROKEN.values(), ids=BROKEN)
def test_broken_designs_fail_with_a_reason(
    tmp_path: Path, language: str, source: str, kind: str, reason: str
) -> None:
    err = failure(source.encode(), tmp_path / "b", language)
    assert err.kind == kind
    assert reason in err.reason, err.reason
    assert "\n" not in err.reason and str(tmp_path) not in err.reason
