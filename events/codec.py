"""JSON codec for stored events: one typed decoder per union, reused (msgspec is fastest so)."""

from __future__ import annotations

import msgspec

from events.farm import StoredEvent
from events.types import BoardEvent, LogAppended

_encoder = msgspec.json.Encoder()
_board_decoder: msgspec.json.Decoder[BoardEvent] = msgspec.json.Decoder(BoardEvent)
_stored_decoder: msgspec.json.Decoder[StoredEvent] = msgspec.json.Decoder(StoredEvent)
_log_decoder: msgspec.json.Decoder[LogAppended] = msgspec.json.Decoder(LogAppended)


def encode(event: StoredEvent | LogAppended) -> bytes:
    return _encoder.encode(event)


def decode_board_event(data: bytes) -> BoardEvent:
    """Decode one stored board event; raises ``msgspec.DecodeError`` on a corrupt payload."""
    return _board_decoder.decode(data)


def decode_stored(data: bytes) -> StoredEvent:
    """Decode any message of the board stream: a board's event or a farm aggregate's."""
    return _stored_decoder.decode(data)


def decode_log(data: bytes) -> LogAppended:
    return _log_decoder.decode(data)


def event_type(event: StoredEvent | LogAppended) -> str:
    """The tag, which is also the last token of the event's subject."""
    return type(event).__name__
