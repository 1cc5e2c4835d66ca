"""Who is calling: the authenticated key, as handlers and deciders see it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated API key. ``key_id`` is what events record as the owner."""

    key_id: str
    name: str
    admin: bool = False

    @property
    def owner(self) -> str:
        return self.key_id
