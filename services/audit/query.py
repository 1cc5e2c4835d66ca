"""History queries over the board stream: filters, and a sequence cursor for paging."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

from events.codec import event_type
from events.jobs import job_id_of
from events.store import EventStore, Stored
from events.subjects import board_type_filter


@dataclass(frozen=True)
class HistoryFilter:
    """Every field optional; ``after_seq`` is the paging cursor (exclusive)."""

    fpga_id: int | None = None
    event_type: str | None = None
    job_id: uuid.UUID | None = None
    owner: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_seq: int = 0

    def matches(self, stored: Stored) -> bool:
        e = stored.event
        if self.since is not None and e.occurred_at < self.since:
            return False
        if self.until is not None and e.occurred_at >= self.until:
            return False
        if self.job_id is not None:
            job = job_id_of(e)
            if job != self.job_id:
                return False
        return self.owner is None or getattr(e, "owner", None) == self.owner


async def history(store: EventStore, flt: HistoryFilter) -> AsyncGenerator[Stored, None]:
    """Matching events in stream order, from ``after_seq + 1`` to now."""
    subject = board_type_filter(flt.fpga_id, flt.event_type)
    async for stored in store.read(subject, start_seq=flt.after_seq + 1):
        if flt.matches(stored) and (
            flt.event_type is None or event_type(stored.event) == flt.event_type
        ):
            yield stored


async def page(
    store: EventStore, flt: HistoryFilter, limit: int
) -> tuple[list[Stored], int | None]:
    """Up to ``limit`` events and the cursor of the next page (None at the end)."""
    out: list[Stored] = []
    gen = history(store, flt)
    try:
        async for stored in gen:
            out.append(stored)
            if len(out) >= limit:
                return out, stored.seq
    finally:
        await gen.aclose()
    return out, None
