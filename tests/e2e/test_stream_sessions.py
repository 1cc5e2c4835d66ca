"""A Wishbone stream belongs to the session it was opened for, on the running system.

The owner's stream ends when the session ends (release, lease expiry, an admin's reset), and no
frame of it reaches the design the next user loads on that board. A stream left open by an API
process that was killed is closed in the record once the API is back.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from events.wire import OP_READ, STATUS_OK, Request, decode_response, encode_request
from tests.e2e.conftest import example
from tests.e2e.system import System, run_op, session_id, wait_job, wait_state
from tests.e2e.test_restart import _child_pid
from tests.e2e.test_tenancy import _until_healthy

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

LEASE_S = 15


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = System(tmp_path_factory.mktemp("streams"), FPGA_CLOUD_LEASE_SECONDS=str(LEASE_S))
    sys_.start()
    yield sys_
    sys_.stop()
    assert sys_.problems() == []


def reserve(http: httpx.Client, fpga_id: int) -> str:
    r = http.post(f"/fpga/{fpga_id}/submit", files={"file": ("d.py", example("echo_regs.py"))})
    assert r.status_code == 202, r.text
    assert wait_job(http, fpga_id, r.json()["job_id"])["status"] == "complete"
    return session_id(http, fpga_id)


def open_stream(system: System, key: str, fpga_id: int, session: str) -> ClientConnection:
    url = system.base.replace("http://", "ws://") + f"/fpga/{fpga_id}/stream"
    return connect(url, additional_headers={"X-API-Key": key, "X-Session-ID": session})


def read_word(ws: ClientConnection, address: int = 0) -> list[int]:
    ws.send(encode_request(Request(OP_READ, False, 1, address)))
    status, _, words = decode_response(ws.recv(timeout=10))  # type: ignore[arg-type]
    assert status == STATUS_OK
    return words


def close_code(ws: ClientConnection, timeout: float) -> int:
    """The code the server closes with, while the client only waits."""
    with pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=timeout)
    assert info.value.rcvd is not None
    return info.value.rcvd.code


def stream_ends(admin: httpx.Client, fpga_id: int) -> list[dict[str, Any]]:
    events = admin.get("/audit/events", params={"fpga_id": fpga_id, "limit": 1000}).json()
    return [e["payload"] for e in events["events"] if e["type"] == "StreamClosed"]


def test_release_closes_the_stream_and_the_next_user_is_untouched(system: System) -> None:
    mallory_key = system.create_key("mallory")
    admin_key = system.create_key("ops", admin=True)
    with (
        system.client() as owner,
        system.client(key=mallory_key) as mallory,
        system.client(key=admin_key) as admin,
    ):
        old = reserve(owner, 3)
        with open_stream(system, system.api_key, 3, old) as ws:
            read_word(ws)
            released = owner.post("/fpga/3/session/release", headers={"X-Session-ID": old})
            assert released.status_code == 202
            assert close_code(ws, timeout=10) == 4409
        wait_state(owner, 3, "idle")

        new = reserve(mallory, 3)
        assert run_op(mallory, 3, {"op": 1, "address": 0, "data": [0x05EC12E7, 0xCAFEF00D]})["ok"]
        # The owner's old session opens nothing on the board any more.
        with open_stream(system, system.api_key, 3, old) as again:
            assert close_code(again, timeout=10) in (4403, 4409)
        assert run_op(mallory, 3, {"op": 2, "address": 0, "count": 2}, new)["data"] == [
            0x05EC12E7,
            0xCAFEF00D,
        ]
        [end] = stream_ends(admin, 3)
        assert end["session_id"] == old and end["reason"] == "the session ended"
        assert (
            mallory.post("/fpga/3/session/release", headers={"X-Session-ID": new}).status_code
            == 202
        )
        wait_state(owner, 3, "idle")


def test_an_admin_reset_and_a_lease_running_out_close_the_stream(system: System) -> None:
    admin_key = system.create_key("ops2", admin=True)
    with system.client() as owner, system.client(key=admin_key) as admin:
        session = reserve(owner, 4)
        with open_stream(system, system.api_key, 4, session) as ws:
            read_word(ws)
            assert admin.post("/fpga/4/reset").status_code == 202
            assert close_code(ws, timeout=10) == 4409
        wait_state(owner, 4, "idle")

        session = reserve(owner, 4)
        with open_stream(system, system.api_key, 4, session) as ws:  # renews the lease, idles
            read_word(ws)
            assert close_code(ws, timeout=LEASE_S + 30) == 4409
        wait_state(owner, 4, "idle")
        reasons = [e["reason"] for e in stream_ends(admin, 4)]
        assert reasons == ["the session ended", "the session ended"]


def test_a_stream_left_open_by_a_killed_api_is_closed_after_the_restart(system: System) -> None:
    admin_key = system.create_key("ops3", admin=True)
    with system.client() as owner, system.client(key=admin_key) as admin:
        session = reserve(owner, 5)
        with open_stream(system, system.api_key, 5, session) as ws:
            read_word(ws)
            assert system.proc is not None
            os.kill(_child_pid(system.proc.pid, "services.cli api"), signal.SIGKILL)
            _until_healthy(system)
        deadline = time.monotonic() + 30
        while not stream_ends(admin, 5) and time.monotonic() < deadline:
            time.sleep(0.2)
        [end] = stream_ends(admin, 5)
        assert end["session_id"] == session and end["reason"] == "api_restarted"
        # The session itself is intact: a new stream works.
        with open_stream(system, system.api_key, 5, session) as again:
            read_word(again)
        owner.post("/fpga/5/session/release", headers={"X-Session-ID": session})
        wait_state(owner, 5, "idle")
