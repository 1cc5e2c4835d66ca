"""Fast checks of the design contract, the build child's error reporting and artifact loading.

No Verilator here: designs are checked as Python objects, and the build child is only run on
designs that fail before LiteX elaborates anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from litex.soc.interconnect import wishbone
from migen import Module, Signal

from hwbridge.virtual import elaborate
from hwbridge.virtual.artifact import SimArtifact
from hwbridge.virtual.soc import (
    DEFAULT_WINDOW_SIZE,
    USER_WINDOW_BASE,
    DesignContractError,
    check_design,
    check_window_size,
)


def _design(**attrs: object) -> Module:
    design = Module()
    for name, value in attrs.items():
        setattr(design, name, value)
    return design


def _bus(**kwargs: object) -> wishbone.Interface:
    params: dict[str, object] = {"data_width": 32, "address_width": 32, "addressing": "word"}
    params.update(kwargs)
    return wishbone.Interface(**params)


def test_window_base_is_aligned_for_every_size() -> None:
    assert USER_WINDOW_BASE % (16 * 1024 * 1024) == 0


def test_good_design_defaults_to_4k_window() -> None:
    assert check_design(_design(bus=_bus())) == DEFAULT_WINDOW_SIZE == 0x1000


@pytest.mark.parametrize("size", [4, 0x100, 0x1000, 16 * 1024 * 1024])
def test_good_sizes(size: int) -> None:
    assert check_design(_design(bus=_bus(), size=size)) == size


@pytest.mark.parametrize(
    ("size", "fragment"),
    [
        (0, "between"),
        (2, "between"),
        (32 * 1024 * 1024, "between"),
        (0x1800, "power of two"),
        (True, "int"),
        ("0x1000", "int"),
        (4096.0, "int"),
    ],
)
def test_bad_sizes(size: object, fragment: str) -> None:
    with pytest.raises(DesignContractError, match=fragment):
        check_window_size(size)


def test_not_a_module() -> None:
    class Design:
        bus = _bus()

    with pytest.raises(DesignContractError, match="Module"):
        check_design(Design())


def test_missing_bus() -> None:
    with pytest.raises(DesignContractError, match="no 'bus' attribute"):
        check_design(_design())


def test_bus_of_wrong_type() -> None:
    with pytest.raises(DesignContractError, match=r"wishbone\.Interface"):
        check_design(_design(bus=Signal(32)))


def test_bus_data_width() -> None:
    with pytest.raises(DesignContractError, match="data_width=32"):
        check_design(_design(bus=_bus(data_width=16)))


def test_bus_byte_addressing() -> None:
    with pytest.raises(DesignContractError, match='addressing="word"'):
        check_design(_design(bus=_bus(addressing="byte")))


def test_bus_address_width() -> None:
    with pytest.raises(DesignContractError, match="address_width=32"):
        check_design(_design(bus=_bus(address_width=16)))


def _run_child(tmp_path: Path, source: str) -> int:
    design_py = tmp_path / "design.py"
    design_py.write_text(source)
    return elaborate.run(design_py, tmp_path)


def test_child_reports_user_frames_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "def helper():\n    return undefined_name\n\nhelper()\n"
    assert _run_child(tmp_path, source) == elaborate.EXIT_DESIGN
    err = capsys.readouterr().err
    assert 'design.py", line 4' in err and 'design.py", line 2' in err
    assert "NameError: name 'undefined_name' is not defined" in err
    assert "importlib" not in err and "elaborate.py" not in err
    assert f"{elaborate.ERROR_MARKER} design.py raised NameError" in err


def test_child_reports_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_child(tmp_path, "class Design(:\n") == elaborate.EXIT_DESIGN
    assert "design.py raised SyntaxError" in capsys.readouterr().err


def test_child_requires_design_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_child(tmp_path, "X = 1\n") == elaborate.EXIT_DESIGN
    assert "no class named 'Design'" in capsys.readouterr().err


def test_child_reports_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "from migen import Module\n\nclass Design(Module):\n    pass\n"
    assert _run_child(tmp_path, source) == elaborate.EXIT_DESIGN
    assert "design contract violated: Design has no 'bus'" in capsys.readouterr().err


def test_child_usage() -> None:
    assert elaborate.main([]) == elaborate.EXIT_USAGE


def test_artifact_roundtrip_and_incomplete(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SimArtifact.load(tmp_path)
    artifact = SimArtifact(path=tmp_path, window_base=USER_WINDOW_BASE, window_size=0x1000)
    artifact.save()
    with pytest.raises(FileNotFoundError, match="Vsim"):
        SimArtifact.load(tmp_path)
    for name in ("obj_dir/Vsim", "modules/serial2tcp_nodelay.so", "sim_config.js"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert SimArtifact.load(tmp_path) == artifact
    (tmp_path / "artifact.json").write_text('{"window_base": 1}')
    with pytest.raises(ValueError, match="malformed"):
        SimArtifact.load(tmp_path)
