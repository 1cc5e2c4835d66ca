"""Ends sessions whose lease ran out: appends ``SessionExpired``, which queues the board's reset.

Any number of API replicas may run one: the expiry is decided against the board's view and
appended with its expected sequence, so a board's session expires exactly once. Sessions that
ran out while no API was running are expired by the first sweep after start-up.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from events.types import BoardEvent
from projections.runner import ProjectionRunner
from projections.views import BoardView
from services.api.background import Chore
from services.api.commands import CommandBus
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import DomainError

log = logging.getLogger(__name__)


def _decide(cmd: commands.Expire, board: BoardView) -> BoardEvent:
    return decide(cmd, board)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaseReaper:
    """Sweeps the board views every ``interval_s`` and expires overdue sessions."""

    def __init__(
        self,
        runner: ProjectionRunner,
        bus: CommandBus,
        *,
        interval_s: float = 1.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._runner = runner
        self._bus = bus
        self._clock = clock
        self._chore = Chore("lease-reaper", self.sweep, interval_s)

    async def sweep(self) -> list[int]:
        """Expire every overdue session now; the boards whose session this call ended."""
        now = self._clock()
        ended: list[int] = []
        for board in list(self._runner.views.boards.values()):
            session = board.session
            if session is None or session.expires_at > now:
                continue
            cmd = commands.Expire(fpga_id=board.fpga_id, job_id=uuid.uuid4(), now=now)
            try:
                await self._bus.execute(board.fpga_id, partial(_decide, cmd))
            except DomainError:
                continue  # renewed, released or expired by another replica meanwhile
            log.info("session %s on FPGA %d expired", session.session_id, board.fpga_id)
            ended.append(board.fpga_id)
        return ended

    async def start(self) -> None:
        await self.sweep()
        await self._chore.start()

    async def stop(self) -> None:
        await self._chore.stop()
