"""The audit hash chain: each link covers one stored event and the link before it. Pure."""

from __future__ import annotations

import hashlib
from datetime import datetime

import msgspec

GENESIS = "0" * 64


class ChainLink(msgspec.Struct, frozen=True, kw_only=True):
    """The chain record of the board event at ``seq`` (stored on the audit stream)."""

    seq: int
    subject: str
    hash: str
    prev: str
    at: datetime


def link_hash(prev: str, seq: int, subject: str, data: bytes) -> str:
    """SHA-256 over the previous hash, the event's sequence, subject and stored bytes."""
    h = hashlib.sha256()
    h.update(prev.encode())
    h.update(b"\0%d\0" % seq)
    h.update(subject.encode())
    h.update(b"\0")
    h.update(data)
    return h.hexdigest()


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ChainLink)


def encode_link(link: ChainLink) -> bytes:
    return _encoder.encode(link)


def decode_link(data: bytes) -> ChainLink:
    return _decoder.decode(data)


def check_link(
    prev: str, seq: int, subject: str, data: bytes, link: ChainLink | None
) -> str | None:
    """Why the link does not vouch for this event (None when it does)."""
    if link is None:
        return "no chain link for this event"
    if link.seq != seq:
        return f"chain link is for event {link.seq}"
    if link.prev != prev:
        return "chain link does not follow the previous link"
    if link.hash != link_hash(prev, seq, subject, data):
        return "event content does not match its chain link"
    return None
