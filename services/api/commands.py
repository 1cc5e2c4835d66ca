"""Runs a command: decide against the view, append with the expected sequences, retry."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from events.errors import WrongExpectedSequence
from events.farm import BoardClaimed, QueueEvent, StoredEvent
from events.publish import Appended
from events.store import EventStore
from events.types import BoardEvent, JobQueued
from projections.runner import ProjectionRunner
from projections.views import BoardView
from projections.waiting import WaitingList
from services.domain.errors import Busy
from services.domain.fairness import next_assignment
from services.domain.waitlist import decide_assignment

MAX_ATTEMPTS = 20
log = logging.getLogger(__name__)
E = TypeVar("E", bound=StoredEvent | None)
WAITING_LIST = "waiting list"


class CommandBus:
    """Appends decided events with per-board optimistic concurrency and read-your-writes."""

    def __init__(
        self,
        store: EventStore,
        runner: ProjectionRunner,
        on_append: Callable[[float], None] = lambda _: None,
    ) -> None:
        self._store = store
        self._runner = runner
        self._on_append = on_append
        """Called with the seconds of each decide-and-append that held."""
        # One writer per board inside this process saves round trips; the store's sequence
        # check is what keeps several processes (API replicas) correct.
        self._locks: dict[int | str, asyncio.Lock] = {}

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

    async def execute_on_waiting_list(
        self, decide: Callable[[WaitingList], QueueEvent]
    ) -> QueueEvent:
        """Decide against the waiting list and append with its expected sequence."""

        async def attempt() -> tuple[QueueEvent, Appended]:
            waiting = self._runner.views.waiting
            event = decide(waiting)
            return event, await self._store.append_together((event, waiting.last_seq))

        return await self._until_appended(WAITING_LIST, attempt)

    async def assign_next(self, max_boards: int) -> JobQueued | None:
        """Give the fairest waiting job the first free board it can run on, if any: its
        ``JobQueued``, ``JobAssigned`` and ``BoardClaimed`` in one atomic batch with the board's,
        the list's and the key's expected sequences. None: nothing to assign."""
        views = self._runner.views

        async def attempt() -> tuple[JobQueued | None, Appended | None]:
            found = next_assignment(
                views.waiting, views.boards.values(), views.boards_held, max_boards
            )
            if found is None:
                return None, None
            owner = found.waiter.owner
            queued, assigned, claimed = decide_assignment(found, views.boards_held(owner))
            appended = await self._store.append_together(
                (queued, found.board.last_seq),
                (assigned, views.waiting.last_seq),
                (claimed, views.holdings_seq.get(owner, 0)),
            )
            return queued, appended

        return await self._until_appended(WAITING_LIST, attempt)

    async def _until_appended(
        self,
        scope: int | str,
        attempt: Callable[[], Awaitable[tuple[E, Appended | None]]],
    ) -> E:
        """Run ``attempt`` (decide, then append with expected sequences) until an append
        holds, catching up after each conflict; then wait until the views show it. One attempt
        at a time per ``scope`` (a board, or the waiting list) in this process."""
        async with self._locks.setdefault(scope, asyncio.Lock()):
            for _ in range(MAX_ATTEMPTS):
                started = time.perf_counter()
                try:
                    event, appended = await attempt()
                except WrongExpectedSequence as conflict:
                    log.debug("conflict on %s: %s (views at %d)", scope, conflict,
                              self._runner.views.applied_seq)  # fmt: skip
                    await self._catch_up(conflict.actual)
                    continue
                if appended is not None and appended.duplicate:
                    # A job's end that another writer (or a lost acknowledgement of ours)
                    # stored first: decide again on views that show it.
                    await self._catch_up(appended.seq)
                    continue
                if appended is not None:
                    self._on_append(time.perf_counter() - started)
                    await self._runner.wait_for(appended.seq)
                return event
        where = f"FPGA {scope}" if isinstance(scope, int) else f"the {scope}"
        raise Busy(f"{where} changed too often; retry.")

    async def _catch_up(self, actual: int | None) -> None:
        target = actual if actual is not None else self._runner.views.applied_seq + 1
        try:
            await self._runner.wait_for(target, timeout=2.0)
        except TimeoutError:
            await asyncio.sleep(0.01)
