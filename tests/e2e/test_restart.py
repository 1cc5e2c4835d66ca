"""Stop everything mid-build and start again: nothing lost, views equal a fresh replay."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from events.connection import PROJECTIONS_USER, connect
from events.store import EventStore
from projections.runner import ProjectionRunner
from services.api.routes_fpga import summary
from services.api.routes_jobs import job_response
from tests.e2e.conftest import example
from tests.e2e.system import System, run_op, wait_job

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def wait_stage(http: httpx.Client, fpga_id: int, job_id: str, stage: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if http.get(f"/fpga/{fpga_id}/jobs/{job_id}").json()["stage"] == stage:
            return
        time.sleep(0.05)
    raise AssertionError(f"job never reached stage {stage}")


async def fresh_replay(system: System) -> tuple[list[object], dict[str, object], dict[str, str]]:
    nc = await connect(system.nats_url, system.nats_credentials(PROJECTIONS_USER), name="replay")
    try:
        runner = ProjectionRunner(EventStore(nc), range(10))
        await runner.start()
        await asyncio.sleep(0.5)  # logs are eventually consistent; let them arrive
        boards = [json.loads(msgspec.json.encode(summary(b))) for b in runner.views.boards.values()]
        jobs = {
            str(j): json.loads(msgspec.json.encode(job_response(v)))
            for j, v in runner.views.jobs.items()
        }
        logs = {str(j): "\n".join(v.lines) + "\n" for j, v in runner.views.logs.items()}
        await runner.stop()
        return boards, jobs, logs
    finally:
        await nc.close()


def test_stop_mid_build_then_start_resumes_and_views_equal_replay(tmp_path: Path) -> None:
    system = System(tmp_path / "data")
    system.start()
    try:
        with system.client(timeout=30) as http:
            # A run job on a reserved board is history the restart must keep.
            first = http.post("/fpga/1/submit", files={"file": ("design.py", example("mac.py"))})
            assert wait_job(http, 1, first.json()["job_id"])["status"] == "complete"
            assert run_op(http, 1, {"op": 1, "address": 0, "data": [9]})["ok"]

            # A design that takes a while to elaborate: the stop comes in the middle of its build.
            slow = b"import time\ntime.sleep(6)\n" + example("echo_regs.py")
            r = http.post("/fpga/2/submit", files={"file": ("design.py", slow)})
            job_id = r.json()["job_id"]
            wait_stage(http, 2, job_id, "building")
            time.sleep(1.0)  # well inside the build
        system.stop()

        system.start()
        with system.client(timeout=30) as http:
            job = wait_job(http, 2, job_id)
            assert job["status"] == "complete", http.get(f"/fpga/2/jobs/{job_id}/logs").text
            assert "resuming an interrupted build" in http.get(f"/fpga/2/jobs/{job_id}/logs").text
            assert http.get("/fpga/2").json()["state"] == "reserved"
            # Board 1's session survived: its design was reloaded into a new simulation, which
            # (like a power cycle) starts from the design's reset state.
            assert http.get("/fpga/1").json()["state"] == "reserved"
            assert run_op(http, 1, {"op": 2, "address": 0}) == {
                "ok": True,
                "data": [0],
                "error": None,
            }
            assert run_op(http, 1, {"op": 1, "address": 0, "data": [9]})["ok"]
            assert run_op(http, 1, {"op": 2, "address": 0})["data"] == [9]

            boards, jobs, logs = asyncio.run(fresh_replay(system))
            assert http.get("/fpga").json() == boards
            for jid, view in jobs.items():
                fpga_id = int(str(view["fpga_id"]))  # type: ignore[index]
                assert http.get(f"/fpga/{fpga_id}/jobs/{jid}").json() == view
            assert http.get(f"/fpga/2/jobs/{job_id}/logs").text == logs[job_id]

            # An SSE client that saw events up to `mark` before the restart resumes after it.
            history = http.get("/audit/events", params={"limit": 1000}).json()["events"]
            mark = history[len(history) // 2]["seq"]
            expected = [e["seq"] for e in history if e["seq"] > mark]
            got = _sse_ids(http, {"Last-Event-ID": str(mark)}, len(expected))
            assert got == expected
    finally:
        system.stop()


def test_the_key_printed_at_a_restart_works_on_the_first_request(tmp_path: Path) -> None:
    """``make run`` again on the same data directory, right after a busy run: the key it prints
    is accepted by the very first request, with no retry."""
    system = System(tmp_path / "data", FPGA_CLOUD_MAX_BOARDS_PER_KEY="10")
    system.start()
    try:
        with system.client(timeout=30) as http:
            for i in range(10):
                r = http.post(f"/fpga/{i}/submit", files={"file": ("d.py", b"raise SystemExit\n")})
                assert r.status_code == 202
        for _ in range(3):
            system.stop()
            system.start(until_key=True)
            with system.client(timeout=30) as http:
                assert http.get("/auth/whoami").status_code == 200
                assert http.get("/fpga").status_code == 200
            assert httpx.get(f"{system.base}/health", timeout=5).status_code == 200
    finally:
        system.stop()
    assert system.problems() == []


def _sse_ids(http: httpx.Client, headers: dict[str, str], count: int) -> list[int]:
    ids: list[int] = []
    with http.stream("GET", "/events", headers=headers) as resp:
        for line in resp.iter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
                if len(ids) == count:
                    break
    return ids


def test_hwbridge_killed_mid_build_is_restarted_and_the_build_completes(tmp_path: Path) -> None:
    system = System(tmp_path / "data")
    system.start()
    try:
        with system.client(timeout=30) as http:
            r = http.post("/fpga/0/submit", files={"file": ("design.py", example("counter.py"))})
            job_id = r.json()["job_id"]
            wait_stage(http, 0, job_id, "building")
            assert system.proc is not None
            bridge = _child_pid(system.proc.pid, "-m hwbridge")
            os.kill(bridge, signal.SIGKILL)  # a crash, not a clean stop
            job = wait_job(http, 0, job_id)
            assert job["status"] == "complete", http.get(f"/fpga/0/jobs/{job_id}/logs").text
            assert http.get("/fpga/0").json()["state"] == "reserved"
    finally:
        system.stop()


def _child_pid(parent: int, needle: str) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and needle in cmdline:
            return int(entry.name)
    raise AssertionError(f"no {needle} child of {parent}")
