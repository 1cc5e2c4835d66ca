"""Live updates and audit on the running system with a real virtual board."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import example
from tests.e2e.system import REPO, System, wait_job

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

BUILD_STATES = ["JobQueued", "BuildStarted", "BuildSucceeded", "ProgrammingStarted",
                "Programmed", "SessionOpened"]  # fmt: skip


def collect_sse(url: str, key: str, out: list[dict[str, Any]], stop: threading.Event) -> None:
    headers = {"X-API-Key": key}
    with httpx.Client(timeout=None, headers=headers) as c, c.stream("GET", url) as resp:
        event: dict[str, Any] = {}
        for line in resp.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
            elif not line and event:
                out.append(event)
                event = {}
                if event_types(out)[-1:] == ["SessionOpened"] or stop.is_set():
                    return


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_watch_a_build_follow_its_log_then_stream_wishbone(
    system: System, http: httpx.Client
) -> None:
    seen: list[dict[str, Any]] = []
    stop = threading.Event()
    watcher = threading.Thread(
        target=collect_sse,
        args=(
            f"{system.base}/fpga/2/events?type={','.join(BUILD_STATES)}",
            system.api_key,
            seen,
            stop,
        ),
        daemon=True,
    )
    watcher.start()
    time.sleep(0.3)
    r = http.post("/fpga/2/submit", files={"file": ("design.py", example("echo_regs.py"))})
    job_id = r.json()["job_id"]
    with http.stream("GET", f"/fpga/2/jobs/{job_id}/logs", params={"follow": "true"}) as resp:
        followed = resp.read().decode()
    job = wait_job(http, 2, job_id)
    assert job["status"] == "complete"
    watcher.join(timeout=30)
    stop.set()
    assert event_types(seen) == BUILD_STATES
    assert all(e["job_id"] == job_id for e in seen)
    assert followed == http.get(f"/fpga/2/jobs/{job_id}/logs").text
    assert "[verilator]" in followed

    session = http.get("/fpga/2/session").json()["session_id"]
    url = f"{system.base.replace('http', 'ws')}/fpga/2/stream"
    key = {"X-API-Key": system.api_key}
    with connect(url, additional_headers={"X-Session-ID": session, **key}) as ws:
        ws.send(bytes([1, 0, 0, 2]) + struct.pack(">I2I", 0x8, 0x1234, 0x5678))
        assert ws.recv() == bytes([0, 0, 0, 2])
        ws.send(bytes([2, 0, 0, 2]) + struct.pack(">I", 0x8))
        assert ws.recv() == bytes([0, 0, 0, 2]) + struct.pack(">2I", 0x1234, 0x5678)
    with connect(url, additional_headers={"X-Session-ID": "someone-else", **key}) as ws:
        with pytest.raises(ConnectionClosed) as info:
            ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4403

    release = http.post("/fpga/2/session/release", headers={"X-Session-ID": session})
    assert release.status_code == 202

    env = {
        **os.environ, "NATS_URL": system.nats_url, "FPGA_CLOUD_DATA_DIR": str(system.data_dir),
        "FPGA_CLOUD_API_KEY": system.api_key,
    }  # fmt: skip
    cli = [sys.executable, "-m", "services.cli"]
    verify = subprocess.run([*cli, "audit", "verify"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert verify.returncode == 0 and "audit chain OK" in verify.stdout, verify.stdout
    rebuild = subprocess.run([*cli, "replay", "--rebuild", "--api", system.base], env=env,
                             cwd=REPO, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert rebuild.returncode == 0 and "EQUAL" in rebuild.stdout, rebuild.stdout + rebuild.stderr
    export = subprocess.run([*cli, "replay", "--board", "2", "--jsonl"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    lines = [json.loads(line) for line in export.stdout.splitlines()]
    types = [line["type"] for line in lines if line["type"] != "BoardRegistered"]
    assert lines[0]["type"] == "BoardRegistered" and lines[0]["payload"]["driver"] == "virtual"
    assert types[: len(BUILD_STATES)] == BUILD_STATES
    assert "StreamOpened" in types and "StreamClosed" in types and "SessionReleased" in types
