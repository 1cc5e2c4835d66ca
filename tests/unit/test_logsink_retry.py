"""A log flush the event store does not acknowledge keeps its lines: the same entry is sent
again first at the next flush, so no line is lost and none is stored twice."""

from __future__ import annotations

import uuid
from typing import cast

from events.errors import EventStoreError
from events.publish import Appended
from events.store import EventStore
from events.types import LogAppended
from hwbridge.logsink import LogSink


class FlakyStore:
    """Refuses the first append, then stores."""

    def __init__(self) -> None:
        self.attempts: list[LogAppended] = []
        self.stored: list[LogAppended] = []

    async def append_log(self, entry: LogAppended) -> Appended:
        self.attempts.append(entry)
        if len(self.attempts) == 1:
            raise EventStoreError("the store is failing over")
        self.stored.append(entry)
        return Appended(seq=len(self.stored), duplicate=False)


async def test_unacknowledged_lines_are_sent_again_first() -> None:
    store = FlakyStore()
    sink = LogSink(cast(EventStore, store), 3, uuid.uuid4())
    await sink("build", "one")
    try:
        await sink.flush()
    except EventStoreError:
        pass
    await sink("build", "two")
    await sink.close()
    assert [e.lines for e in store.stored] == [["one"], ["two"]]
    assert store.attempts[0] is store.attempts[1]  # the same entry: a landed one dedups
