"""Errors of the event store, one type per thing a caller can act on."""

from __future__ import annotations


class EventStoreError(Exception):
    """The store could not complete an operation."""


class WrongExpectedSequence(EventStoreError):
    """Another writer appended to the board first (JetStream error 10071).

    Attributes:
        actual: the board's last sequence reported by the server, when it says so.
    """

    def __init__(self, description: str, actual: int | None) -> None:
        super().__init__(description)
        self.actual = actual


class DuplicateInProgress(EventStoreError):
    """A message with this message id is being stored by another writer right now (JetStream
    error 10158, in a replicated stream): its outcome is not known yet; read it back shortly."""


class DesignMissing(EventStoreError):
    """A job's design is not in the design bucket (its upload did not complete)."""
