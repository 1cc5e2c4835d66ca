"""Waveforms of virtual boards through the running system: a traced write on the echo registers
read back as JSON, VCD, FST (and GTKWave's fst2vcd) and SVG; a window recording of the MAC;
the caps, the one-at-a-time rule, who may read a trace, and the SDK's ``result.trace``."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fpga_cloud import Client
from vcd.reader import ScalarChange, TokenKind, VectorChange, tokenize

from tests.e2e.conftest import example
from tests.e2e.system import EXAMPLES, System, run_op, session_id, wait_job, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

#: A small cycle cap, so that an idle window reaches it in a few seconds (100 kHz when idle).
CYCLE_CAP = 250_000
BUS = "user.wb_cyc,user.wb_stb,user.wb_we,user.wb_ack,user.wb_dat_w"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = System(
        tmp_path_factory.mktemp("traces"),
        FPGA_CLOUD_BUILD_TIMEOUT_S="60",
        FPGA_CLOUD_BOARDS="0-3",
        FPGA_CLOUD_TRACE_MAX_CYCLES=str(CYCLE_CAP),
        FPGA_CLOUD_RATE_LIMIT="1000",
        FPGA_CLOUD_RATE_BURST="2000",
    )
    sys_.start()
    yield sys_
    sys_.stop()
    assert sys_.problems() == []


@pytest.fixture(scope="module")
def http(system: System) -> Iterator[httpx.Client]:
    with system.client() as c:
        yield c


def reserve(http: httpx.Client, fpga_id: int, design: str) -> str:
    r = http.post(f"/fpga/{fpga_id}/submit", files={"file": ("design.py", example(design))})
    assert r.status_code == 202, r.text
    job = wait_job(http, fpga_id, r.json()["job_id"])
    assert job["status"] == "complete", job
    return session_id(http, fpga_id)


def release(http: httpx.Client, fpga_id: int, sid: str) -> None:
    r = http.post(f"/fpga/{fpga_id}/session/release", headers={"X-Session-ID": sid})
    assert r.status_code == 202, r.text
    wait_state(http, fpga_id, "idle")


def recorded(
    http: httpx.Client, fpga_id: int, trace_id: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info: dict[str, Any] = http.get(f"/fpga/{fpga_id}/traces/{trace_id}/info").json()
        if info["status"] != "recording":
            return info
        time.sleep(0.05)
    raise AssertionError(f"trace {trace_id} still recording after {timeout} s")


def changes(doc: dict[str, Any]) -> dict[str, list[list[int]]]:
    return {s["name"]: s["changes"] for s in doc["signals"]}


def rises(series: list[list[int]]) -> list[int]:
    """Cycles at which a one-bit signal becomes 1."""
    return [c for c, v in series if v == 1]


def value_at(series: list[list[int]], cycle: int) -> int:
    return [v for c, v in series if c <= cycle][-1]


def vcd_changes(text: str) -> dict[str, list[tuple[int, int]]]:
    """A VCD file's changes per variable (hierarchical name without the top scope), read with
    pyvcd's parser (its tokenizer: the VCD as written, no model of ours)."""
    names: dict[str, list[str]] = {}  # an id code names every variable that aliases it
    scopes: list[str] = []
    out: dict[str, list[tuple[int, int]]] = {}
    now = 0
    for token in tokenize(io.BytesIO(text.encode())):
        match token.kind:
            case TokenKind.SCOPE:
                scopes.append(token.scope.ident)
            case TokenKind.UPSCOPE:
                scopes.pop()
            case TokenKind.VAR:
                full = ".".join([*scopes[1:], token.var.reference])
                names.setdefault(token.var.id_code, []).append(full)
                out.setdefault(full, [])
            case TokenKind.CHANGE_TIME:
                now = token.time_change
            case TokenKind.CHANGE_SCALAR | TokenKind.CHANGE_VECTOR:
                change = token.data
                assert isinstance(change, ScalarChange | VectorChange)
                value = change.value
                if isinstance(value, str) and value and set(value) <= {"0", "1"}:
                    value = int(value, 2)
                if isinstance(value, int):
                    for name in names[change.id_code]:
                        out[name].append((now, value))
    return out


def sampled_at_edges(series: list[tuple[int, int]], edges: list[int]) -> list[list[int]]:
    """VCD changes sampled at each rising clock edge, as the JSON form's [cycle, value]."""
    out: list[list[int]] = []
    for cycle, edge in enumerate(edges):
        known = [v for t, v in series if t <= edge]
        if known and (not out or out[-1][1] != known[-1]):
            out.append([cycle, known[-1]])
    return out


def test_a_traced_write_shows_the_bus_cycle_in_every_form(
    system: System, http: httpx.Client
) -> None:
    sid = reserve(http, 1, "echo_regs.py")
    r = http.post(
        "/fpga/1/run", json={"op": 1, "address": 4, "data": [0xCAFEF00D], "trace": True},
        headers={"X-Session-ID": sid},
    )  # fmt: skip
    assert r.status_code == 202, r.text
    trace_id = r.json()["trace_id"]
    assert wait_job(http, 1, r.json()["job_id"])["status"] == "complete"
    result = http.get(f"/fpga/1/jobs/{r.json()['job_id']}/result").json()
    assert result == {"ok": True, "data": [0xCAFEF00D], "error": None, "trace_id": trace_id}
    info = recorded(http, 1, trace_id)
    assert info["status"] == "recorded" and info["stop_reason"] == "transaction", info
    assert info["last_cycle"] > info["first_cycle"] > 0

    # JSON: cyc and stb rise together with the word on the data lines, the design acknowledges
    # on the next edge and the bridge ends the cycle on the one after.
    answer = http.get(f"/fpga/1/traces/{trace_id}", params={"format": "json", "signals": BUS})
    doc = answer.json()
    assert doc["trace_id"] == trace_id and doc["clock"]["period_ps"] == 10_000_000
    bus = changes(doc)
    assert list(bus) == BUS.split(",")
    # cyc is this slave's own; stb is the bridge's, and also strobes its writes to the
    # recording's control register, which open and close the recording.
    (start,) = rises(bus["user.wb_cyc"])
    assert start in rises(bus["user.wb_stb"]) and value_at(bus["user.wb_we"], start) == 1
    assert value_at(bus["user.wb_dat_w"], start) == 0xCAFEF00D
    assert rises(bus["user.wb_ack"]) == [start + 1]
    assert value_at(bus["user.wb_cyc"], start + 2) == 0 == value_at(bus["user.wb_ack"], start + 2)
    # The recording spans the transaction and a few cycles either side (the frames' bytes).
    assert 1 <= start <= 20 and doc["clock"]["cycles"] - (start + 2) <= 20
    assert len(answer.content) < 4096  # compact: what an agent reads

    # VCD: a standard parser reads the same changes (sampled at the clock's rising edges).
    vcd = http.get(f"/fpga/1/traces/{trace_id}", params={"format": "vcd", "signals": "clk," + BUS})
    assert vcd.status_code == 200 and vcd.headers["content-type"].startswith("text/plain")
    parsed = vcd_changes(vcd.text)
    edges = [t for t, v in parsed["clk"] if v == 1]
    assert len(edges) == doc["clock"]["cycles"]
    for name, series in bus.items():
        assert sampled_at_edges(parsed[name], edges) == series, name

    # FST: the file as stored (its SHA-256 is its name), readable by GTKWave's own tools.
    fst = http.get(f"/fpga/1/traces/{trace_id}")
    assert fst.status_code == 200 and fst.headers["content-type"] == "application/octet-stream"
    assert (
        hashlib.sha256(fst.content).hexdigest() == info["sha256"] == fst.headers["x-trace-sha256"]
    )
    assert len(fst.content) == info["size"]
    # GTKWave's own reader (Debian's gtkwave: `make` installs it) opens it, with the same changes.
    fst2vcd = shutil.which("fst2vcd")
    assert fst2vcd is not None, "fst2vcd is missing: install Debian's gtkwave (make sysdeps)"
    saved = system.data_dir / f"{trace_id}.fst"
    saved.write_bytes(fst.content)
    text = subprocess.run([fst2vcd, str(saved)], capture_output=True, text=True, check=True)
    from_fst = vcd_changes(text.stdout)
    for name, series in bus.items():
        assert sampled_at_edges(from_fst[f"sim.fpga_cloud_user.{name}"], edges) == series, name
    # Only the user's slot is recorded: nothing of the rest of the SoC.
    assert from_fst and all(n.startswith("sim.fpga_cloud_user.") for n in from_fst)

    # SVG: a timing diagram of the selected signals that a browser renders.
    svg = http.get(
        f"/fpga/1/traces/{trace_id}", params={"format": "svg", "signals": BUS, "cycles": "0-20"}
    )
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert set(BUS.split(",")) <= texts and "cafef00d" in texts
    wavedrom = http.get(f"/fpga/1/traces/{trace_id}", params={"format": "wavedrom"}).json()
    assert {row["name"] for row in wavedrom["signal"]} >= set(BUS.split(","))

    # Bad selections are clear 422s; another key's trace does not exist for it.
    for params in ({"format": "xml"}, {"format": "json", "signals": "nope*"},
                   {"format": "json", "cycles": "9-3"}):  # fmt: skip
        bad = http.get(f"/fpga/1/traces/{trace_id}", params=params)
        assert bad.status_code == 422 and bad.json()["detail"]["error"] == "validation_error"
    with system.client(key=system.create_key("mallory")) as other:
        for path in (f"/fpga/1/traces/{trace_id}", f"/fpga/1/traces/{trace_id}/info"):
            missing = other.get(path)
            assert missing.status_code == 404 and missing.json()["detail"]["error"] == (
                "trace_not_found"
            )
        assert other.get("/fpga/1/traces").json() == []
    release(http, 1, sid)


def test_a_window_shows_the_multiplier_in_the_right_cycles(http: httpx.Client) -> None:
    sid = reserve(http, 2, "mac.py")
    headers = {"X-Session-ID": sid}
    started = http.post("/fpga/2/trace/start", headers=headers)
    assert started.status_code == 202, started.text
    trace_id = started.json()["trace_id"]
    assert started.json()["status"] == "recording"
    again = http.post("/fpga/2/trace/start", headers=headers)
    assert again.status_code == 409 and again.json()["detail"]["error"] == "trace_in_progress"
    traced = http.post("/fpga/2/run", json={"op": 2, "address": 0, "trace": True}, headers=headers)
    assert traced.status_code == 409 and traced.json()["detail"]["error"] == "trace_in_progress"
    run_op(http, 2, {"op": 1, "address": 0x10, "data": [0]}, sid)  # clear
    run_op(http, 2, {"op": 1, "address": 0x00, "data": [3]}, sid)  # A
    run_op(http, 2, {"op": 1, "address": 0x04, "data": [7]}, sid)  # B
    run_op(http, 2, {"op": 1, "address": 0x08, "data": [1]}, sid)  # ACC += A * B
    assert run_op(http, 2, {"op": 2, "address": 0x0C}, sid)["data"] == [21]
    stopped = http.post("/fpga/2/trace/stop", headers=headers)
    assert stopped.status_code == 202 and stopped.json()["trace_id"] == trace_id
    info = recorded(http, 2, trace_id)
    assert info["status"] == "recorded" and info["stop_reason"] == "stopped", info
    none = http.post("/fpga/2/trace/stop", headers=headers)
    assert none.status_code == 409 and none.json()["detail"]["error"] == "trace_not_recording"

    signals = "user.a,user.b,user.acc,user.wb_ack,user.wb_we,user.wb_adr"
    doc = http.get(f"/fpga/2/traces/{trace_id}", params={"format": "json", "signals": signals})
    mac = changes(doc.json())
    (product,) = [c for c, v in mac["user.acc"] if v == 21]
    # The accumulator takes A * B on the edge that acknowledges the write to 0x08: the cycle
    # before it, the write is on the bus with both operands in place.
    assert value_at(mac["user.wb_ack"], product) == 1
    assert value_at(mac["user.wb_we"], product - 1) == 1
    assert value_at(mac["user.wb_adr"], product - 1) & 0x7 == 2
    assert value_at(mac["user.a"], product - 1) == 3 and value_at(mac["user.b"], product - 1) == 7
    assert value_at(mac["user.acc"], product - 1) == 0
    release(http, 2, sid)


def test_caps_and_the_session_end_stop_a_recording_with_the_reason(http: httpx.Client) -> None:
    sid = reserve(http, 1, "echo_regs.py")
    headers = {"X-Session-ID": sid}
    trace_id = http.post("/fpga/1/trace/start", headers=headers).json()["trace_id"]
    # An idle board runs at 100 kHz: the cap comes in ~2.5 s, and the worker notices.
    info = recorded(http, 1, trace_id, timeout=30)
    assert info["stop_reason"] == "cycle_cap", info
    assert info["last_cycle"] - info["first_cycle"] + 1 == CYCLE_CAP
    late = http.post("/fpga/1/trace/stop", headers=headers)
    assert late.status_code == 409 and late.json()["detail"]["error"] == "trace_not_recording"
    doc = http.get(f"/fpga/1/traces/{trace_id}", params={"format": "json", "signals": "clk"})
    assert doc.json()["clock"]["cycles"] == CYCLE_CAP

    # Releasing the board ends a recording in progress cleanly: it is kept.
    trace_id = http.post("/fpga/1/trace/start", headers=headers).json()["trace_id"]
    run_op(http, 1, {"op": 1, "address": 0, "data": [5]}, sid)
    release(http, 1, sid)
    info = recorded(http, 1, trace_id)
    assert info["status"] == "recorded" and info["stop_reason"] == "session_ended", info
    doc = http.get(f"/fpga/1/traces/{trace_id}", params={"format": "json", "signals": "user.reg0"})
    assert [5] in [[v] for _, v in changes(doc.json())["user.reg0"]]


def test_a_recording_past_its_byte_cap_stops_with_the_reason(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A system of its own, whose byte cap any recording passes at the first check of its size
    # (every 16384 cycles: a fraction of a second on an idle board).
    capped = System(
        tmp_path_factory.mktemp("byte-cap"),
        FPGA_CLOUD_BUILD_TIMEOUT_S="60",
        FPGA_CLOUD_BOARDS="0",
        FPGA_CLOUD_TRACE_MAX_BYTES="1",
    )
    capped.start()
    try:
        with capped.client() as http:
            sid = reserve(http, 0, "echo_regs.py")
            started = http.post("/fpga/0/trace/start", headers={"X-Session-ID": sid})
            assert started.status_code == 202, started.text
            trace_id = started.json()["trace_id"]
            info = recorded(http, 0, trace_id)
            assert (info["status"], info["stop_reason"]) == ("recorded", "byte_cap"), info["error"]
            assert info["size"] >= 1
            doc = http.get(f"/fpga/0/traces/{trace_id}", params={"format": "json"}).json()
            assert doc["stop_reason"] == "byte_cap" and doc["clock"]["cycles"] > 0
            # The board records again once the capped recording has been stored.
            again = http.post("/fpga/0/trace/start", headers={"X-Session-ID": sid})
            assert again.status_code == 202, again.text
            release(http, 0, sid)
            ended = recorded(http, 0, again.json()["trace_id"])
            assert ended["stop_reason"] in ("byte_cap", "session_ended"), ended
    finally:
        capped.stop()
    assert capped.problems() == []


def test_the_sdk_reads_a_run_s_trace(system: System) -> None:
    with Client(system.base, system.api_key) as client:
        job = client.submit(EXAMPLES / "echo_regs.py", board=3)
        job.wait()
        with job.session() as session:
            result = session.write(0x8, [0x1234], trace=True)
            doc = result.trace("json", signals="user.wb_*", cycles=(0, 40))
            bus = changes(doc)
            (start,) = rises(bus["user.wb_cyc"])
            assert value_at(bus["user.wb_dat_w"], start) == 0x1234
            assert result.trace("svg", signals="user.wb_cyc").startswith("<svg")
            read = session.read(0x8, trace=True)
            assert read.data == [0x1234] and read.trace_id != result.trace_id
            window = session.trace_start()
            session.write(0x0, [1])
            stopped = session.trace_stop()
            assert stopped.id == window.id and stopped.wait().stop_reason == "stopped"
            assert stopped.get("fst")[:1] == b"\x00"
