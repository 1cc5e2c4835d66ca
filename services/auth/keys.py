"""API keys: issue, parse and verify; pure functions, no I/O.

A key reads ``fpk_<key id>_<secret>``. The key id is public (it names the owner in events); the
secret is 256 random bits and is stored only as HMAC-SHA256 under a per-key random salt. A fast
keyed hash is the right tool for random secrets of this size (slow password hashes exist for
guessable passwords), and it keeps authentication off the request's critical path.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from events.keys import KeyCreated, KeyRotated
from projections.keys import KeyView

PREFIX = "fpk"
_KEY = re.compile(r"^fpk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
MAX_NAME = 64
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:@-]{0,63}$")


def digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def valid_name(name: str) -> bool:
    """Key names: 1-64 letters, digits, space and ``._:@-``, starting with a letter or digit."""
    return bool(_NAME.match(name))


def issue(
    name: str, *, admin: bool, created_by: str, github_login: str | None = None
) -> tuple[str, KeyCreated]:
    """A new key: the plaintext (shown once) and the event that records its salted hash.

    Raises:
        ValueError: the name is not a valid key name.
    """
    if not valid_name(name):
        raise ValueError("a key name is 1-64 letters, digits, spaces or ._:@- characters")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    event = KeyCreated(
        key_id=key_id,
        name=name,
        admin=admin,
        salt=salt,
        digest=digest(salt, secret),
        created_by=created_by,
        github_login=github_login,
    )
    return f"{PREFIX}_{key_id}_{secret}", event


def rotate(key_id: str, *, by: str) -> tuple[str, KeyRotated]:
    """A new secret for an existing key: the plaintext and the event with its salted hash."""
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    event = KeyRotated(key_id=key_id, salt=salt, digest=digest(salt, secret), by=by)
    return f"{PREFIX}_{key_id}_{secret}", event


def parse(plaintext: str) -> tuple[str, str] | None:
    """``(key_id, secret)`` of a well-formed key, else None."""
    match = _KEY.match(plaintext)
    return (match.group(1), match.group(2)) if match else None


def verify(view: KeyView | None, secret: str) -> bool:
    """True for an active key whose salted hash matches, in constant time."""
    if view is None or not view.active:
        return False
    return hmac.compare_digest(view.digest, digest(view.salt, secret))
