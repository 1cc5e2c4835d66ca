"""The shared farm at 10 and at 100 boards: the cost of each command as the farm grows, how soon
a freed board goes to the next job in line, and 200 jobs of 20 keys drained through 10 boards.

In both farms only boards 0-9 take jobs (the others are drained for maintenance), so what
grows is what every command has to look at, not the simulators the machine runs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fpga_cloud import ANY, AsyncClient, AsyncSession

from bench.httpload import RawClient, get_rate
from bench.stats import percentile, summary_ms
from bench.system import EXAMPLES, System

DESIGN = EXAMPLES / "echo_regs.py"
IN_SERVICE = 10


def _client(system: System, key: str) -> RawClient:
    host, port = system.base.split("//", 1)[1].rsplit(":", 1)
    return RawClient(host, int(port), key)


async def start_farm(data_dir: Path, boards: int) -> tuple[System, RawClient]:
    """A running system of ``boards`` virtual boards, all but 0-9 drained; its admin client."""
    system = System(
        data_dir, FPGA_CLOUD_BOARDS=f"0-{boards - 1}", FPGA_CLOUD_RATE_LIMIT="0",
        FPGA_CLOUD_MAX_BOARDS_PER_KEY=str(IN_SERVICE), FPGA_CLOUD_MAX_WAITING_PER_KEY="50",
    )  # fmt: skip
    await asyncio.to_thread(system.start)
    admin = _client(system, await asyncio.to_thread(system.create_key, "admin", admin=True))
    for fpga_id in range(IN_SERVICE, boards):
        await admin.request("POST", f"/fpga/{fpga_id}/maintenance")
    return system, admin


async def command_costs(system: System, key: str, seconds: float) -> dict[str, str]:
    """GET /fpga, GET /fpga/3 (32 connections) and submit -> 202 (a cancelled job each)."""
    host, port = system.base.split("//", 1)[1].rsplit(":", 1)
    figures = {}
    for path in ("/fpga", "/fpga/3"):
        rate = await get_rate(host, int(port), path, key=key, connections=32, seconds=seconds)
        figures[f"GET {path}"] = f"{rate:,.0f} req/s"
    files = {"file": ("design.py", DESIGN.read_bytes())}
    accepted = []
    async with httpx.AsyncClient(base_url=system.base, headers={"X-API-Key": key}) as c:
        for _ in range(100):
            t0 = time.perf_counter()
            submitted = await c.post("/fpga/3/submit", files=files)
            accepted.append(time.perf_counter() - t0)
            submitted.raise_for_status()
            cancel = await c.delete(f"/fpga/3/jobs/{submitted.json()['job_id']}")
            if cancel.status_code != 204:  # the worker took it first: reserved at once (cached)
                await _until(c, "/fpga/3", lambda b: b["state"] == "reserved")
                session = (await c.get("/fpga/3/session")).json()["session_id"]
                await c.post("/fpga/3/reset", headers={"X-Session-ID": session})
            await _until(c, "/fpga/3", lambda b: b["state"] == "idle")
    figures["submit -> 202"] = summary_ms(accepted)
    return figures


async def _until(
    c: httpx.AsyncClient, path: str, done: Callable[[dict[str, Any]], bool], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done((await c.get(path)).json()):
            return
        await asyncio.sleep(0.001)
    raise RuntimeError(f"{path} never got there")


async def freed_to_assigned(system: System, rounds: int) -> list[float]:
    """All ten boards held by one key; another key's job waits. Release one board: the time
    from the release's answer to the waiting job placed on a board (the release's reset, the
    board back to idle, the assignment)."""
    holder = await asyncio.to_thread(system.create_key, "holder")
    waiter = await asyncio.to_thread(system.create_key, "waiter")
    async with AsyncClient(system.base, holder) as h, AsyncClient(system.base, waiter) as w:
        for fpga_id in range(IN_SERVICE):
            await (await h.submit(DESIGN, board=fpga_id)).wait(timeout=300)
        times = []
        for n in range(rounds):
            fpga_id = n % IN_SERVICE
            job = await w.submit(DESIGN, board=ANY)
            session = await h.session(fpga_id)
            t0 = time.perf_counter()
            await session.release()
            while (await job.info()).fpga_id is None:
                pass
            times.append(time.perf_counter() - t0)
            await job.wait(timeout=120)
            await _release(await job.session())
            await (await h.submit(DESIGN, board=fpga_id)).wait(timeout=120)
        for fpga_id in range(IN_SERVICE):
            await (await h.session(fpga_id)).release()
    return times


async def drain(
    system: System, keys: int = 20, jobs_per_key: int = 10
) -> tuple[float, list[float]]:
    """``keys`` keys each submit ``jobs_per_key`` jobs for any board at once, then take each
    board in turn (wait, release). Jobs per second through the ten boards, and each key's mean
    wait from submit to board."""
    names = [f"drain{i}" for i in range(keys)]
    secrets = await asyncio.gather(*(asyncio.to_thread(system.create_key, n) for n in names))

    async def user(key: str) -> list[float]:
        async with AsyncClient(system.base, key) as c:
            submitted = []
            for _ in range(jobs_per_key):
                submitted.append((time.perf_counter(), await c.submit(DESIGN, board=ANY)))
            waits = []
            for t0, job in submitted:
                await job.wait(timeout=600)
                waits.append(time.perf_counter() - t0)
                await (await job.session()).release()
            return waits

    t0 = time.perf_counter()
    waits = await asyncio.gather(*(user(k) for k in secrets))
    took = time.perf_counter() - t0
    return keys * jobs_per_key / took, [statistics.mean(w) for w in waits]


async def farm(data_dir: Path, boards: int, seconds: float) -> None:
    system, admin = await start_farm(data_dir, boards)
    try:
        key = system.api_key
        # The design in the build cache first: every job below is a cache hit.
        await _warm(system, key)
        for name, figure in (await command_costs(system, key, seconds)).items():
            print(f"farm of {boards:3d}: {name:<14} {figure}")
        freed = await freed_to_assigned(system, rounds=30)
        print(f"farm of {boards:3d}: board freed -> next job assigned  {summary_ms(freed)}")
        if boards == IN_SERVICE:
            rate, per_key = await drain(system)
            spread = f"{min(per_key):.1f} - {max(per_key):.1f} s"
            print(
                f"farm of {boards:3d}: 200 jobs of 20 keys through 10 boards  {rate:.1f} jobs/s; "
                f"mean wait per key {spread} (p50 {percentile(per_key, 50):.1f} s)"
            )
    finally:
        await admin.close()
        await asyncio.to_thread(system.stop)


async def _warm(system: System, key: str) -> None:
    async with AsyncClient(system.base, key) as c:
        job = await c.submit(DESIGN, board=0)
        await job.wait(timeout=300)
        await _release(await job.session())


async def _release(session: AsyncSession) -> None:
    """Release the board and wait until its reset is done (the board is idle again)."""
    await (await session.release()).wait(timeout=60)
