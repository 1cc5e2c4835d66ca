"""Known API keys for tests: fixed ids and secrets, recorded as the service records any key."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from events.keys import KeyCreated
from events.store import EventStore
from services.auth import keys


@dataclass(frozen=True)
class KnownKey:
    key_id: str
    name: str
    admin: bool = False

    @property
    def secret(self) -> str:
        raw = hashlib.sha256(f"test-secret-{self.key_id}".encode()).digest()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @property
    def plaintext(self) -> str:
        return f"fpk_{self.key_id}_{self.secret}"

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.plaintext}

    def created(self) -> KeyCreated:
        salt = hashlib.sha256(self.key_id.encode()).hexdigest()[:32]
        return KeyCreated(
            key_id=self.key_id,
            name=self.name,
            admin=self.admin,
            salt=salt,
            digest=keys.digest(salt, self.secret),
            created_by="tests",
            event_id=f"test-key-{self.key_id}",
        )


ALICE = KnownKey("a11ce0000001", "alice")
BOB = KnownKey("b0b000000002", "bob")
ADMIN = KnownKey("ad0000000003", "ops", admin=True)
CAROL = KnownKey("ca7010000004", "carol")
ALL = (ALICE, BOB, ADMIN, CAROL)


async def record_test_keys(store: EventStore) -> None:
    """Record the test keys (idempotent: their event ids de-duplicate)."""
    for key in ALL:
        await store.append_key_event(key.created())
