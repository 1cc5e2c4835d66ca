"""Every language over HTTP, as a user submits it: Migen, Amaranth and Verilog on virtual boards.

The language comes from the upload and shows on the job and in the log; the same register file
in each language answers alike; an Amaranth region takes a 512-word burst; ``top`` picks the
module; a broken design fails with its reason and leaves the board idle; an upload that is no
design is refused at once.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.buildlog import TIMED, untimed
from tests.e2e.system import System, run_op, session_id, wait_job, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
ECHOES = {
    "migen": ("echo_regs.py", REPO / "examples" / "echo_regs.py"),
    "amaranth": ("echo_amaranth.py", REPO / "tests" / "designs" / "echo_regs_amaranth.py"),
    "verilog": ("echo_regs.v", REPO / "tests" / "designs" / "echo_regs.v"),
}


def submit(
    http: httpx.Client, fpga_id: int, name: str, source: bytes, top: str | None = None
) -> httpx.Response:
    data = {"top": top} if top else None
    return http.post(f"/fpga/{fpga_id}/submit", files={"file": (name, source)}, data=data)


def built(http: httpx.Client, fpga_id: int, name: str, source: bytes, **kw: Any) -> dict[str, Any]:
    r = submit(http, fpga_id, name, source, **kw)
    assert r.status_code == 202, r.text
    job = wait_job(http, fpga_id, r.json()["job_id"])
    assert job["status"] == "complete", http.get(f"/fpga/{fpga_id}/jobs/{job['job_id']}/logs").text
    return job


def release(http: httpx.Client, fpga_id: int) -> None:
    r = http.post(
        f"/fpga/{fpga_id}/session/release", headers={"X-Session-ID": session_id(http, fpga_id)}
    )
    assert r.status_code == 202
    wait_state(http, fpga_id, "idle")


def test_one_register_file_in_three_languages_over_http(system: System, http: httpx.Client) -> None:
    rng = random.Random(11)
    values = [rng.getrandbits(32) for _ in range(16)]
    answers = {}
    for fpga_id, (language, (name, path)) in enumerate(ECHOES.items()):
        job = built(http, fpga_id, name, path.read_bytes())
        assert (job["language"], job["window_size"]) == (language, 0x1000)
        log = http.get(f"/fpga/{fpga_id}/jobs/{job['job_id']}/logs").text
        title = {"migen": "Migen", "amaranth": "Amaranth", "verilog": "Verilog"}[language]
        first = log.splitlines()[0].removeprefix("[build] ")
        assert untimed(first) == f"design: {title}, {len(path.read_bytes())} bytes"
        assert TIMED.match(first)  # each line starts with the seconds since the build began
        assert run_op(http, fpga_id, {"op": 1, "address": 0, "data": values})["ok"]
        answers[language] = run_op(http, fpga_id, {"op": 2, "address": 0x40, "count": 16})
        release(http, fpga_id)
    assert answers["migen"] == answers["amaranth"] == answers["verilog"]
    assert answers["migen"] == {"ok": True, "data": values, "error": None}


def test_a_512_word_burst_through_a_2k_amaranth_region(http: httpx.Client) -> None:
    job = built(http, 3, "scratchpad.py", (REPO / "examples" / "scratchpad.py").read_bytes())
    assert (job["language"], job["window_size"]) == ("amaranth", 2048)
    words = [random.getrandbits(32) for _ in range(512)]
    assert run_op(http, 3, {"op": 1, "address": 0, "data": words})["ok"]
    assert run_op(http, 3, {"op": 2, "address": 0, "count": 512})["data"] == words
    past = http.post(
        "/fpga/3/run", json={"op": 2, "address": 2048, "count": 1},
        headers={"X-Session-ID": session_id(http, 3)},
    )  # fmt: skip
    assert past.status_code == 422 and past.json()["detail"]["error"] == "address_out_of_range"
    release(http, 3)


def test_top_picks_the_module(http: httpx.Client) -> None:
    source = ECHOES["verilog"][1].read_text().replace("user_design", "my_regs").encode()
    job = built(http, 4, "regs.v", source, top="my_regs")
    assert (job["language"], job["top"]) == ("verilog", "my_regs")
    assert run_op(http, 4, {"op": 1, "address": 8, "data": [77]})["ok"]
    assert run_op(http, 4, {"op": 2, "address": 8})["data"] == [77]
    release(http, 4)


def test_a_broken_design_fails_with_its_reason_and_the_board_is_idle(http: httpx.Client) -> None:
    broken = ECHOES["verilog"][1].read_text().replace("wire [31:0] wb_dat_w", "wire [7:0] wb_dat_w")
    r = submit(http, 5, "echo.v", broken.encode())
    assert r.status_code == 202
    job = wait_job(http, 5, r.json()["job_id"])
    assert job["status"] == "failed"
    assert (
        job["error"]
        == "port wb_dat_w of module user_design is 8 bit(s) wide; the contract needs 32"
    )
    wait_state(http, 5, "idle")
    r = submit(http, 5, "regs.v", ECHOES["verilog"][1].read_bytes(), top="nope")
    job = wait_job(http, 5, r.json()["job_id"])
    assert job["error"].startswith("no module named nope in design.v (modules: user_design)")
    wait_state(http, 5, "idle")


def test_what_is_no_design_is_refused_at_submit(http: httpx.Client) -> None:
    r = submit(http, 6, "notes.txt", b"buy milk\n")
    assert r.status_code == 422 and r.json()["detail"]["error"] == "validation_error"
    assert "not a design" in r.json()["detail"]["message"]
    r = submit(http, 6, "echo.v", ECHOES["verilog"][1].read_bytes(), top="no spaces allowed")
    assert r.status_code == 422
    assert http.get("/fpga/6").json()["state"] == "idle"
