"""Checks the whole board stream against the audit chain and names the first bad event."""

from __future__ import annotations

import msgspec

from events.chain import GENESIS, ChainLink, check_link, decode_link
from events.store import EventStore
from events.subjects import AUDIT_STREAM, AUDIT_SUBJECT, BOARD_STREAM_FILTERS


class Verdict(msgspec.Struct, kw_only=True):
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head: str = GENESIS


async def verify_chain(store: EventStore) -> Verdict:
    """Recompute every link from the stored events; events not linked yet are not counted."""
    links = store.read_raw(AUDIT_SUBJECT, stream=AUDIT_STREAM)
    prev, checked, expected = GENESIS, 0, 1
    async for raw in store.read_raw(BOARD_STREAM_FILTERS):
        link_raw = await anext(links, None)
        link: ChainLink | None = decode_link(link_raw.data) if link_raw is not None else None
        if raw.seq != expected:
            reason = "event missing from the stream (deleted or rewritten)"
            return Verdict(
                ok=False, checked=checked, first_bad_seq=expected, head=prev, reason=reason
            )
        if link is None:
            break  # the tail not linked yet
        problem = check_link(prev, raw.seq, raw.subject, raw.data, link)
        if problem is not None:
            return Verdict(
                ok=False, checked=checked, first_bad_seq=raw.seq, reason=problem, head=prev
            )
        prev, checked, expected = link.hash, checked + 1, expected + 1
    await links.aclose()
    return Verdict(ok=True, checked=checked, head=prev)
