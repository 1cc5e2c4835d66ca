"""Frames of the Wishbone stream (``WebSocket /fpga/{id}/stream``), and what its answers mean.

Request: opcode byte (1 write, 2 read; ``| 0x80`` keeps the address fixed, for FIFO ports),
3-byte big-endian word count (1 to 4096), 4-byte big-endian byte address (an offset in the
design's window), then for writes the big-endian data words. Response: status byte, 3-byte
big-endian count, then for reads the data words. Status 0 ok, 1 bus or link error, 2 malformed
frame, 3 outside the window, 4 board not reserved (the service then closes the stream).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from fpga_cloud.errors import (
    ERRORS,
    AddressOutOfRange,
    BusError,
    FpgaCloudError,
    FpgaNotReserved,
    StreamClosed,
    ValidationError,
    api_error,
)

OP_WRITE = 0x01
OP_READ = 0x02
FLAG_FIXED = 0x80
MAX_FRAME_WORDS = 4096
"""The most words one frame may carry; longer transfers are sent as several frames."""
HEADER = struct.Struct(">B3sI")
REPLY_HEADER = 4

STATUS_OK = 0
STATUS_BUS_ERROR = 1
STATUS_MALFORMED = 2
STATUS_OUT_OF_WINDOW = 3
STATUS_NOT_RESERVED = 4


def _head(op: int, count: int, address: int, fixed: bool) -> bytes:
    return HEADER.pack(op | (FLAG_FIXED if fixed else 0), count.to_bytes(3, "big"), address)


def encode_read(address: int, count: int, fixed: bool = False) -> bytes:
    """A read request of ``count`` words (1 to 4096) from byte ``address``."""
    return _head(OP_READ, count, address, fixed)


def encode_write(address: int, words: Sequence[int], fixed: bool = False) -> bytes:
    """A write request of ``words`` (1 to 4096) at byte ``address``."""
    return _head(OP_WRITE, len(words), address, fixed) + struct.pack(f">{len(words)}I", *words)


def pieces(address: int, count: int, fixed: bool) -> Iterator[tuple[int, int, int]]:
    """``(address, offset, n)`` of each frame of a transfer of ``count`` words."""
    for offset in range(0, count, MAX_FRAME_WORDS):
        n = min(MAX_FRAME_WORDS, count - offset)
        yield (address if fixed else address + 4 * offset), offset, n


def decode_reply(frame: bytes, address: int, count: int) -> list[int]:
    """The words of a response frame.

    Raises:
        BusError: status 1 (the access failed on the bus or the link).
        AddressOutOfRange: status 3.
        FpgaNotReserved: status 4 (the session is over).
        ValidationError: status 2, or a frame that is no response at all.
    """
    if len(frame) < REPLY_HEADER or (len(frame) - REPLY_HEADER) % 4:
        raise ValidationError(f"malformed stream response of {len(frame)} bytes")
    status = frame[0]
    if status == STATUS_OK:
        n = (len(frame) - REPLY_HEADER) // 4
        return list(struct.unpack_from(f">{n}I", frame, REPLY_HEADER))
    if status == STATUS_BUS_ERROR:
        raise BusError(f"the Wishbone access at 0x{address:x} failed (bus or link error)")
    if status == STATUS_OUT_OF_WINDOW:
        raise AddressOutOfRange(
            f"{count} word(s) at 0x{address:x} reach outside the design's window "
            "(or the address is not 4-byte aligned)"
        )
    if status == STATUS_NOT_RESERVED:
        raise FpgaNotReserved("the board is no longer reserved for this session")
    raise ValidationError(f"the service found the frame malformed (status {status})")


def close_error(code: int | None, reason: str) -> FpgaCloudError:
    """The error for a stream the service closed.

    A refusal's close code is 4000 + the HTTP status and its reason reads ``"code: message"``
    (``"not_session_owner: ..."``); a stream whose session ended is closed with 4409.
    """
    name, sep, message = reason.partition(": ")
    status = code - 4000 if code is not None and 4000 <= code < 5000 else None
    if name in ERRORS:
        return api_error(name, message if sep else name, status)
    by_status = _CLOSE_STATUS.get(status or 0)
    if by_status is not None:
        return api_error(by_status, reason or by_status, status)
    return StreamClosed(
        f"the service closed the stream ({code}: {reason or 'no reason given'})", status=status
    )


_CLOSE_STATUS = {
    401: "unauthorized",
    403: "forbidden",
    422: "validation_error",
    429: "rate_limited",
}
