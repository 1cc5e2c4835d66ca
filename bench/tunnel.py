"""The tunnel's figure: the prototype's TCP protocol relayed over the Wishbone stream."""

from __future__ import annotations

import asyncio
import time

from fpga_cloud import AsyncClient

from services.cli.user.tunnel import Tunnel
from services.cli.user.tunnel_frames import OP_READ, encode_request, parse_reply_header

BURST_WORDS = 1024


async def _reply(reader: asyncio.StreamReader) -> int:
    status, length = parse_reply_header(await reader.readexactly(4))
    await reader.readexactly(4 * length)
    if status != 0:
        raise RuntimeError(f"the tunnel answered status {status}")
    return length


async def tunnel_throughput(
    url: str, key: str, fpga_id: int, rounds: int, bursts: int = 50
) -> tuple[list[float], float]:
    """Seconds per one-word read through ``fpga-cloud tunnel`` (a TCP client on the same
    machine), and MB/s of 1024-word reads; the board must be reserved for ``key``."""
    async with AsyncClient(url, key) as client:
        tunnel = Tunnel(await client.session(fpga_id, keep=True))
        server = await tunnel.serve("127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        try:
            reader, writer = await asyncio.open_connection(host, port)
            one = encode_request(OP_READ, 0, [1])
            samples = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                writer.write(one)
                await _reply(reader)
                samples.append(time.perf_counter() - t0)
            burst = encode_request(OP_READ, 0, [BURST_WORDS])
            t0 = time.perf_counter()
            for _ in range(bursts):
                writer.write(burst)
                await _reply(reader)
            mb_per_s = bursts * BURST_WORDS * 4 / (time.perf_counter() - t0) / 1e6
            writer.close()
        finally:
            server.close()
            tunnel.ended.set()
            await tunnel.close()
    return samples, mb_per_s
