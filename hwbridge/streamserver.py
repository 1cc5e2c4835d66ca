"""Answers Wishbone stream frames for one board over NATS request/reply (no job per frame).

The API checks the caller holds the session and that addresses are inside the window; this
side relays the frame to the board's bridge and answers in the same wire format, and only for
the session whose design is loaded: every frame names its session (header
:data:`~events.wire.SESSION_HEADER`), and one that names another session, or none, is answered
"not reserved" without touching the board. So a frame sent for a session that just ended never
reaches the next user's design, however late it arrives.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from events.subjects import wishbone_subject
from events.wire import (
    OP_READ,
    SESSION_HEADER,
    STATUS_BAD_REQUEST,
    STATUS_BUS_ERROR,
    STATUS_NOT_READY,
    STATUS_OK,
    FrameError,
    decode_request,
    encode_response,
)
from hwbridge.drivers.base import BoardDriver, DriverError


class WishboneResponder:
    """Answers one board's frames.

    Args:
        nc: The connection to subscribe on.
        fpga_id: The board.
        driver: The board's driver.
        session_of: The session whose design the board runs now (None between sessions).
    """

    def __init__(
        self,
        nc: NATS,
        fpga_id: int,
        driver: BoardDriver,
        session_of: Callable[[], uuid.UUID | None],
    ) -> None:
        self._nc = nc
        self._fpga_id = fpga_id
        self._driver = driver
        self._session_of = session_of
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(wishbone_subject(self._fpga_id), cb=self._on_frame)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _on_frame(self, msg: Msg) -> None:
        session = (msg.headers or {}).get(SESSION_HEADER)
        await msg.respond(await self.answer(msg.data, session))

    async def answer(self, frame: bytes, session: str | None) -> bytes:
        """The response frame for one request frame sent for ``session``."""
        try:
            req = decode_request(frame)
        except FrameError:
            return encode_response(STATUS_BAD_REQUEST, 0)
        current = self._session_of()
        if current is None or session != str(current) or not self._driver.programmed():
            return encode_response(STATUS_NOT_READY, 0)
        try:
            if req.op == OP_READ:
                words = await self._driver.read(req.address, req.count, fixed=req.fixed)
                return encode_response(STATUS_OK, len(words), words)
            await self._driver.write(req.address, req.words, fixed=req.fixed, confirm=False)
            return encode_response(STATUS_OK, req.count)
        except DriverError:
            return encode_response(STATUS_BUS_ERROR, 0)
