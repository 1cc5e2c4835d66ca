"""Answers Wishbone stream frames for one board over NATS request/reply (no job per frame).

The API checks the caller holds the session and that addresses are inside the window; this
side only relays the frame to the board's bridge and answers in the same wire format.
"""

from __future__ import annotations

import contextlib

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from events.subjects import wishbone_subject
from events.wire import (
    OP_READ,
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
    def __init__(self, nc: NATS, fpga_id: int, driver: BoardDriver) -> None:
        self._nc = nc
        self._fpga_id = fpga_id
        self._driver = driver
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(wishbone_subject(self._fpga_id), cb=self._on_frame)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _on_frame(self, msg: Msg) -> None:
        await msg.respond(await self.answer(msg.data))

    async def answer(self, frame: bytes) -> bytes:
        """The response frame for one request frame."""
        try:
            req = decode_request(frame)
        except FrameError:
            return encode_response(STATUS_BAD_REQUEST, 0)
        if not self._driver.programmed():
            return encode_response(STATUS_NOT_READY, 0)
        try:
            if req.op == OP_READ:
                words = await self._driver.read(req.address, req.count, fixed=req.fixed)
                return encode_response(STATUS_OK, len(words), words)
            await self._driver.write(req.address, req.words, fixed=req.fixed, confirm=False)
            return encode_response(STATUS_OK, req.count)
        except DriverError:
            return encode_response(STATUS_BUS_ERROR, 0)
