"""Many clients at once over real HTTP: the event store decides, exactly one wins."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from events.connection import connect
from events.objects import chunk_subject, meta_subject, object_stream
from events.subjects import DESIGN_BUCKET
from tests.e2e.conftest import example
from tests.e2e.system import System, wait_job, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CLIENTS = 24
ROUNDS = 5


async def _stored_writes(system: System, sha: str) -> tuple[int, int]:
    """(chunks, metadata records) the design bucket holds for one design."""
    nc = await connect(system.nats_url, system.nats_credentials(), name="check")
    try:
        js = nc.jetstream()
        counts = []
        for subject in (chunk_subject(DESIGN_BUCKET, sha), meta_subject(DESIGN_BUCKET, sha)):
            info = await js.stream_info(object_stream(DESIGN_BUCKET), subjects_filter=subject)
            counts.append(sum((info.state.subjects or {}).values()))
        return counts[0], counts[1]
    finally:
        await nc.close()


def test_racing_submits_of_new_designs_never_fail_and_store_one_copy(system: System) -> None:
    """Each round a new design raced by many clients over HTTP: one 202, the rest 409, one
    stored copy, nothing refused by NATS. The design fails to elaborate after a few seconds, so
    rounds are short but the board stays taken for the whole race."""
    for round_ in range(ROUNDS):
        design = f"import time\ntime.sleep(3)\nraise SystemExit('round {round_}')\n".encode()
        barrier = threading.Barrier(CLIENTS)

        def attempt(
            _: int, design: bytes = design, barrier: threading.Barrier = barrier
        ) -> httpx.Response:
            with system.client(timeout=30.0) as c:
                barrier.wait()
                return c.post("/fpga/8/submit", files={"file": ("design.py", design)})

        with ThreadPoolExecutor(CLIENTS) as pool:
            responses = list(pool.map(attempt, range(CLIENTS)))
        codes = sorted(r.status_code for r in responses)
        assert codes == [202] + [409] * (CLIENTS - 1), codes
        sha = hashlib.sha256(design).hexdigest()
        assert asyncio.run(_stored_writes(system, sha)) == (1, 1)
        job_id = next(r.json()["job_id"] for r in responses if r.status_code == 202)
        with system.client() as http:
            assert wait_job(http, 8, job_id)["status"] == "failed"
            wait_state(http, 8, "idle")
    assert system.problems() == []


def test_concurrent_submits_one_board_one_job_one_build(system: System) -> None:
    source = example("echo_regs.py")

    def attempt(_: int) -> httpx.Response:
        with system.client(timeout=30.0) as c:
            return c.post("/fpga/9/submit", files={"file": ("design.py", source)})

    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(pool.map(attempt, range(CLIENTS)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * (CLIENTS - 1), codes
    assert {r.json()["detail"]["error"] for r in responses if r.status_code == 409} == {
        "fpga_not_idle"
    }
    job_id = next(r.json()["job_id"] for r in responses if r.status_code == 202)
    with system.client(timeout=30.0) as http:
        assert wait_job(http, 9, job_id)["status"] == "complete"
        mine = {"X-Session-ID": http.get("/fpga/9/session").json()["session_id"]}

        # Concurrent runs: every one accepted, executed once, in a consistent order.
        def run(i: int) -> httpx.Response:
            with system.client(timeout=30.0) as c:
                body = {"op": 1, "address": 4 * (i % 16), "data": [i]}
                return c.post("/fpga/9/run", json=body, headers=mine)

        with ThreadPoolExecutor(CLIENTS) as pool:
            runs = list(pool.map(run, range(16)))
        assert all(r.status_code == 202 for r in runs)
        ids = {r.json()["job_id"] for r in runs}
        assert len(ids) == 16
        for rid in ids:
            assert wait_job(http, 9, rid, timeout=30)["status"] == "complete"
        readback = http.post("/fpga/9/run", json={"op": 2, "address": 0, "count": 16}, headers=mine)
        done = wait_job(http, 9, readback.json()["job_id"], timeout=30)
        assert done["status"] == "complete"
        data = http.get(f"/fpga/9/jobs/{done['job_id']}/result").json()["data"]
        assert data == list(range(16))

        # Concurrent releases: one 202, the others find no session.
        def release(_: int) -> httpx.Response:
            with system.client(timeout=30.0) as c:
                return c.post("/fpga/9/session/release", headers=mine)

        with ThreadPoolExecutor(CLIENTS) as pool:
            rel = list(pool.map(release, range(CLIENTS)))
        rel_codes = sorted(r.status_code for r in rel)
        assert rel_codes == [202] + [404] * (CLIENTS - 1), rel_codes
        wait_state(http, 9, "idle", timeout=30)
