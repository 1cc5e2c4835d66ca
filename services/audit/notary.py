"""Extends the audit hash chain: one link per message of the board stream (the boards' events
and the farm aggregates'), in stream order.

Every API replica runs one; a link is appended with the audit stream's expected last sequence,
so exactly one replica writes each link and the others adopt it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from events.chain import GENESIS, ChainLink, decode_link, encode_link, link_hash
from events.errors import DuplicateInProgress, EventStoreError, WrongExpectedSequence
from events.store import EventStore, stream_seq
from events.subjects import AUDIT_STREAM, AUDIT_SUBJECT, BOARD_STREAM_FILTERS

log = logging.getLogger(__name__)

#: Pause between attempts to store or read back a link, and how many attempts between warnings.
LINK_RETRY_S = 0.1
LINK_WARN_EVERY = 50


class Notary:
    """Follows the board stream and appends a chain link for every event not yet linked."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.head = GENESIS
        self.count = 0
        self.at: datetime | None = None
        self._sub: JetStreamContext.PushSubscription | None = None

    async def start(self) -> None:
        last = await self._last_link()
        if last is not None:
            self.head, self.count, self.at = last.hash, last.seq, last.at
        self._sub = await self._store.subscribe(
            BOARD_STREAM_FILTERS, self._on_event, start_seq=self.count + 1
        )

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _last_link(self) -> ChainLink | None:
        info = await self._store.js.stream_info(AUDIT_STREAM)
        if not info.state.last_seq:
            return None
        return await self._link_at(int(info.state.last_seq))

    async def _link_at(self, seq: int) -> ChainLink | None:
        try:
            msg = await self._store.js.get_msg(AUDIT_STREAM, seq)
        except NotFoundError:
            return None
        return decode_link(msg.data or b"")

    async def _on_event(self, msg: Msg) -> None:
        seq = stream_seq(msg)
        if seq <= self.count:
            return
        ours = ChainLink(
            seq=seq, subject=msg.subject, prev=self.head, at=datetime.now(UTC),
            hash=link_hash(self.head, seq, msg.subject, msg.data),
        )  # fmt: skip
        link = await self._stored_link(ours)
        if link.hash != ours.hash:
            log.error("audit chain: link %d differs between replicas", seq)
        self.head, self.count, self.at = link.hash, seq, link.at

    async def _stored_link(self, ours: ChainLink) -> ChainLink:
        """Store ``ours``, or adopt the link another replica (or an unacknowledged attempt of
        ours) stored for its sequence. Links are strictly in order, so through a failover this
        waits and tries again: the chain never skips an event.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._store.publish_expecting(
                    AUDIT_SUBJECT, encode_link(ours), msg_id=f"link-{ours.seq}",
                    expected_last_seq=ours.seq - 1,
                )  # fmt: skip
                return ours
            except (WrongExpectedSequence, DuplicateInProgress):
                pass  # another writer was first, or is storing it now: read it below
            except (NatsError, EventStoreError, TimeoutError) as exc:
                if attempt % LINK_WARN_EVERY == 1:
                    log.warning("audit chain: link %d not stored yet (%s); retrying", ours.seq, exc)
            with contextlib.suppress(NatsError, TimeoutError):
                theirs = await self._link_at(ours.seq)
                if theirs is not None:
                    return theirs
            await asyncio.sleep(LINK_RETRY_S)
