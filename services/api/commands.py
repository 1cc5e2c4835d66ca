"""Runs a command: decide against the view, append with the expected sequences, retry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from events.errors import WrongExpectedSequence
from events.publish import Appended
from events.store import EventStore
from events.types import BoardClaimed, BoardEvent, JobQueued
from projections.runner import ProjectionRunner
from projections.views import BoardView
from services.domain.errors import Busy

MAX_ATTEMPTS = 20
E = TypeVar("E", bound=BoardEvent)


class CommandBus:
    """Appends decided events with per-board optimistic concurrency and read-your-writes."""

    def __init__(self, store: EventStore, runner: ProjectionRunner) -> None:
        self._store = store
        self._runner = runner
        # One writer per board inside this process saves round trips; the store's sequence
        # check is what keeps several processes (API replicas) correct.
        self._locks: dict[int, asyncio.Lock] = {}

    async def execute(self, fpga_id: int, decide: Callable[[BoardView], BoardEvent]) -> BoardEvent:
        """Decide and append; on a sequence conflict, catch up and decide again.

        Raises:
            DomainError: from ``decide``, when the command is not allowed.
            Busy: the board kept changing for ``MAX_ATTEMPTS`` tries.
        """

        async def attempt() -> tuple[BoardEvent, Appended]:
            board = self._runner.views.boards[fpga_id]
            event = decide(board)
            return event, await self._store.append(event, expected_seq=board.last_seq)

        return await self._until_appended(fpga_id, attempt)

    async def execute_claiming(
        self, fpga_id: int, owner: str, decide: Callable[[BoardView, int], JobQueued]
    ) -> JobQueued:
        """Decide a submit against the board and the boards ``owner`` holds, and append its
        ``JobQueued`` with a ``BoardClaimed`` on the owner's holdings in one atomic batch, each
        with its expected sequence: of two replicas deciding for one key, one appends, the
        other catches up and decides again with the board the first one took counted.

        Raises:
            DomainError: from ``decide``, when the command is not allowed.
            Busy: the board or the key's holdings kept changing for ``MAX_ATTEMPTS`` tries.
        """
        views = self._runner.views

        async def attempt() -> tuple[JobQueued, Appended]:
            board = views.boards[fpga_id]
            holdings_seq = views.holdings_seq.get(owner, 0)
            held = views.boards_held(owner)
            event = decide(board, held)
            claim = BoardClaimed(fpga_id=fpga_id, owner=owner, job_id=event.job_id, held=held)
            together = (event, board.last_seq), (claim, holdings_seq)
            return event, await self._store.append_together(*together)

        return await self._until_appended(fpga_id, attempt)

    async def _until_appended(
        self, fpga_id: int, attempt: Callable[[], Awaitable[tuple[E, Appended]]]
    ) -> E:
        """Run ``attempt`` (decide, then append with expected sequences) until an append
        holds, catching up after each conflict; then wait until the views show it."""
        async with self._locks.setdefault(fpga_id, asyncio.Lock()):
            for _ in range(MAX_ATTEMPTS):
                try:
                    event, appended = await attempt()
                except WrongExpectedSequence as conflict:
                    await self._catch_up(conflict.actual)
                    continue
                await self._runner.wait_for(appended.seq)
                return event
        raise Busy(f"FPGA {fpga_id} changed too often; retry.")

    async def _catch_up(self, actual: int | None) -> None:
        target = actual if actual is not None else self._runner.views.applied_seq + 1
        try:
            await self._runner.wait_for(target, timeout=2.0)
        except TimeoutError:
            await asyncio.sleep(0.01)
