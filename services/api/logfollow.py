"""``logs?follow=true``: a job's log as it is written, ending when the job ends."""

from __future__ import annotations

from collections.abc import AsyncIterator

from events.jobs import TERMINAL_STATUSES
from events.watermark import wait_event
from projections import logs as log_fold
from projections.views import JobView, LogView
from services.api.deps import Services, key_active
from services.auth.caller import Caller

IDLE_CHECK_S = 1.0


async def follow_log(svc: Services, job: JobView, caller: Caller) -> AsyncIterator[bytes]:
    """Lines as they arrive; at the end, the rest of the log read from the stream itself.

    Logs are on their own stream, so the job's last event can be folded before its last log
    lines; the final read from the stream makes the followed text equal the full log.
    """
    waker = svc.hub.waker(job.job_id)
    sent = 0
    try:
        while True:
            waker.clear()
            log = svc.runner.views.logs.get(job.job_id)
            if log is not None and len(log.lines) > sent:
                yield _text(log.lines[sent:])
                sent = len(log.lines)
            current = svc.runner.views.jobs.get(job.job_id)
            if current is None or current.status in TERMINAL_STATUSES:
                break
            if not key_active(svc, caller):
                return  # the key was revoked: the follow ends
            await wait_event(waker, IDLE_CHECK_S)
        full = LogView()
        fpga_id = job.fpga_id if current is None else current.fpga_id
        if fpga_id is None:  # it left the waiting list before it got a board: no log
            return
        for entry in await svc.store.read_logs(fpga_id, job.job_id):
            full = log_fold.apply(full, entry)
        if len(full.lines) > sent:
            yield _text(full.lines[sent:])
    finally:
        svc.hub.drop_waker(job.job_id, waker)


def _text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()
