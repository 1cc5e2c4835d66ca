"""The Wishbone stream's binary frames (the seed prototype's wire format), named and checked.

Request: opcode byte (1 write, 2 read; ``| 0x80`` for a fixed address), 3-byte big-endian word
count, 4-byte big-endian byte address, then for writes the big-endian data words.
Response: status byte, 3-byte big-endian count, then for reads the data words.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

OP_WRITE = 0x01
OP_READ = 0x02
FLAG_FIXED = 0x80
REQUEST_HEADER = struct.Struct(">B3sI")
RESPONSE_HEADER = struct.Struct(">B3s")
MAX_WORDS = 0xFFFFFF

#: NATS header of a frame relayed to a board's worker: the session it was sent for.
SESSION_HEADER = "Fpga-Session"

STATUS_OK = 0x00
STATUS_BUS_ERROR = 0x01
STATUS_BAD_REQUEST = 0x02
STATUS_OUT_OF_WINDOW = 0x03
STATUS_NOT_READY = 0x04


class FrameError(ValueError):
    """A request frame that does not follow the format."""


@dataclass(frozen=True, slots=True)
class Request:
    op: int
    fixed: bool
    count: int
    address: int
    words: tuple[int, ...] = ()


def decode_request(frame: bytes) -> Request:
    """Parse a request frame; raises ``FrameError`` with what is wrong."""
    if len(frame) < REQUEST_HEADER.size:
        raise FrameError(f"frame of {len(frame)} bytes is shorter than the 8-byte header")
    opcode, raw_count, address = REQUEST_HEADER.unpack_from(frame)
    op, fixed = opcode & ~FLAG_FIXED, bool(opcode & FLAG_FIXED)
    count = int.from_bytes(raw_count, "big")
    if op not in (OP_WRITE, OP_READ):
        raise FrameError(f"unknown opcode 0x{opcode:02x}")
    if count == 0:
        raise FrameError("word count is 0")
    body = frame[REQUEST_HEADER.size :]
    if op == OP_READ:
        if body:
            raise FrameError("a read carries no data words")
        return Request(op, fixed, count, address)
    if len(body) != 4 * count:
        raise FrameError(f"write of {count} words carries {len(body)} data bytes")
    return Request(op, fixed, count, address, struct.unpack(f">{count}I", body))


def encode_request(req: Request) -> bytes:
    opcode = req.op | (FLAG_FIXED if req.fixed else 0)
    head = REQUEST_HEADER.pack(opcode, req.count.to_bytes(3, "big"), req.address)
    return head + struct.pack(f">{len(req.words)}I", *req.words)


def encode_response(status: int, count: int, words: tuple[int, ...] | list[int] = ()) -> bytes:
    head = RESPONSE_HEADER.pack(status, count.to_bytes(3, "big"))
    return head + struct.pack(f">{len(words)}I", *words)


def decode_response(frame: bytes) -> tuple[int, int, list[int]]:
    """(status, count, words) of a response frame."""
    if len(frame) < RESPONSE_HEADER.size or (len(frame) - RESPONSE_HEADER.size) % 4:
        raise FrameError(f"malformed response of {len(frame)} bytes")
    status, raw_count = RESPONSE_HEADER.unpack_from(frame)
    n = (len(frame) - RESPONSE_HEADER.size) // 4
    words = list(struct.unpack_from(f">{n}I", frame, RESPONSE_HEADER.size))
    return status, int.from_bytes(raw_count, "big"), words
