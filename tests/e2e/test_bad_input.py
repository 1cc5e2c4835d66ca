"""Bad designs and bad requests against the running system: clear errors, boards back to idle."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.system import wait_job, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

RAISES = b"raise RuntimeError('the design author made a mistake')\n"
SYNTAX = b"class Design(Module:\n    pass\n"
NO_BUS = b"from migen import Module\n\nclass Design(Module):\n    def __init__(self):\n        self.size = 0x1000\n"  # noqa: E501
HANGS = b"while True:\n    pass\n"


@pytest.mark.parametrize(
    ("fpga_id", "source", "expected"),
    [
        (0, RAISES, "RuntimeError"),
        (1, SYNTAX, "SyntaxError"),
        (2, NO_BUS, "bus"),
        (4, HANGS, "timed out"),
    ],
)
def test_failing_design_gives_failed_job_with_log_and_idle_board(
    http: httpx.Client, fpga_id: int, source: bytes, expected: str
) -> None:
    r = http.post(f"/fpga/{fpga_id}/submit", files={"file": ("design.py", source)})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    job = wait_job(http, fpga_id, job_id, timeout=120)
    assert job["status"] == "failed"
    assert expected in (job["error"] or "")
    log = http.get(f"/fpga/{fpga_id}/jobs/{job_id}/logs").text
    assert expected in log
    assert "Traceback" not in job["error"]
    wait_state(http, fpga_id, "idle", timeout=10)


def test_oversized_and_non_utf8_uploads_are_refused(http: httpx.Client) -> None:
    big = http.post("/fpga/7/submit", files={"file": ("design.py", b"#" * 70_000)})
    assert big.status_code == 413
    assert big.json()["detail"]["error"] == "payload_too_large"
    binary = http.post("/fpga/7/submit", files={"file": ("design.py", b"\xff\xfe\x00bad")})
    assert binary.status_code == 422
    assert binary.json()["detail"]["error"] == "validation_error"
    assert http.get("/fpga/7").json()["state"] == "idle"


@pytest.mark.parametrize(
    "body",
    [
        {"op": "write", "address": 0, "data": [1]},
        {"op": 1, "address": "0x10", "data": [1]},
        {"op": 1, "address": 0, "data": "42"},
        {"op": 2, "address": 0, "count": 1.5},
        {"op": 2},
        {"op": 2, "address": 0, "bogus": True},
    ],
)
def test_wrong_body_types_are_422_with_the_envelope(http: httpx.Client, body: object) -> None:
    r = http.post("/fpga/8/run", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["error"] == "validation_error" and detail["message"]


def test_out_of_range_board_and_garbage_body(http: httpx.Client) -> None:
    for path in ("/fpga/10", "/fpga/-1", "/fpga/x"):
        r = http.get(path)
        assert r.status_code == 422 and r.json()["detail"]["error"] == "validation_error"
    r = http.post("/fpga/8/run", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
