"""Run every benchmark and print the figures: ``python -m bench [--url http://host:port]``.

Without ``--url`` it starts the whole system (embedded NATS, API, 10 virtual boards) in a
temporary data directory, exactly as ``make run`` does, and stops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from nats.aio.msg import Msg

from bench import boards
from bench.abuse import HEADER_MB, huge_header
from bench.durability import append_latency
from bench.farm import farm
from bench.httpload import RawClient, get_rate
from bench.live import sse_fanout, stream_round_trips
from bench.replay import replay_rate
from bench.simspeed import simulator_speeds
from bench.stats import summary_ms, summary_s
from bench.system import System
from bench.tunnel import tunnel_throughput
from events.connection import (
    ADMIN_USER,
    PROJECTIONS_USER,
    NatsCredentials,
    connect,
    credentials_from_env,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "echo_regs.py"
BOUNDARY = "benchboundary"


def _multipart(source: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="design.py"'
            f"\r\nContent-Type: text/x-python\r\n\r\n"
        ).encode()
        + source
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def _wait_state(c: RawClient, fpga_id: int, state: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, body = await c.request("GET", f"/fpga/{fpga_id}")
        if json.loads(body)["state"] == state:
            return
        await asyncio.sleep(0.001)
    raise RuntimeError(f"board {fpga_id} never reached {state}")


async def _session(c: RawClient, fpga_id: int) -> str:
    _, body = await c.request("GET", f"/fpga/{fpga_id}/session")
    session: str = json.loads(body)["session_id"]
    return session


async def submit_latency(
    c: RawClient, fpga_id: int, rounds: int
) -> tuple[list[float], list[float]]:
    """submit -> 202, and submit -> reserved for a design already in the build cache."""
    body = _multipart(EXAMPLE.read_bytes())
    ctype = f"multipart/form-data; boundary={BOUNDARY}"
    accepted, reserved = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        status, data = await c.request("POST", f"/fpga/{fpga_id}/submit", body, ctype)
        if status != 202:
            raise RuntimeError(f"submit answered {status}: {data!r}")
        accepted.append(time.perf_counter() - t0)
        await _wait_state(c, fpga_id, "reserved")
        reserved.append(time.perf_counter() - t0)
        await c.request("POST", f"/fpga/{fpga_id}/reset", session=await _session(c, fpga_id))
        await _wait_state(c, fpga_id, "idle")
    return accepted, reserved


async def run_round_trips(
    c: RawClient, nats_url: str, credentials: NatsCredentials | None, fpga_id: int, rounds: int
) -> tuple[list[float], list[float]]:
    """POST /run (1-word read) -> result available, and event appended -> visible in GET."""
    nc = await connect(nats_url, credentials, name="bench")
    seen: dict[str, float] = {}

    async def on_result(msg: Msg) -> None:
        seen[json.loads(msg.data)["job_id"]] = time.perf_counter()

    await nc.subscribe(f"fpga.{fpga_id}.WishboneResult", cb=on_result)
    round_trips, lags = [], []
    session = await _session(c, fpga_id)
    body = b'{"op": 2, "address": 0, "count": 1}'
    for _ in range(rounds):
        t0 = time.perf_counter()
        status, data = await c.request("POST", f"/fpga/{fpga_id}/run", body, session=session)
        if status != 202:
            raise RuntimeError(f"run answered {status}: {data!r}")
        job_id = json.loads(data)["job_id"]
        while (await c.request("GET", f"/fpga/{fpga_id}/jobs/{job_id}/result"))[0] != 200:
            pass
        t2 = time.perf_counter()
        round_trips.append(t2 - t0)
        for _ in range(100):
            if job_id in seen:
                break
            await asyncio.sleep(0.001)
        if job_id in seen:
            lags.append(max(0.0, t2 - seen[job_id]))
    await nc.close()
    return round_trips, lags


async def virtual_boards(c: RawClient, data_dir: Path | None) -> None:
    """Cold builds, and what an idle reserved board costs (which needs this host's data dir)."""
    cold = await boards.cold_builds(c, 9)
    print(f"cold build -> reserved, idle farm  {summary_s(cold)}")
    for fpga_id in range(9):
        await boards.reserve(c, fpga_id, EXAMPLE.read_bytes())
    cold = await boards.cold_builds(c, 9)
    print(f"cold build -> reserved, 9 others reserved  {summary_s(cold)}")
    if data_dir is not None:
        share = await boards.idle_cpu(data_dir, 0)
        print(f"idle reserved board: {share * 100:.1f} % of one core over 10 s")
    for fpga_id in range(9):
        await boards.release(c, fpga_id)


async def main(url: str | None, seconds: float) -> None:
    url_given = url
    system: System | None = None
    watcher: NatsCredentials | None
    writer: NatsCredentials | None
    tmp = tempfile.TemporaryDirectory()
    if url is None:
        # The rate limiter runs (its cost is measured) but this one client may go flat out.
        system = System(
            Path(tmp.name) / "data", FPGA_CLOUD_RATE_LIMIT="1e9",
            FPGA_CLOUD_RATE_BURST="1000000000", FPGA_CLOUD_MAX_BOARDS_PER_KEY="10",
        )  # fmt: skip
        await asyncio.to_thread(system.start)
        url, nats_url, key = system.base, system.nats_url, system.api_key
        watcher = system.nats_credentials(PROJECTIONS_USER)
        writer = system.nats_credentials(ADMIN_USER)
    else:
        nats_url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
        watcher = writer = credentials_from_env(ADMIN_USER)
        key = os.environ["API_KEY"]
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    try:
        c = RawClient(host, int(port), key)
        # A first build waits for this host's simulator kit, which a fresh data directory
        # builds in the background at start: nothing is measured while it compiles.
        await boards.cold_builds(c, 9, designs=1)
        for path in ("/fpga", "/fpga/3"):
            rate = await get_rate(host, int(port), path, key=key, connections=32, seconds=seconds)
            print(f"GET {path:<8} {rate:8.0f} req/s  (32 connections, {seconds:.0f} s)")
        accepted, reserved = await submit_latency(c, 4, rounds=50)
        print(f"submit -> 202              {summary_ms(accepted[1:])}")
        print(f"submit -> reserved (cached) {summary_ms(reserved[1:])}")
        await c.request(
            "POST",
            "/fpga/4/submit",
            _multipart(EXAMPLE.read_bytes()),
            f"multipart/form-data; boundary={BOUNDARY}",
        )
        await _wait_state(c, 4, "reserved")
        trips, lags = await run_round_trips(c, nats_url, watcher, 4, rounds=1000)
        print(f"POST /run -> result        {summary_ms(trips)}")
        print(f"projection lag             {summary_ms(lags)}")
        session = await _session(c, 4)
        ws_url = f"ws://{host}:{port}/fpga/4/stream"
        trips = await stream_round_trips(ws_url, key, session, rounds=2000)
        print(
            f"WebSocket stream 1-word read {summary_ms(trips)}, {len(trips) / sum(trips):.0f} tx/s"
        )
        trips, mb_per_s = await tunnel_throughput(url, key, 4, rounds=2000)
        print(
            f"tunnel (TCP, prototype protocol) 1-word read {summary_ms(trips)}, "
            f"{len(trips) / sum(trips):.0f} tx/s; 1024-word reads {mb_per_s:.2f} MB/s"
        )
        rate = await sse_fanout(host, int(port), nats_url, writer, key, clients=100, events=1000)
        print(f"SSE fan-out, 100 clients   {rate:8.0f} events/s delivered")
        status, took, health = await huge_header(host, int(port))
        print(
            f"{HEADER_MB} MB header: {status} after {took * 1e3:.0f} ms; "
            f"GET /health meanwhile {summary_ms(health)}"
        )
        # Release, which stops its simulation, before the boards' own figures.
        await c.request("POST", "/fpga/4/session/release", session=session)
        await _wait_state(c, 4, "idle")
        await virtual_boards(c, system.data_dir if system else None)
        await c.close()
    finally:
        if system is not None:
            await asyncio.to_thread(system.stop)
        tmp.cleanup()
    # On its own nats-server, with the system above stopped, so nothing else shares the cores.
    count, rate = await replay_rate(100_000)
    print(f"full replay                {rate:8.0f} events/s ({count} events)")
    for nodes in (1, 3):
        for always in (False, True):
            label = "sync_interval always " if always else "sync_interval default"
            where = "1 server " if nodes == 1 else "3 nodes R3"
            samples = await append_latency(always, nodes=nodes)
            print(f"append, {where}, {label}  {summary_ms(samples)}")
    # This host's simulators, alone too: tracing off, compiled in but off, recording.
    with tempfile.TemporaryDirectory() as sim_dir:
        for line in (await simulator_speeds(Path(sim_dir))).lines():
            print(line)
    if url_given is None:
        for size in (10, 100):
            with tempfile.TemporaryDirectory() as farm_dir:
                await farm(Path(farm_dir) / "data", size, seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--url", help="bench a running system (NATS_URL for its NATS)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each GET load")
    args = parser.parse_args()
    import uvloop

    uvloop.install()
    asyncio.run(main(args.url, args.seconds))
