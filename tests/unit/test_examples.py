"""The example designs, driven over their Wishbone bus in migen's Python simulator."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from migen.sim import run_simulation

from hwbridge.build.contract import USER_WINDOW_BASE
from hwbridge.build.frontends.migen import check_design

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The slave sees full system word addresses; drive it the way the SoC does.
WINDOW_WORD = USER_WINDOW_BASE >> 2

Gen = Generator[Any, Any, Any]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name: str, body: Callable[[Any], Gen]) -> None:
    design = _load(name).Design()
    run_simulation(design, body(design.bus))


def _wr(bus: Any, offset: int, value: int) -> Gen:
    yield from bus.write(WINDOW_WORD + offset // 4, value)


def _rd(bus: Any, offset: int) -> Gen:
    value = yield from bus.read(WINDOW_WORD + offset // 4)
    return value


@pytest.mark.parametrize("name", ["echo_regs", "counter", "mac"])
def test_examples_follow_contract(name: str) -> None:
    assert check_design(_load(name).Design()) == 0x1000


def test_echo_regs() -> None:
    seen: list[int] = []

    def body(bus: Any) -> Gen:
        for i in range(16):
            yield from _wr(bus, 4 * i, 0x1000_0000 + i * 0x0101)
        for i in reversed(range(16)):
            seen.append((yield from _rd(bus, 4 * i)))
        # Only the low four word-address bits are decoded: offset 0x40 aliases register 0.
        seen.append((yield from _rd(bus, 0x40)))
        # Byte lanes: only byte 1 is written.
        yield from bus.write(WINDOW_WORD + 2, 0xAABBCCDD, sel=0b0010)
        seen.append((yield from _rd(bus, 8)))

    _run("echo_regs", body)
    assert seen[:16] == [0x1000_0000 + i * 0x0101 for i in reversed(range(16))]
    assert seen[16] == 0x1000_0000
    assert seen[17] == (0x1000_0202 & ~0xFF00) | 0xCC00


def test_counter() -> None:
    seen: dict[str, int] = {}

    def body(bus: Any) -> Gen:
        first = yield from _rd(bus, 0x00)
        second = yield from _rd(bus, 0x00)
        seen["running"] = int(second > first)
        yield from _wr(bus, 0x04, 0b10)  # clear and stop
        seen["stopped_a"] = yield from _rd(bus, 0x00)
        seen["stopped_b"] = yield from _rd(bus, 0x00)
        seen["control"] = yield from _rd(bus, 0x04)
        yield from _wr(bus, 0x08, 10)  # step
        yield from _wr(bus, 0x0C, 50)  # compare
        yield from _wr(bus, 0x04, 0b11)  # clear and run
        for _ in range(20):
            yield
        seen["count"] = yield from _rd(bus, 0x00)
        seen["match"] = yield from _rd(bus, 0x10)
        yield from _wr(bus, 0x04, 0)
        yield from _wr(bus, 0x10, 1)
        seen["match_cleared"] = yield from _rd(bus, 0x10)
        yield from _wr(bus, 0x00, 1234)
        seen["loaded"] = yield from _rd(bus, 0x00)
        seen["step"] = yield from _rd(bus, 0x08)

    _run("counter", body)
    assert seen["running"] == 1
    assert seen["stopped_a"] == seen["stopped_b"] == 0
    assert seen["control"] == 0
    assert seen["count"] > 50 and seen["count"] % 10 == 0
    assert seen["match"] == 1 and seen["match_cleared"] == 0
    assert seen["loaded"] == 1234 and seen["step"] == 10


def test_mac() -> None:
    seen: dict[str, int] = {}

    def body(bus: Any) -> Gen:
        yield from _wr(bus, 0x00, 3)
        yield from _wr(bus, 0x04, 7)
        yield from _wr(bus, 0x08, 0)
        yield from _wr(bus, 0x08, 0)
        seen["acc"] = yield from _rd(bus, 0x0C)
        seen["count"] = yield from _rd(bus, 0x08)
        yield from _wr(bus, 0x00, 0xFFFF_FFFF)
        yield from _wr(bus, 0x04, 0xFFFF_FFFF)
        yield from _wr(bus, 0x08, 0)
        seen["lo"] = yield from _rd(bus, 0x0C)
        seen["hi"] = yield from _rd(bus, 0x14)
        seen["a"] = yield from _rd(bus, 0x00)
        yield from _wr(bus, 0x10, 0)
        seen["cleared_lo"] = yield from _rd(bus, 0x0C)
        seen["cleared_hi"] = yield from _rd(bus, 0x14)
        seen["cleared_count"] = yield from _rd(bus, 0x08)

    _run("mac", body)
    assert seen["acc"] == 42 and seen["count"] == 2
    total = 42 + 0xFFFF_FFFF * 0xFFFF_FFFF
    assert seen["lo"] == total & 0xFFFF_FFFF and seen["hi"] == total >> 32
    assert seen["a"] == 0xFFFF_FFFF
    assert seen["cleared_lo"] == seen["cleared_hi"] == seen["cleared_count"] == 0
