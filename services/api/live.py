"""Fan-out of appended events to live subscribers (SSE, WebSocket) and log followers.

A subscriber registers before it catches up from the stream, then drops what it already sent,
so a resume from ``Last-Event-ID`` has no gap and no duplicate. Buffers are bounded: a client
that falls too far behind is told where to resume from and disconnected.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from msgspec.structs import replace

from events.codec import event_type
from events.envelope import envelope_json
from events.jobs import job_id_of
from events.store import EventStore
from events.subjects import board_type_filter
from events.types import BoardEvent, LogAppended, RunQueued, WishboneResult
from projections.runner import ProjectionRunner

DEFAULT_BUFFER = 10_000


def _sees_whole(viewer: str | None, owner: str | None) -> bool:
    """Admins (``viewer`` None) and the owner see an event whole; so does everyone when it
    holds nothing private (``owner`` None)."""
    return owner is None or viewer is None or viewer == owner


def redact(event: BoardEvent) -> BoardEvent:
    """The event without the data only its owner may see (words written or read)."""
    if isinstance(event, RunQueued):
        return replace(event, data=[])
    if isinstance(event, WishboneResult):
        return replace(event, data=[], error=None)
    return event


@dataclass(frozen=True)
class EventFilter:
    fpga_id: int | None = None
    types: frozenset[str] | None = None
    job_id: uuid.UUID | None = None

    def matches(self, event: BoardEvent) -> bool:
        if self.fpga_id is not None and event.fpga_id != self.fpga_id:
            return False
        if self.types is not None and event_type(event) not in self.types:
            return False
        if self.job_id is not None:
            return job_id_of(event) == self.job_id
        return True

    def subject(self) -> str:
        single = next(iter(self.types)) if self.types and len(self.types) == 1 else None
        return board_type_filter(self.fpga_id, single)


class SlowConsumer(Exception):
    """The subscriber's buffer overflowed; it may resume after ``last_seq``."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(f"client fell more than its buffer behind; resume after {last_seq}")
        self.last_seq = last_seq


@dataclass(eq=False)
class _Subscriber:
    filter: EventFilter
    queue: asyncio.Queue[tuple[int, str, bytes] | None]
    viewer: str | None = None
    """The subscriber's owner id; ``None`` sees every event whole (admins)."""
    overflowed: bool = False


@dataclass(eq=False)
class _Hub:
    subscribers: set[_Subscriber] = field(default_factory=set)
    wakers: dict[uuid.UUID | int, set[asyncio.Event]] = field(default_factory=dict)
    """Per job (its id) and per board (its ``fpga_id``): set at each event about it."""


class EventHub:
    """Feeds subscribers from the projection runner; catches them up from the store."""

    def __init__(self, store: EventStore, runner: ProjectionRunner, buffer: int = DEFAULT_BUFFER):
        self._store = store
        self._runner = runner
        self._buffer = buffer
        self._hub = _Hub()
        runner.add_listener(self._on_event)
        runner.add_log_listener(self._on_log)

    @property
    def subscriber_count(self) -> int:
        return len(self._hub.subscribers)

    def owner_of(self, event: BoardEvent) -> str | None:
        """Who may see this event whole; ``None`` when it holds nothing private."""
        if isinstance(event, RunQueued):
            return event.owner
        if isinstance(event, WishboneResult):
            job = self._runner.views.jobs.get(event.job_id)
            return job.owner if job is not None else ""
        return None

    def encode_for(self, seq: int, event: BoardEvent, viewer: str | None) -> bytes:
        if _sees_whole(viewer, self.owner_of(event)):
            return envelope_json(seq, event)
        return envelope_json(seq, redact(event), redacted=True)

    def _on_event(self, seq: int, event: BoardEvent) -> None:
        whole: bytes | None = None
        redacted: bytes | None = None
        owner = self.owner_of(event)
        for sub in self._hub.subscribers:
            if sub.overflowed or not sub.filter.matches(event):
                continue
            if _sees_whole(sub.viewer, owner):
                data = whole = whole or envelope_json(seq, event)
            else:
                data = redacted = redacted or envelope_json(seq, redact(event), redacted=True)
            try:
                sub.queue.put_nowait((seq, event_type(event), data))
            except asyncio.QueueFull:
                sub.overflowed = True
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                sub.queue.put_nowait(None)
        job = job_id_of(event)
        if job is not None:
            self._wake(job)
        self._wake(event.fpga_id)

    def _on_log(self, entry: LogAppended) -> None:
        self._wake(entry.job_id)

    def _wake(self, key: uuid.UUID | int) -> None:
        for waker in self._hub.wakers.get(key, ()):
            waker.set()

    async def follow(
        self,
        flt: EventFilter,
        after_seq: int | None,
        *,
        viewer: str | None = None,
        idle_s: float = 15.0,
    ) -> AsyncIterator[tuple[int, str, bytes] | None]:
        """Events matching ``flt`` after ``after_seq`` (None: from now), then live.

        Another owner's run data is redacted unless ``viewer`` is None (an admin).
        Yields ``None`` after ``idle_s`` without events (for keep-alives).

        Raises:
            SlowConsumer: the live buffer overflowed.
        """
        sub = _Subscriber(flt, asyncio.Queue(self._buffer), viewer)
        self._hub.subscribers.add(sub)
        try:
            last = self._runner.views.applied_seq if after_seq is None else after_seq
            if after_seq is not None and after_seq < self._runner.views.applied_seq:
                async for stored in self._store.read(flt.subject(), start_seq=after_seq + 1):
                    last = stored.seq
                    if flt.matches(stored.event):
                        yield (
                            stored.seq,
                            event_type(stored.event),
                            self.encode_for(stored.seq, stored.event, viewer),
                        )
            while True:
                try:
                    async with asyncio.timeout(idle_s):
                        item = await sub.queue.get()
                except TimeoutError:
                    yield None
                    continue
                if item is None:
                    raise SlowConsumer(last)
                if item[0] <= last:
                    continue
                last = item[0]
                yield item
        finally:
            self._hub.subscribers.discard(sub)

    def waker(self, key: uuid.UUID | int) -> asyncio.Event:
        """An event set whenever something happens to a job (its log or state; ``key`` its id)
        or a board (``key`` its ``fpga_id``); release it with ``drop_waker``."""
        waker = asyncio.Event()
        self._hub.wakers.setdefault(key, set()).add(waker)
        return waker

    def drop_waker(self, key: uuid.UUID | int, waker: asyncio.Event) -> None:
        wakers = self._hub.wakers.get(key)
        if wakers is not None:
            wakers.discard(waker)
            if not wakers:
                del self._hub.wakers[key]
