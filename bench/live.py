"""Live-update figures: SSE fan-out to many clients, and Wishbone stream round trips."""

from __future__ import annotations

import asyncio
import struct
import time
import uuid

from websockets.asyncio.client import connect

from events.connection import NatsCredentials
from events.connection import connect as nats_connect
from events.store import EventStore
from events.types import JobCancelled


async def sse_fanout(
    host: str,
    port: int,
    nats_url: str,
    credentials: NatsCredentials | None,
    key: str,
    clients: int,
    events: int,
) -> float:
    """Events/s delivered in total to ``clients`` SSE subscribers of ``GET /events``."""
    received = [0] * clients
    ready = asyncio.Event()
    connected = 0

    async def client(i: int) -> None:
        nonlocal connected
        reader, writer = await asyncio.open_connection(host, port)
        request = f"GET /events?type=JobCancelled HTTP/1.1\r\nHost: {host}\r\nX-API-Key: {key}\r\n"
        writer.write(request.encode() + b"\r\n")
        await reader.readuntil(b"\r\n\r\n")
        connected += 1
        if connected == clients:
            ready.set()
        try:
            while received[i] < events:
                line = await reader.readline()
                if line.startswith(b"id: "):
                    received[i] += 1
        finally:
            writer.close()

    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    await asyncio.wait_for(ready.wait(), 30)
    await asyncio.sleep(0.5)  # let every subscription register with the hub
    nc = await nats_connect(nats_url, credentials, name="bench")
    store = EventStore(nc)
    started = time.perf_counter()
    batch = [JobCancelled(fpga_id=9, job_id=uuid.uuid4(), by="bench") for _ in range(events)]
    for i in range(0, events, 500):
        await asyncio.gather(*(store.append(e) for e in batch[i : i + 500]))
    await asyncio.wait_for(asyncio.gather(*tasks), 300)
    elapsed = time.perf_counter() - started
    await nc.close()
    return clients * events / elapsed


async def stream_round_trips(ws_url: str, key: str, session_id: str, rounds: int) -> list[float]:
    """Seconds per one-word read over ``WebSocket /fpga/{id}/stream``."""
    frame = bytes([2, 0, 0, 1]) + struct.pack(">I", 0)
    samples = []
    headers = {"X-Session-ID": session_id, "X-API-Key": key}
    async with connect(ws_url, additional_headers=headers) as ws:
        for _ in range(rounds):
            t0 = time.perf_counter()
            await ws.send(frame)
            reply = await ws.recv()
            samples.append(time.perf_counter() - t0)
            if not isinstance(reply, bytes) or reply[0] != 0:
                raise RuntimeError(f"stream answered {reply!r}")
    return samples
