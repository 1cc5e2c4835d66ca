"""Issue, revoke and list API keys: the key lifecycle as events on the key stream."""

from __future__ import annotations

from events.keys import KeyLifecycle, KeyRevoked, decode_key_event
from events.store import EventStore
from events.subjects import KEY_STREAM, all_keys_filter
from projections import keys as key_fold
from projections.keyring import KeyRing
from projections.keys import KeyView
from services.auth import keys


class KeyIssuer:
    """Appends key events; with a ``ring``, waits until the ring has them (read-your-writes)."""

    def __init__(self, store: EventStore, ring: KeyRing | None = None) -> None:
        self._store = store
        self._ring = ring

    async def create(
        self, name: str, *, admin: bool, created_by: str, github_login: str | None = None
    ) -> tuple[str, KeyView]:
        """A new key: its plaintext (shown once, never stored) and its view.

        Raises:
            ValueError: the name is not a valid key name.
        """
        plaintext, event = keys.issue(
            name, admin=admin, created_by=created_by, github_login=github_login
        )
        await self._append(event)
        view = key_fold.apply(None, event)
        assert view is not None
        return plaintext, view

    async def rotate(self, key_id: str, *, by: str) -> str:
        """Give an active key a new secret (the old one stops working); the new plaintext.

        Raises:
            KeyError: no active key has this id.
        """
        view = (await self.all()).get(key_id)
        if view is None or not view.active:
            raise KeyError(key_id)
        plaintext, event = keys.rotate(key_id, by=by)
        await self._append(event)
        return plaintext

    async def revoke(self, key_id: str, *, by: str, reason: str = "") -> KeyView:
        """Revoke a key; revoking a revoked key changes nothing.

        Raises:
            KeyError: no key has this id.
        """
        known = await self.all()
        view = known.get(key_id)
        if view is None:
            raise KeyError(key_id)
        if not view.active:
            return view
        event = KeyRevoked(key_id=key_id, by=by, reason=reason)
        await self._append(event)
        revoked = key_fold.apply(view, event)
        assert revoked is not None
        return revoked

    async def _append(self, event: KeyLifecycle) -> None:
        appended = await self._store.append_key_event(event)
        if self._ring is not None:
            await self._ring.wait_for(appended.seq)

    async def all(self) -> dict[str, KeyView]:
        """Every key ever issued, folded from the stream (or the live ring)."""
        if self._ring is not None:
            return dict(self._ring.keys)
        views: dict[str, KeyView] = {}
        async for raw in self._store.read_raw(all_keys_filter(), stream=KEY_STREAM):
            event = decode_key_event(raw.data)
            view = key_fold.apply(views.get(event.key_id), event)
            if view is not None:
                views[event.key_id] = view
        return views
