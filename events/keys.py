"""API key lifecycle events: a key's identity and salted hash, never the key itself.

Keys live on their own stream (``events.subjects.KEY_STREAM``, subjects
``fpgakey.<key_id>.<Type>``) so that board subscribers never see them and only the API and the
admin tools may write them.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from events import subjects
from events.types import new_event_id, utc_now


class KeyEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every key event: the key's public id, time and schema version."""

    key_id: str
    event_id: str = msgspec.field(default_factory=new_event_id)
    occurred_at: datetime = msgspec.field(default_factory=utc_now)
    v: int = 1


class KeyCreated(KeyEvent, tag=True, frozen=True, kw_only=True):
    """A key was issued. ``digest`` is HMAC-SHA256(salt, secret); the secret is not stored."""

    name: str
    admin: bool
    salt: str
    digest: str
    created_by: str
    github_login: str | None = None


class KeyRotated(KeyEvent, tag=True, frozen=True, kw_only=True):
    """The key got a new secret (new salt and digest); its id, and so what it owns, stay."""

    salt: str
    digest: str
    by: str


class KeyRevoked(KeyEvent, tag=True, frozen=True, kw_only=True):
    """A key stops working from this event on."""

    by: str
    reason: str = ""


KeyLifecycle = KeyCreated | KeyRotated | KeyRevoked

_encoder = msgspec.json.Encoder()
_decoder: msgspec.json.Decoder[KeyLifecycle] = msgspec.json.Decoder(KeyLifecycle)


def key_subject(event: KeyLifecycle) -> str:
    """``fpgakey.<key_id>.KeyCreated``."""
    return subjects.key_subject(event.key_id, type(event).__name__)


def encode_key_event(event: KeyLifecycle) -> bytes:
    return _encoder.encode(event)


def decode_key_event(data: bytes) -> KeyLifecycle:
    return _decoder.decode(data)
