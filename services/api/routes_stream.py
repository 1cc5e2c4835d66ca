"""``WebSocket /fpga/{id}/stream``: binary Wishbone frames relayed to the board, no job each.

Only the holder of the board's session (``X-Session-ID`` header or ``session_id`` query) may
open it, and the stream belongs to that session: every frame is checked against the board's
current session and relayed with the session's id (the board's worker refuses a frame for any
other), and the stream is closed (4409) the moment the session ends, by release, expiry, reset
or fault, or (4401) when the key that opened it is revoked. It is recorded as ``StreamOpened`` /
``StreamClosed`` events with counts and a SHA-256 digest of every request and response frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from events.subjects import wishbone_subject
from events.types import StreamClosed, StreamOpened, stream_closed_msg_id
from events.watermark import wait_event
from events.wire import (
    OP_READ,
    SESSION_HEADER,
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
from services.api.deps import Services, key_active, socket_caller
from services.auth.caller import Caller
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import DomainError

MAX_STREAM_WORDS = 4096
RELAY_TIMEOUT_S = 10.0
#: How often an idle stream checks that its key is still valid (session ends wake it at once).
KEY_CHECK_S = 1.0
WS_SESSION_ENDED = 4409
WS_KEY_REVOKED = 4401

CLIENT_CLOSED = "client closed the stream"
SESSION_ENDED = "the session ended"
KEY_REVOKED = "the API key was revoked"


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
        owner=caller.owner, now=datetime.now(UTC), api_instance=svc.instance_id,
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
    tally = _Tally()
    relay = asyncio.create_task(_relay(socket, svc, opened, tally))
    watch = asyncio.create_task(_until_ended(svc, opened, caller))
    reason = CLIENT_CLOSED
    try:
        done, _ = await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
        reason = (relay if relay in done else watch).result()
    finally:
        for task in (relay, watch):
            task.cancel()
        await asyncio.gather(relay, watch, return_exceptions=True)
        if reason != CLIENT_CLOSED:
            code = WS_KEY_REVOKED if reason == KEY_REVOKED else WS_SESSION_ENDED
            with contextlib.suppress(Exception):
                await socket.close(code=code, reason=reason)
        closed = StreamClosed(
            fpga_id=fpga_id, stream_id=opened.stream_id, session_id=opened.session_id,
            reads=tally.reads, writes=tally.writes, words_read=tally.words_read,
            words_written=tally.words_written, errors=tally.errors,
            digest=tally.digest.hexdigest(), reason=reason,
        )  # fmt: skip
        await svc.store.append(closed, msg_id=stream_closed_msg_id(opened.stream_id))


async def _relay(
    socket: WebSocket[Any, Any, Any], svc: Services, opened: StreamOpened, tally: _Tally
) -> str:
    """Answer frames until the client goes or a frame finds the session over; why it ended."""
    try:
        while True:
            frame = await socket.receive_bytes()
            req, reply = await _answer(svc, opened, frame)
            tally.record(req, frame, reply)
            await socket.send_bytes(reply)
            if reply[0] == STATUS_NOT_READY:
                return SESSION_ENDED
    except WebSocketDisconnect:
        return CLIENT_CLOSED


async def _until_ended(svc: Services, opened: StreamOpened, caller: Caller) -> str:
    """Return once the stream's session is no longer the board's, or its key is revoked."""
    waker = svc.hub.waker(opened.fpga_id)
    try:
        while True:
            waker.clear()
            if not _current(svc, opened):
                return SESSION_ENDED
            if not key_active(svc, caller):
                return KEY_REVOKED
            await wait_event(waker, KEY_CHECK_S)
    finally:
        svc.hub.drop_waker(opened.fpga_id, waker)


def _current(svc: Services, opened: StreamOpened) -> bool:
    """Whether the stream's session is still the board's reservation."""
    board = svc.runner.views.boards[opened.fpga_id]
    session = board.session
    return (
        board.state == "reserved"
        and session is not None
        and (session.session_id == opened.session_id)
    )


async def _answer(
    svc: Services, opened: StreamOpened, frame: bytes
) -> tuple[Request | None, bytes]:
    try:
        req = decode_request(frame)
    except FrameError:
        return None, encode_response(STATUS_BAD_REQUEST, 0)
    if not _current(svc, opened):
        return req, encode_response(STATUS_NOT_READY, 0)
    board = svc.runner.views.boards[opened.fpga_id]
    if req.count > MAX_STREAM_WORDS:
        return req, encode_response(STATUS_BAD_REQUEST, 0)
    span = 4 if req.fixed else 4 * req.count
    if req.address % 4 or req.address + span > (board.window_size or 0):
        return req, encode_response(STATUS_OUT_OF_WINDOW, 0)
    try:
        msg = await svc.store.nc.request(
            wishbone_subject(opened.fpga_id), frame, RELAY_TIMEOUT_S,
            headers={SESSION_HEADER: str(opened.session_id)},
        )  # fmt: skip
        decode_response(msg.data)
    except Exception:
        return req, encode_response(STATUS_BUS_ERROR, 0)
    return req, msg.data
