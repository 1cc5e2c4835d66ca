"""Fast checks of the design contract in every language: what is accepted, what is refused and
how the refusal reads, the generated wrapper, the netlist file and the packed artifact.

No Verilator compile here: Migen designs are checked as Python objects, the build child runs
only on designs that fail before anything is built, and Verilog is only parsed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from litex.soc.interconnect import wishbone
from migen import Module, Signal

from events.designs import AMARANTH, MIGEN, SYSTEMVERILOG, VERILOG, check_top, detect_language
from hwbridge.build import protocol
from hwbridge.build.contract import (
    CLASSIC,
    DEFAULT_WINDOW_SIZE,
    USER_WINDOW_BASE,
    Port,
    check_ports,
    check_window_size,
    window_size,
)
from hwbridge.build.frontends import migen as migen_frontend
from hwbridge.build.frontends.migen import ContractError, check_design
from hwbridge.build.frontends.verilog import VerilogError, discover, tidy
from hwbridge.build.netlist import Netlist
from hwbridge.build.wrapper import wrapper_verilog
from hwbridge.virtual.artifact import REQUIRED_FILES, SimArtifact

DESIGNS = Path(__file__).resolve().parents[1] / "designs"
needs_verilator = pytest.mark.skipif(shutil.which("verilator") is None, reason="no verilator")


def _design(**attrs: object) -> Module:
    design = Module()
    for name, value in attrs.items():
        setattr(design, name, value)
    return design


def _bus(**kwargs: object) -> wishbone.Interface:
    params: dict[str, object] = {"data_width": 32, "address_width": 32, "addressing": "word"}
    params.update(kwargs)
    return wishbone.Interface(**params)


def _classic(adr: int = 9) -> dict[str, Port]:
    return {n: Port(n, d, w or adr) for n, (d, w) in CLASSIC.items()}


# ------------------------------------------------------------------------- languages, top


@pytest.mark.parametrize(
    ("name", "source", "language"),
    [
        ("design.py", b"from migen import *\n", MIGEN),
        ("design.py", b"raise SystemExit\n", MIGEN),
        ("d.py", b"import amaranth as am\n", AMARANTH),
        ("d.py", b"from amaranth.hdl import *\n", AMARANTH),
        ("regs.v", b"module user_design(); endmodule\n", VERILOG),
        ("regs.sv", b"module user_design(); endmodule\n", SYSTEMVERILOG),
        ("upload", b"// no extension\nmodule m(input a);\nendmodule\n", VERILOG),
        ("upload.txt", b"from migen import Module\nclass Design(Module): pass\n", MIGEN),
        ("notes.txt", b"shopping list: eggs, milk\n", None),
        (None, b"\x00\x01 binary", None),
    ],
)
def test_the_language_comes_from_the_name_then_the_content(
    name: str | None, source: bytes, language: str | None
) -> None:
    assert detect_language(name, source) == language


@pytest.mark.parametrize("top", ["UserDesign", "my_regs", "_x", "a$b"])
def test_good_tops(top: str) -> None:
    assert check_top(f" {top} ") == top


@pytest.mark.parametrize("top", ["", "1abc", "a b", "a.b", "x" * 129, "a;rm"])
def test_bad_tops(top: str) -> None:
    with pytest.raises(ValueError, match="top must name"):
        check_top(top)


# ------------------------------------------------------------------------- Migen


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
    with pytest.raises(ValueError, match=fragment):
        check_window_size(size)


@pytest.mark.parametrize(
    ("design", "fragment"),
    [
        (_design(), "no 'bus' attribute"),
        (_design(bus=Signal(32)), r"wishbone\.Interface"),
        (_design(bus=_bus(data_width=16)), "data_width=32"),
        (_design(bus=_bus(addressing="byte")), 'addressing="word"'),
        (_design(bus=_bus(address_width=16)), "address_width=32"),
    ],
)
def test_migen_contract_violations(design: Module, fragment: str) -> None:
    with pytest.raises(ContractError, match=fragment):
        check_design(design)


def test_not_a_module() -> None:
    class Design:
        bus = _bus()

    with pytest.raises(ContractError, match="Module"):
        check_design(Design())


def _elaborate(tmp_path: Path, source: str, top: str | None = None) -> int:
    design_py = tmp_path / "design.py"
    design_py.write_text(source)
    return migen_frontend.elaborate(design_py, tmp_path, top)


def test_child_reports_user_frames_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "def helper():\n    return undefined_name\n\nhelper()\n"
    assert _elaborate(tmp_path, source) == protocol.EXIT_DESIGN
    out = capsys.readouterr()
    assert 'design.py", line 4' in out.out and 'design.py", line 2' in out.out
    assert "NameError: name 'undefined_name' is not defined" in out.out
    assert "importlib" not in out.out and "migen.py" not in out.out
    assert (
        f"{protocol.ERROR_MARKER} design.py raised NameError: name 'undefined_name' is not "
        "defined at line 2"
    ) in out.err


def test_child_reports_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _elaborate(tmp_path, "class Design(:\n") == protocol.EXIT_DESIGN
    assert "design.py raised SyntaxError: invalid syntax (design.py, line 1)" in (
        capsys.readouterr().err
    )


def test_child_requires_the_top_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _elaborate(tmp_path, "X = 1\n") == protocol.EXIT_DESIGN
    assert "no class named 'Design'" in capsys.readouterr().err
    assert _elaborate(tmp_path, "X = 1\n", top="Mine") == protocol.EXIT_DESIGN
    assert "no class named 'Mine'" in capsys.readouterr().err


def test_child_reports_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = "from migen import Module\n\nclass Design(Module):\n    pass\n"
    assert _elaborate(tmp_path, source) == protocol.EXIT_DESIGN
    assert "design contract violated: Design has no 'bus'" in capsys.readouterr().err


def test_a_migen_design_becomes_a_module_with_the_contracts_ports(tmp_path: Path) -> None:
    source = (DESIGNS.parents[1] / "examples" / "echo_regs.py").read_text()
    assert _elaborate(tmp_path, source) == protocol.EXIT_OK
    netlist = Netlist.load(tmp_path)
    assert (netlist.language, netlist.top, netlist.window_size) == ("migen", "user_design", 4096)
    assert netlist.ports["wb_adr"] == Port("wb_adr", "input", 30)
    assert netlist.ports["clk"] == Port("clk", "input", 1)
    assert check_ports(netlist.top, netlist.ports, migen=True) is None
    text = (tmp_path / netlist.sources[0]).read_text()
    assert "module user_design(" in text and "input [29:0] wb_adr" in text


# ------------------------------------------------------------------------- Verilog ports


def test_the_classic_contract_passes() -> None:
    assert check_ports("user_design", _classic()) is None
    assert window_size(9) == 2048


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"wb_sel": None}, "module user_design has no port wb_sel; expected ports: input clk"),
        ({"wb_dat_w": Port("wb_dat_w", "input", 16)}, "wb_dat_w of module user_design is 16"),
        ({"wb_ack": Port("wb_ack", "input", 1)}, "must be an output, not an input (the design"),
        ({"wb_adr": Port("wb_adr", "input", 23)}, "1 to 22 bits"),
        ({"debug": Port("debug", "output", 8)}, "port(s) the contract does not have: debug"),
    ],
)
def test_port_problems_name_the_port(change: dict[str, Port | None], fragment: str) -> None:
    ports = _classic()
    for name, port in change.items():
        if port is None:
            del ports[name]
        else:
            ports[name] = port
    problem = check_ports("user_design", ports)
    assert problem is not None and fragment in problem


def test_a_generated_design_without_clocked_logic_may_lack_clk_and_rst() -> None:
    ports = {n: p for n, p in _classic().items() if n not in ("clk", "rst")}
    assert check_ports("user_design", ports, generated=True) is None
    assert "no port clk" in (check_ports("user_design", ports) or "")


@needs_verilator
def test_verilator_finds_the_top_and_its_ports(tmp_path: Path) -> None:
    source = tmp_path / "design.v"
    shutil.copy(DESIGNS / "echo_regs.v", source)
    name, ports = discover([source], tmp_path, None)
    assert name == "user_design" and ports["wb_adr"].width == 10
    other = tmp_path / "other.v"
    other.write_text(source.read_text().replace("user_design", "my_regs"))
    with pytest.raises(VerilogError, match=r"no module named user_design .* \(modules: my_regs\)"):
        discover([other], tmp_path, None)
    assert discover([other], tmp_path, "my_regs")[0] == "my_regs"


@needs_verilator
def test_a_verilog_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "design.v"
    source.write_text("module user_design(input clk\n  wire x;\nendmodule\n")
    with pytest.raises(VerilogError) as caught:
        discover([source], tmp_path, None)
    assert str(caught.value).startswith("design.v:2: syntax error")


def test_tidy_drops_the_build_directory() -> None:
    line = "%Error: /data/builds/tmp-1/design.v:12:5: syntax error, unexpected wire"
    assert tidy(line) == "design.v:12: syntax error, unexpected wire"


# ------------------------------------------------------------------------- wrapper, files


def test_the_wrapper_connects_roles_and_the_low_address_bits() -> None:
    ports = _classic(adr=9)
    netlist = Netlist("verilog", "my_regs", ("design.v",), ports, 2048)
    text = wrapper_verilog(netlist)
    assert "module fpga_cloud_user (" in text and "my_regs user (" in text
    assert ".wb_adr(adr[8:0])" in text and ".clk(clk)" in text
    assert "assign err = 1'b0;" in text
    migen_ports = {**_classic(adr=30), "wb_err": Port("wb_err", "output", 1)}
    text = wrapper_verilog(Netlist("migen", "user_design", ("u.v",), migen_ports, 4096))
    assert ".wb_adr(adr)" in text and ".wb_err(err)" in text and "assign err" not in text


def test_the_netlist_round_trips_and_stays_in_its_directory(tmp_path: Path) -> None:
    netlist = Netlist("amaranth", "user_design", ("user_design.v",), _classic(), 2048)
    netlist.save(tmp_path)
    assert Netlist.load(tmp_path) == netlist
    Netlist("verilog", "t", ("../escape.v",), _classic(), 2048).save(tmp_path)
    with pytest.raises(ValueError, match="outside the build directory"):
        Netlist.load(tmp_path)


def test_artifact_pack_keeps_only_what_the_simulator_needs(tmp_path: Path) -> None:
    (tmp_path / "modules").mkdir()
    for name in ("Vsim", "sim_config.js", "mem.init", "modules/clocker.so",
                 "modules/serial2tcp_nodelay.so", "modules/ethernet.so"):  # fmt: skip
        (tmp_path / name).write_text(name)
    artifact = SimArtifact.pack(
        tmp_path / "package", vsim=tmp_path / "Vsim", modules=tmp_path / "modules",
        sim_config=tmp_path / "sim_config.js", inits=[tmp_path / "mem.init"],
        window_base=USER_WINDOW_BASE, window_size=0x800,
    )  # fmt: skip
    assert SimArtifact.load(tmp_path / "package") == artifact
    kept = sorted(str(p.relative_to(artifact.path)) for p in artifact.path.rglob("*.*"))
    assert kept == ["artifact.json", "mem.init", *sorted(n for n in REQUIRED_FILES if "." in n)]
    (artifact.path / "obj_dir" / "Vsim").unlink()
    with pytest.raises(FileNotFoundError, match="Vsim"):
        SimArtifact.load(artifact.path)
