"""``fpga-cloud tunnel BOARD``: the prototype's TCP protocol on a local port, relayed to the
board over the Wishbone stream (frames in :mod:`services.cli.user.tunnel_frames`).

Any number of clients may connect; each one's requests are answered in order, and all share
one stream, one transaction at a time. A malformed request (unknown opcode, a read whose
length is not 1, a count out of range) is answered with status 1 and the connection goes on;
a declared length too large to skip is answered with status 1 and that connection closed. A
client that leaves halfway through a request affects nobody else. While clients use it, the
tunnel renews the session's lease; it stops when the session ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time

from fpga_cloud import (
    AddressOutOfRange,
    ApiError,
    AsyncClient,
    AsyncSession,
    BusError,
    FpgaCloudError,
    Unreachable,
    ValidationError,
)

from services.cli.user.output import EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE, Output
from services.cli.user.tunnel_frames import (
    HEADER,
    MAX_WORDS,
    OP_READ,
    OP_WRITE,
    STATUS_OK,
    encode_reply,
    error_reply,
    parse_header,
    words,
)

#: How often the tunnel renews the lease while clients use it.
RENEW_EVERY_S = 300.0
#: Errors that concern one transaction only; the tunnel goes on.
TRANSACTION_ERRORS = (BusError, AddressOutOfRange, ValidationError, Unreachable)


class Tunnel:
    """Serves the prototype's protocol for one session; ``ended`` is set when it is over."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.bus = session.stream()
        self.ended = asyncio.Event()
        self.failure: FpgaCloudError | None = None
        self.requests = 0
        self._lock = asyncio.Lock()
        self._clients: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def serve(self, host: str, port: int) -> asyncio.Server:
        """Open the stream and start listening; the server is returned (already serving)."""
        await self.bus.open()
        return await asyncio.start_server(self.client, host, port)

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: requests in, replies out, in order, until it closes."""
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        self._writers.add(writer)
        try:
            while not self.ended.is_set():
                head = parse_header(await reader.readexactly(HEADER.size))
                if head.length > MAX_WORDS:
                    writer.write(error_reply())
                    await writer.drain()
                    return
                body = words(await reader.readexactly(4 * head.length))
                writer.write(await self.answer(head.opcode, head.address, body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client left, perhaps halfway through a request
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def answer(self, opcode: int, address: int, data: list[int]) -> bytes:
        """The reply to one request."""
        if opcode == OP_READ and len(data) == 1 and 1 <= data[0] <= MAX_WORDS:
            read = await self._relay(opcode, address, data)
            return error_reply() if read is None else encode_reply(STATUS_OK, read)
        if opcode == OP_WRITE and data:
            written = await self._relay(opcode, address, data)
            return error_reply() if written is None else encode_reply(STATUS_OK)
        return error_reply()

    async def _relay(self, opcode: int, address: int, data: list[int]) -> list[int] | None:
        """The words read (``[]`` for a write), or None when the transaction failed."""
        async with self._lock:
            if self.ended.is_set():
                return None
            self.requests += 1
            try:
                if opcode == OP_READ:
                    return await self.bus.read(address, data[0])
                await self.bus.write(address, data)
                return []
            except TRANSACTION_ERRORS:
                return None
            except FpgaCloudError as exc:  # the session is over (ended, expired, revoked)
                self.failure = exc
                self.ended.set()
                return None

    async def keep_lease(self) -> None:
        """Renew the lease every ``RENEW_EVERY_S`` while requests come in."""
        seen = self.requests
        while not self.ended.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ended.wait(), RENEW_EVERY_S)
            if self.requests != seen and not self.ended.is_set():
                seen = self.requests
                try:
                    await self.session.renew()
                except ApiError as exc:
                    self.failure = exc
                    self.ended.set()
                except Unreachable:
                    pass  # try again at the next turn

    async def close(self) -> None:
        """Hang up on every client (each handler then ends by itself) and close the stream."""
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._clients, return_exceptions=True)
        await self.bus.close()


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``PORT``) as typed."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give HOST:PORT, e.g. 127.0.0.1:9000") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: the port must be 0 to 65535")
    return host or "127.0.0.1", number


async def _run(board: int, host: str, port: int, out: Output) -> int:
    async with AsyncClient() as client:
        session = await client.session(board, keep=True)
        tunnel = Tunnel(session)
        server = await tunnel.serve(host, port)
        bound = server.sockets[0].getsockname()
        address = f"{bound[0]}:{bound[1]}"
        if out.json:
            out.document({"listen": address, "fpga_id": board, "session_id": session.id})
        else:
            out.out.print(f"tunnel to board {board} listening on {address}")
            out.say(f"session {session.id}; Ctrl-C stops the tunnel (the board stays yours)")
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGINT, signal.SIGTERM):  # a clean stop, not a cancelled one
            loop.add_signal_handler(stop, tunnel.ended.set)
        lease = asyncio.create_task(tunnel.keep_lease())
        try:
            await tunnel.ended.wait()
        finally:
            server.close()
            lease.cancel()
            await asyncio.gather(lease, return_exceptions=True)
            await tunnel.close()
    failure = tunnel.failure
    if failure is not None:
        out.say(f"fpga-cloud: the tunnel stopped after {time.monotonic() - started:.0f} s: "
                f"{failure}")  # fmt: skip
        return EXIT_UNREACHABLE if isinstance(failure, Unreachable) else EXIT_REFUSED
    return EXIT_OK


def cmd_tunnel(args: argparse.Namespace, out: Output) -> int:
    host, port = args.listen
    return asyncio.run(_run(args.board, host, port, out))


def add_tunnel_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("board", type=int, help="the reserved board")
    parser.add_argument(
        "--listen", type=listen_address, default=("127.0.0.1", 0),
        help="HOST:PORT to listen on (default 127.0.0.1 and a free port, printed)",
    )  # fmt: skip
