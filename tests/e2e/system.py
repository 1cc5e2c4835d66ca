"""Helpers of the end-to-end tests: waiting for jobs and boards, running a Wishbone op."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.system import EXAMPLES, REPO, System

__all__ = ["EXAMPLES", "REPO", "System", "run_op", "session_id", "wait_job", "wait_state"]


def wait_job(
    client: httpx.Client, fpga_id: int, job_id: str, timeout: float = 180.0
) -> dict[str, Any]:
    """Poll a job until it ends (complete, failed or cancelled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/fpga/{fpga_id}/jobs/{job_id}").json()
        if job["status"] in ("complete", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def wait_state(
    client: httpx.Client, fpga_id: int, state: str, timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    board: dict[str, Any] = {}
    while time.monotonic() < deadline:
        board = client.get(f"/fpga/{fpga_id}").json()
        if board["state"] == state:
            return board
        time.sleep(0.05)
    raise AssertionError(f"board {fpga_id} is {board.get('state')}, expected {state}")


def session_id(client: httpx.Client, fpga_id: int) -> str:
    """The id of the board's session, as ``GET /fpga/{id}/session`` shows it."""
    sid: str = client.get(f"/fpga/{fpga_id}/session").json()["session_id"]
    return sid


def run_op(
    client: httpx.Client, fpga_id: int, body: dict[str, Any], session: str = ""
) -> dict[str, Any]:
    """POST /run then poll its result, as in the curl walkthrough (which reads the session id
    from GET /session; so does this, when ``session`` is not given)."""
    session = session or session_id(client, fpga_id)
    r = client.post(f"/fpga/{fpga_id}/run", json=body, headers={"X-Session-ID": session})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    job = wait_job(client, fpga_id, job_id, timeout=30)
    assert job["type"] == "run"
    result: dict[str, Any] = client.get(f"/fpga/{fpga_id}/jobs/{job_id}/result").json()
    return result
