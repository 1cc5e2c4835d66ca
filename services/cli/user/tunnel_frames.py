"""The prototype's TCP protocol, as ``fpga-cloud tunnel`` speaks it, byte for byte.

Request: opcode byte (``1`` write, ``2`` read), 3-byte big-endian length, 4-byte big-endian
byte address, then ``length`` big-endian 32-bit words. A write carries the words to write; a
read carries one word (length 1): the number of words to read.

Reply: status byte (``0`` ok, ``1`` error), 3-byte big-endian length, then ``length``
big-endian words: the words read, none for a write or an error.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

OP_WRITE = 0x01
OP_READ = 0x02
STATUS_OK = 0x00
STATUS_ERROR = 0x01
HEADER = struct.Struct(">B3sI")
REPLY_HEADER = struct.Struct(">B3s")
MAX_WORDS = 65_536
"""The most words one request may carry or read; a longer declared length cannot be trusted,
so the connection that sent it is answered with an error and closed."""


@dataclass(frozen=True)
class Header:
    """A request's first 8 bytes."""

    opcode: int
    length: int
    address: int


def parse_header(head: bytes) -> Header:
    """The 8-byte header of a request (any opcode; the caller judges it)."""
    opcode, raw_length, address = HEADER.unpack(head)
    return Header(opcode, int.from_bytes(raw_length, "big"), address)


def words(body: bytes) -> list[int]:
    """Big-endian 32-bit words."""
    return list(struct.unpack(f">{len(body) // 4}I", body))


def encode_request(opcode: int, address: int, data: list[int] | tuple[int, ...]) -> bytes:
    """A request: for a write ``data`` is the words; for a read, ``[count]``."""
    head = HEADER.pack(opcode, len(data).to_bytes(3, "big"), address)
    return head + struct.pack(f">{len(data)}I", *data)


def encode_reply(status: int, data: list[int] | tuple[int, ...] = ()) -> bytes:
    """A reply: the status and the words (none for a write or an error)."""
    head = REPLY_HEADER.pack(status, len(data).to_bytes(3, "big"))
    return head + struct.pack(f">{len(data)}I", *data)


def error_reply() -> bytes:
    """Status 1, no words."""
    return encode_reply(STATUS_ERROR)


def parse_reply_header(head: bytes) -> tuple[int, int]:
    """``(status, length)`` of a reply's 4-byte header."""
    status, raw_length = REPLY_HEADER.unpack(head)
    return status, int.from_bytes(raw_length, "big")
