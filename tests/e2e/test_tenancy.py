"""Tenancy on the running system: keys from the CLI, another user's refusals, an admin's
release, and a lease that runs out while the API that served the session is dead."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import example
from tests.e2e.system import System, run_op, session_id, wait_job, wait_state
from tests.e2e.test_restart import _child_pid

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

LEASE_S = 20


def _until_healthy(system: System, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    time.sleep(0.5)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{system.base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the API did not come back")


def test_users_admins_and_a_lease_that_runs_out(tmp_path: Path) -> None:
    system = System(tmp_path / "data", FPGA_CLOUD_LEASE_SECONDS=str(LEASE_S))
    system.start()
    try:
        bob_key = system.create_key("bob")
        admin_key = system.create_key("ops", admin=True)
        with (
            system.client() as me,
            system.client(key=bob_key) as bob,
            system.client(key=admin_key) as admin,
        ):
            assert me.get("/fpga", headers={"X-API-Key": "fpk_nope"}).status_code == 401
            job = me.post("/fpga/3/submit", files={"file": ("d.py", example("echo_regs.py"))})
            job_id = job.json()["job_id"]
            assert wait_job(me, 3, job_id)["status"] == "complete"
            sid = {"X-Session-ID": session_id(me, 3)}

            # Bob sees the board is taken, but cannot use it, release it or see the job.
            assert bob.get("/fpga/3").json()["state"] == "reserved"
            r = bob.post("/fpga/3/run", json={"op": 2, "address": 0}, headers=sid)
            assert (r.status_code, r.json()["detail"]["error"]) == (403, "not_session_owner")
            assert bob.post("/fpga/3/session/release", headers=sid).status_code == 403
            assert bob.get(f"/fpga/3/jobs/{job_id}/logs").status_code == 404
            assert run_op(me, 3, {"op": 1, "address": 0, "data": [5]})["ok"]

            # An admin releases anyone's board.
            assert admin.post("/fpga/3/session/release").status_code == 202
            wait_state(me, 3, "idle", timeout=60)

            # A new session, then the API dies (SIGKILL) and the user goes away: the lease
            # runs out and the board is reset without anyone asking.
            job_id = me.post(
                "/fpga/4/submit", files={"file": ("d.py", example("echo_regs.py"))}
            ).json()["job_id"]
            assert wait_job(me, 4, job_id)["status"] == "complete"
            expires = me.get("/fpga/4/session").json()["expires_at"]
            assert system.proc is not None
            os.kill(_child_pid(system.proc.pid, "services.cli api"), signal.SIGKILL)
            _until_healthy(system)  # the supervisor restarts the API
            wait_state(me, 4, "idle", timeout=LEASE_S + 60)
            history = admin.get("/audit/events", params={"fpga_id": 4}).json()["events"]
            expired = [e for e in history if e["type"] == "SessionExpired"]
            assert len(expired) == 1 and expired[0]["payload"]["expires_at"] == expires
            assert [e["type"] for e in history][-3:] == [
                "SessionExpired",
                "ResetStarted",
                "BoardReset",
            ]
    finally:
        system.stop()
