"""Gives waiting jobs the boards that come free: the farm's waiting list, served.

Every API replica runs one. It wakes on each board event (a release, an expiry, a reset, a
failed build frees a board) and every ``interval_s`` besides, and assigns until no waiting job
fits a free board. An assignment is appended with the board's, the waiting list's and the key's
expected sequences in one atomic batch, so replicas racing for one board give it once.
"""

from __future__ import annotations

import logging

from events.types import BoardEvent
from projections.runner import ProjectionRunner
from services.api.background import Chore
from services.api.commands import CommandBus
from services.domain.errors import DomainError

log = logging.getLogger(__name__)


class Dispatcher:
    """Assigns waiting jobs to free boards, fairly (``services.domain.fairness``)."""

    def __init__(
        self,
        runner: ProjectionRunner,
        bus: CommandBus,
        *,
        max_boards: int,
        interval_s: float = 1.0,
    ) -> None:
        self._runner = runner
        self._bus = bus
        self._max_boards = max_boards
        self._chore = Chore("dispatcher", self.drain, interval_s)
        runner.add_listener(self._on_event)

    async def drain(self) -> int:
        """Assign until nothing more fits now; how many jobs got a board."""
        assigned = 0
        while self._runner.views.waiting.jobs:
            try:
                queued = await self._bus.assign_next(self._max_boards)
            except DomainError as exc:  # e.g. the list kept changing: the next wake retries
                log.info("assignment deferred: %s", exc)
                break
            if queued is None:
                break
            log.info("job %s got FPGA %d", queued.job_id, queued.fpga_id)
            assigned += 1
        return assigned

    async def start(self) -> None:
        await self._chore.start()

    async def stop(self) -> None:
        await self._chore.stop()

    def poke(self) -> None:
        """Look again soon (a job joined the list, a board may be free)."""
        self._chore.poke()

    def _on_event(self, seq: int, event: BoardEvent) -> None:
        if self._runner.views.waiting.jobs:
            self._chore.poke()
