"""Keeps the key views current from the key stream; the API authenticates against it."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events.keys import decode_key_event
from events.store import EventStore, stream_seq
from events.subjects import KEY_STREAM, all_keys_filter
from events.watermark import Watermark
from projections import keys as key_fold
from projections.keys import KeyView


class KeyRing:
    """Every key folded from ``FPGA_KEYS``, followed live so revocations apply at once."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.keys: dict[str, KeyView] = {}
        self._watermark = Watermark()
        self._sub: JetStreamContext.PushSubscription | None = None
        # Catch-ups are numbered as they begin; one that began after a caller asked serves it.
        self._catch_up_lock = asyncio.Lock()
        self._catch_ups_begun = 0
        self._catch_up_done = 0

    def get(self, key_id: str) -> KeyView | None:
        return self.keys.get(key_id)

    async def start(self) -> None:
        """Subscribe from the beginning and return once every stored key is folded."""
        target = await self._store.last_seq(KEY_STREAM)
        self._sub = await self._store.subscribe(all_keys_filter(), self._on_msg, stream=KEY_STREAM)
        await self.wait_for(target)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def _on_msg(self, msg: Msg) -> None:
        seq = stream_seq(msg)
        if seq <= self._watermark.seq:
            return
        event = decode_key_event(msg.data)
        view = key_fold.apply(self.keys.get(event.key_id), event)
        if view is not None:
            self.keys[event.key_id] = view
        self._watermark.advance(seq)

    async def catch_up(self, timeout: float = 2.0) -> None:
        """Fold every key event stored before this call, e.g. a key issued a moment ago by the
        CLI or another API replica that the live subscription has not delivered yet.

        Concurrent callers share a catch-up that began after they asked, so a burst of unknown
        keys costs one stream lookup, not one each.

        Raises:
            TimeoutError: the events were not folded within ``timeout``.
            nats.errors.Error: the stream could not be asked.
        """
        ticket = self._catch_ups_begun
        async with self._catch_up_lock:
            if self._catch_up_done > ticket:
                return
            self._catch_ups_begun += 1
            mine = self._catch_ups_begun
            await self.wait_for(await self._store.last_seq(KEY_STREAM), timeout)
            self._catch_up_done = mine

    async def wait_for(self, seq: int, timeout: float = 10.0) -> None:
        """Return once the key event at ``seq`` (or a later one) is folded."""
        await self._watermark.wait_for(seq, timeout)
