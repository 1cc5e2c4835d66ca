"""Board health between sessions: when an idle board is probed, and the probe itself.

A probe starts the board's base SoC and reads its identification over UARTBone
(:meth:`hwbridge.drivers.base.BoardDriver.probe`); the worker appends the outcome as
``BoardHealthChecked``. Two failures in a row take the board out of the pool (the board view
says ``bad``) until a probe passes again. Probes of one host run one at a time, so they never
crowd out builds and sessions.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from events.types import BoardHealthChecked
from hwbridge.drivers.base import BoardDriver, DriverError
from hwbridge.metrics import PROBES
from hwbridge.worklist import Worklist

#: Owner of the resets the service queues itself (a board left in error).
SERVICE_OWNER = "service"
#: Longest a probe may take (a real board loads a bitstream first).
PROBE_TIMEOUT_S = 120.0
#: After a failed probe the next comes this much sooner than the interval.
RETRY_FACTOR = 10


class Prober:
    """Decides when an idle board is due a probe, and runs probes one at a time per host.

    Args:
        interval_s: between probes of a healthy idle board (0: never probe); a board is first
            probed one interval after its worker started.
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._one_at_a_time = asyncio.Semaphore(1)

    def due(self, wl: Worklist, now: datetime, started: datetime) -> bool:
        if self.interval_s <= 0 or not wl.idle:
            return False
        last = wl.last_probe_at or started
        wait = self.interval_s / RETRY_FACTOR if wl.probe_failed else self.interval_s
        return now - last >= timedelta(seconds=wait)

    async def probe(self, fpga_id: int, driver: BoardDriver) -> BoardHealthChecked:
        async with self._one_at_a_time:
            started = time.monotonic()
            try:
                async with asyncio.timeout(PROBE_TIMEOUT_S):
                    ident = await driver.probe()
                ok, detail = True, f"identification: {ident}"
            except (DriverError, TimeoutError) as exc:
                ok, detail = False, str(exc) or f"no answer within {PROBE_TIMEOUT_S:.0f} s"
            took = round(time.monotonic() - started, 3)
        PROBES.labels("ok" if ok else "failed").inc()
        return BoardHealthChecked(fpga_id=fpga_id, ok=ok, duration_s=took, detail=detail[:500])
