"""The event store against a real nats-server: appends, optimistic concurrency, reads."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from events.errors import WrongExpectedSequence
from events.store import EventStore
from events.types import JobCancelled, JobQueued


def _queued(fpga_id: int) -> JobQueued:
    return JobQueued(
        fpga_id=fpga_id, job_id=uuid.uuid4(), owner="alice", design_sha256="0" * 64, design_size=1
    )


async def test_append_and_read_back_in_order(store: EventStore) -> None:
    first = await store.append(_queued(3), expected_seq=0)
    second = await store.append(
        JobCancelled(fpga_id=3, job_id=uuid.uuid4()), expected_seq=first.seq
    )
    await store.append(_queued(4), expected_seq=0)
    stored = await store.read_board(3)
    assert [s.seq for s in stored] == [first.seq, second.seq]
    assert isinstance(stored[0].event, JobQueued)
    assert isinstance(stored[1].event, JobCancelled)


async def test_stale_expected_sequence_is_rejected_with_actual(store: EventStore) -> None:
    first = await store.append(_queued(2), expected_seq=0)
    await store.append(_queued(5), expected_seq=0)  # other boards do not conflict
    with pytest.raises(WrongExpectedSequence) as info:
        await store.append(_queued(2), expected_seq=0)
    assert info.value.actual == first.seq


async def test_concurrent_appends_on_one_board_only_one_wins(store: EventStore) -> None:
    results = await asyncio.gather(
        *(store.append(_queued(7), expected_seq=0) for _ in range(20)), return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, WrongExpectedSequence)]
    assert len(wins) == 1 and len(losses) == 19
    assert len(await store.read_board(7)) == 1


async def test_same_message_id_is_stored_once(store: EventStore) -> None:
    event = _queued(1)
    a = await store.append(event)
    b = await store.append(event)
    assert b.duplicate and b.seq == a.seq
    assert len(await store.read_board(1)) == 1


async def test_read_of_empty_board_returns_nothing(store: EventStore) -> None:
    assert await store.read_board(9) == []


async def test_design_bucket_round_trip(store: EventStore) -> None:
    await store.put_design("ab" * 32, b"print('x')")
    await store.put_design("ab" * 32, b"print('x')")
    assert await store.get_design("ab" * 32) == b"print('x')"
