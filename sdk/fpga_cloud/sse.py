"""Server-Sent Events: the line format of the live feed, and where a cut feed resumes.

The service sends ``id: SEQ``, ``event: TYPE`` and ``data: JSON`` lines, a blank line after
each event, and a comment line (``: keep-alive``) every 15 s while idle. A client that falls
too far behind gets ``event: error`` with ``{"error": "slow_consumer", "resume_after": SEQ}``
and is disconnected: it resumes after that sequence and loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from fpga_cloud.errors import ApiError
from fpga_cloud.models import Event

#: How long a feed may stay silent (no event, no keep-alive) before it is taken for dead.
SILENCE_S = 45.0


@dataclass(frozen=True)
class Message:
    """One dispatched SSE message."""

    event: str
    data: str
    id: str | None = None


@dataclass
class Parser:
    """Turns lines into messages (the subset of the SSE format the service sends)."""

    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, line: str) -> Message | None:
        """Take one line (without its line break); a message when it ends one."""
        if not line:
            if not self._data:
                self._event = ""
                return None
            message = Message(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data, self._id = "", [], None
            return message
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None


class _SlowConsumer(msgspec.Struct):
    error: str
    resume_after: int | None = None
    message: str = ""


@dataclass
class Cursor:
    """Where a feed is: the last sequence delivered, so a reconnect neither skips nor repeats.

    Attributes:
        after: the sequence to resume after; None until an event was seen (then a reconnect
            starts from the moment it is made).
    """

    after: int | None = None

    def take(self, message: Message) -> Event | None:
        """The event a message carries (moving the cursor past it), or None.

        Raises:
            ApiError: an ``error`` message other than a slow-consumer cut.
        """
        if message.event == "error":
            try:
                err = msgspec.json.decode(message.data, type=_SlowConsumer)
            except msgspec.MsgspecError:
                raise ApiError(
                    f"the feed failed: {message.data[:200]}", code="feed_error"
                ) from None
            if err.error == "slow_consumer" and err.resume_after is not None:
                self.after = err.resume_after
                return None
            raise ApiError(err.message or err.error, code=err.error)
        try:
            event = msgspec.json.decode(message.data, type=Event)
        except msgspec.MsgspecError:
            return None  # not an event record: nothing to deliver, nothing to resume from
        if self.after is not None and event.seq <= self.after:
            return None
        self.after = event.seq
        return event
