"""The curl walkthrough of the REST guide, over real HTTP, on real Verilator-simulated boards."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.e2e.conftest import example
from tests.e2e.system import run_op, session_id, wait_job, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def submit(http: httpx.Client, fpga_id: int, source: bytes, name: str = "design.py") -> str:
    r = http.post(f"/fpga/{fpga_id}/submit", files={"file": (name, source)})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["fpga_id"] == fpga_id and body["status"] == "queued"
    job_id: str = body["job_id"]
    return job_id


def test_echo_registers_full_lifecycle(http: httpx.Client) -> None:
    boards = http.get("/fpga").json()
    assert [b["fpga_id"] for b in boards] == list(range(10))
    assert all(b["state"] == "idle" for b in boards)

    job_id = submit(http, 3, example("echo_regs.py"))
    assert http.get("/fpga/3").json()["state"] in ("queued", "building")
    # The build log streams while the build runs, not only at the end.
    deadline = time.monotonic() + 60
    while not http.get(f"/fpga/3/jobs/{job_id}/logs").text:
        assert time.monotonic() < deadline, "no log lines while building"
        time.sleep(0.05)
    assert http.get(f"/fpga/3/jobs/{job_id}").json()["status"] == "running"
    job = wait_job(http, 3, job_id)
    assert job["status"] == "complete", http.get(f"/fpga/3/jobs/{job_id}/logs").text
    assert job["type"] == "build_and_program"

    board = http.get("/fpga/3").json()
    assert board["state"] == "reserved"
    session = http.get("/fpga/3/session").json()
    assert session["fpga_id"] == 3 and session == board["session"]
    sid = session["session_id"]

    log = http.get(f"/fpga/3/jobs/{job_id}/logs")
    assert log.headers["content-type"].startswith("text/plain")
    assert "[elaborate]" in log.text and "[verilator]" in log.text and "[program]" in log.text

    assert run_op(http, 3, {"op": 1, "address": 0, "data": [42]}, sid) == {
        "ok": True,
        "data": [42],
        "error": None,
    }
    assert run_op(http, 3, {"op": 1, "address": 8, "data": [0xDEADBEEF, 7]}, sid)["ok"]
    assert run_op(http, 3, {"op": 2, "address": 0, "count": 1}, sid)["data"] == [42]
    assert run_op(http, 3, {"op": 2, "address": 8, "count": 2}, sid)["data"] == [0xDEADBEEF, 7]

    out_of_window = http.post(
        "/fpga/3/run", json={"op": 2, "address": 0x1000, "count": 1}, headers={"X-Session-ID": sid}
    )
    assert out_of_window.status_code == 422
    assert out_of_window.json()["detail"]["error"] == "address_out_of_range"

    release = http.post("/fpga/3/session/release", headers={"X-Session-ID": sid})
    assert release.status_code == 202
    reset_job = wait_job(http, 3, release.json()["job_id"], timeout=30)
    assert reset_job["type"] == "reset" and reset_job["status"] == "complete"
    assert http.get("/fpga/3").json() == {
        "fpga_id": 3,
        "state": "idle",
        "session": None,
        "current_job_id": None,
        "driver": "virtual",
        "in_service": True,
        "health": "good",
    }
    assert http.get("/fpga/3/session").json()["detail"]["error"] == "no_active_session"
    assert http.post("/fpga/3/run", json={"op": 2, "address": 0}).status_code == 409


@pytest.mark.parametrize(
    ("name", "check"),
    [("counter.py", "counter"), ("mac.py", "mac")],
)
def test_examples_compute_on_the_board(http: httpx.Client, name: str, check: str) -> None:
    fpga_id = 5 if check == "counter" else 6
    job = wait_job(http, fpga_id, submit(http, fpga_id, example(name)))
    assert job["status"] == "complete", http.get(f"/fpga/{fpga_id}/jobs/{job['job_id']}/logs").text
    if check == "mac":
        # Register map from the docstring of examples/mac.py.
        reg_a, reg_b, reg_step, reg_acc, reg_clear = 0x00, 0x04, 0x08, 0x0C, 0x10
        run_op(http, fpga_id, {"op": 1, "address": reg_clear, "data": [1]})
        for a, b in [(3, 4), (5, 6), (1000, 1000)]:
            run_op(http, fpga_id, {"op": 1, "address": reg_a, "data": [a]})
            run_op(http, fpga_id, {"op": 1, "address": reg_b, "data": [b]})
            run_op(http, fpga_id, {"op": 1, "address": reg_step, "data": [1]})
        assert run_op(http, fpga_id, {"op": 2, "address": reg_acc})["data"] == [12 + 30 + 1_000_000]
    else:
        first = run_op(http, fpga_id, {"op": 2, "address": 0})["data"][0]
        second = run_op(http, fpga_id, {"op": 2, "address": 0})["data"][0]
        assert second != first  # a free-running counter moves between two reads
    mine = {"X-Session-ID": session_id(http, fpga_id)}
    assert http.post(f"/fpga/{fpga_id}/reset", headers=mine).status_code == 202
    wait_state(http, fpga_id, "idle", timeout=30)
