"""How one stored board event is shown outside the service: the envelope the live feeds (SSE,
WebSocket), the history command and auditors' tools read, one JSON object per event."""

from __future__ import annotations

import uuid

import msgspec

from events.codec import event_type
from events.jobs import job_id_of
from events.types import BoardEvent


class Envelope(msgspec.Struct, kw_only=True):
    seq: int
    type: str
    fpga_id: int
    job_id: uuid.UUID | None
    time: str
    payload: BoardEvent
    redacted: bool = False


_encoder = msgspec.json.Encoder()


def envelope_json(seq: int, event: BoardEvent, *, redacted: bool = False) -> bytes:
    """What a subscriber receives for one event."""
    return _encoder.encode(
        Envelope(
            seq=seq, type=event_type(event), fpga_id=event.fpga_id, job_id=job_id_of(event),
            time=event.occurred_at.isoformat(), payload=event, redacted=redacted,
        )
    )  # fmt: skip
