"""Key view fold: ``apply(view, event) -> view``, pure; ``None`` before the key exists."""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec.structs import replace

from events.keys import KeyCreated, KeyLifecycle, KeyRevoked, KeyRotated


class KeyView(msgspec.Struct, frozen=True, kw_only=True):
    """One API key as the service knows it: public identity, salted hash, state."""

    key_id: str
    name: str
    admin: bool
    salt: str
    digest: str
    created_at: datetime
    created_by: str
    github_login: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def apply(view: KeyView | None, event: KeyLifecycle) -> KeyView | None:
    """Fold one key event; a revocation is final, a second creation of an id is ignored."""
    match event:
        case KeyCreated() if view is None:
            return KeyView(
                key_id=event.key_id,
                name=event.name,
                admin=event.admin,
                salt=event.salt,
                digest=event.digest,
                created_at=event.occurred_at,
                created_by=event.created_by,
                github_login=event.github_login,
            )
        case KeyRotated(salt=salt, digest=digest) if view is not None and view.active:
            return replace(view, salt=salt, digest=digest)
        case KeyRevoked() if view is not None and view.revoked_at is None:
            return replace(view, revoked_at=event.occurred_at)
        case _:
            return view
