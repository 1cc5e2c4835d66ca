"""One run job's Wishbone transaction on a board, as the result event it ends in."""

from __future__ import annotations

import asyncio
import time
import uuid

from events.types import RunQueued, WishboneResult
from events.wire import OP_WRITE
from hwbridge.drivers.base import BoardDriver, DriverError

RUN_TIMEOUT_S = 30.0


async def run_transaction(
    driver: BoardDriver, run: RunQueued, session: uuid.UUID | None
) -> WishboneResult:
    """Read or write (confirmed) on the board; failures become a result with ``ok`` false.

    ``session`` is the session whose design the board runs: a run queued for another one (it
    ended before the run's turn) never reaches the board.
    """
    started = time.perf_counter()
    ok, data, error = True, list(run.data), None
    try:
        if run.session_id is not None and run.session_id != session:
            raise DriverError("the run's session ended before the run; nothing was sent")
        if not driver.programmed():
            raise DriverError("the board has no design loaded")
        if run.op == OP_WRITE:
            await asyncio.wait_for(driver.write(run.address, run.data), RUN_TIMEOUT_S)
        else:
            data = await asyncio.wait_for(driver.read(run.address, run.count), RUN_TIMEOUT_S)
    except (DriverError, TimeoutError) as exc:
        ok, data, error = False, [], str(exc) or "the board did not answer in time"
    return WishboneResult(
        fpga_id=run.fpga_id, job_id=run.job_id, ok=ok, data=data, error=error,
        duration_us=int((time.perf_counter() - started) * 1e6),
    )  # fmt: skip
