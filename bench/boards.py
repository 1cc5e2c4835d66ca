"""Virtual-board figures: cold builds of new designs and the cost of an idle reserved board
(the simulator's own speed, with and without tracing, is :mod:`bench.simspeed`'s).

* Cold build: submit → ``reserved`` for designs no build cache holds (variants of
  ``examples/mac.py``, each one a new design to the cache), on an otherwise idle farm and again
  while every other board is reserved.
* Idle board: the CPU time its simulator used over ten seconds while nobody talked to it, from
  ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

from bench.httpload import RawClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOUNDARY = "benchboundary"
TICKS = os.sysconf("SC_CLK_TCK")


def multipart(source: bytes, name: str = "design.py") -> tuple[bytes, str]:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
            "\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + source
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def mac_variant(n: int) -> bytes:
    """``examples/mac.py`` made a design no cache has seen (a comment is part of its bytes)."""
    tag = f"{time.time_ns()}-{n}"
    return (EXAMPLES / "mac.py").read_bytes() + f"\n# benchmark variant {tag}\n".encode()


async def state_of(c: RawClient, fpga_id: int) -> dict[str, object]:
    _, body = await c.request("GET", f"/fpga/{fpga_id}")
    board: dict[str, object] = json.loads(body)
    return board


async def wait_state(c: RawClient, fpga_id: int, state: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await state_of(c, fpga_id))["state"] == state:
            return
        await asyncio.sleep(0.002)
    raise RuntimeError(f"board {fpga_id} never reached {state}")


async def session_of(c: RawClient, fpga_id: int) -> str:
    _, body = await c.request("GET", f"/fpga/{fpga_id}/session")
    session: str = json.loads(body)["session_id"]
    return session


async def reserve(c: RawClient, fpga_id: int, source: bytes) -> float:
    """Submit ``source`` and wait until the board is reserved; seconds it took."""
    body, ctype = multipart(source)
    started = time.perf_counter()
    status, data = await c.request("POST", f"/fpga/{fpga_id}/submit", body, ctype)
    if status != 202:
        raise RuntimeError(f"submit answered {status}: {data!r}")
    await wait_state(c, fpga_id, "reserved")
    return time.perf_counter() - started


async def release(c: RawClient, fpga_id: int) -> None:
    await c.request(
        "POST", f"/fpga/{fpga_id}/session/release", session=await session_of(c, fpga_id)
    )
    await wait_state(c, fpga_id, "idle")


async def cold_builds(c: RawClient, fpga_id: int, designs: int = 5) -> list[float]:
    """Submit → reserved for ``designs`` new designs, one after another."""
    took = []
    for n in range(designs):
        took.append(await reserve(c, fpga_id, mac_variant(n)))
        await release(c, fpga_id)
    return took


def _simulators(data_dir: Path) -> dict[int, int]:
    """Board -> pid of its running simulator (its working directory is the board's)."""
    found = {}
    boards = (data_dir / "boards").resolve()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
            comm = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if comm == "Vsim" and cwd.parent == boards:
            found[int(cwd.name)] = int(proc.name)
    return found


def cpu_seconds(pid: int) -> float:
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


async def idle_cpu(data_dir: Path, fpga_id: int, seconds: float = 10.0) -> float:
    """The share of one core an idle reserved board's simulator used over ``seconds``."""
    pid = _simulators(data_dir)[fpga_id]
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - started)
