"""``WebSocket /fpga/{id}/stream``: binary Wishbone frames relayed to the board, no job each.

Only the holder of the board's session (``X-Session-ID`` header or ``session_id`` query) may
open it. The stream is recorded as ``StreamOpened`` / ``StreamClosed`` events with counts and a
SHA-256 digest of every request and response frame.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from events.subjects import wishbone_subject
from events.types import StreamClosed, StreamOpened
from events.wire import (
    OP_READ,
    STATUS_BAD_REQUEST,
    STATUS_BUS_ERROR,
    STATUS_NOT_READY,
    STATUS_OK,
    STATUS_OUT_OF_WINDOW,
    FrameError,
    Request,
    decode_request,
    decode_response,
    encode_response,
)
from services.api.deps import Services, socket_caller
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import DomainError

MAX_STREAM_WORDS = 4096
RELAY_TIMEOUT_S = 10.0


class _Tally:
    def __init__(self) -> None:
        self.reads = self.writes = self.words_read = self.words_written = self.errors = 0
        self.digest = hashlib.sha256()

    def record(self, req: Request | None, frame: bytes, reply: bytes) -> None:
        self.digest.update(len(frame).to_bytes(4, "big") + frame)
        self.digest.update(len(reply).to_bytes(4, "big") + reply)
        if req is None or reply[0] != STATUS_OK:
            self.errors += 1
        elif req.op == OP_READ:
            self.reads += 1
            self.words_read += req.count
        else:
            self.writes += 1
            self.words_written += req.count


@websocket("/fpga/{fpga_id:int}/stream", tags=["Wishbone stream"])
async def wishbone_stream(socket: WebSocket[Any, Any, Any], fpga_id: FromPath[int]) -> None:
    """Binary request frames in, response frames out (format in ``events/wire.py``)."""
    svc: Services = socket.app.state.services
    await socket.accept()
    session_id = str(
        socket.headers.get("x-session-id") or socket.query_params.get("session_id") or ""
    )
    caller = socket_caller(socket)
    cmd = commands.OpenStream(
        fpga_id=fpga_id, stream_id=uuid.uuid4(), session_id=session_id,
        owner=caller.owner, lease=svc.lease(),
    )  # fmt: skip
    if fpga_id not in svc.runner.views.boards:
        await socket.close(code=4422, reason="fpga_id out of range")
        return
    try:
        opened = await svc.bus.execute(fpga_id, lambda b: decide(cmd, b))
        assert isinstance(opened, StreamOpened)
    except DomainError as exc:
        await socket.close(code=4000 + exc.status_code, reason=f"{exc.code}: {exc.message}"[:120])
        return
    tally, reason = _Tally(), "client closed the stream"
    try:
        while True:
            frame = await socket.receive_bytes()
            req, reply = await _answer(svc, fpga_id, frame)
            tally.record(req, frame, reply)
            await socket.send_bytes(reply)
            if reply[0] == STATUS_NOT_READY:
                reason = "the session ended"
                await socket.close(code=4409, reason="the board is no longer reserved")
                break
    except WebSocketDisconnect:
        pass
    finally:
        await svc.store.append(
            StreamClosed(
                fpga_id=fpga_id, stream_id=cmd.stream_id, session_id=opened.session_id,
                reads=tally.reads, writes=tally.writes, words_read=tally.words_read,
                words_written=tally.words_written, errors=tally.errors,
                digest=tally.digest.hexdigest(), reason=reason,
            )
        )  # fmt: skip


async def _answer(svc: Services, fpga_id: int, frame: bytes) -> tuple[Request | None, bytes]:
    try:
        req = decode_request(frame)
    except FrameError:
        return None, encode_response(STATUS_BAD_REQUEST, 0)
    board = svc.runner.views.boards[fpga_id]
    if board.state != "reserved" or board.session is None:
        return req, encode_response(STATUS_NOT_READY, 0)
    if req.count > MAX_STREAM_WORDS:
        return req, encode_response(STATUS_BAD_REQUEST, 0)
    span = 4 if req.fixed else 4 * req.count
    if req.address % 4 or req.address + span > (board.window_size or 0):
        return req, encode_response(STATUS_OUT_OF_WINDOW, 0)
    try:
        msg = await svc.store.nc.request(wishbone_subject(fpga_id), frame, RELAY_TIMEOUT_S)
        decode_response(msg.data)
    except Exception:
        return req, encode_response(STATUS_BUS_ERROR, 0)
    return req, msg.data
