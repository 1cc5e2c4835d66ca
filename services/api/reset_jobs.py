"""Commands that queue a reset job on a board for its session's holder (or an admin): a reset,
and a release (which ends the session first). Both keyed by ``Idempotency-Key`` alike."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.status_codes import HTTP_202_ACCEPTED

from services.api.deps import board_or_422, caller_of, services, session_header
from services.api.idempotency import queued
from services.api.models import SubmitResponse
from services.domain import commands
from services.domain.decider import decide


async def queue_reset_job(
    request: Request[Any, Any, Any],
    fpga_id: int,
    kind: type[commands.Reset] | type[commands.Release],
    name: str,
) -> SubmitResponse:
    """Decide ``kind`` for the caller (``X-Session-ID`` names the session) and answer with the
    reset job it queues; ``name`` tells the kinds apart in the idempotency fingerprint."""
    svc = services(request)
    board_or_422(svc, fpga_id)
    caller, session = caller_of(request), session_header(request)

    async def queue(job_id: uuid.UUID) -> SubmitResponse:
        cmd = kind(
            fpga_id=fpga_id, job_id=job_id, owner=caller.owner, admin=caller.admin,
            session_id=session,
        )  # fmt: skip
        await svc.bus.execute(fpga_id, lambda b: decide(cmd, b))
        return SubmitResponse(job_id=job_id, fpga_id=fpga_id)

    return await svc.idempotency.run(
        request, caller.owner, f"{name} {fpga_id} {session}", HTTP_202_ACCEPTED, queue,
        applied=lambda job_id: queued(svc.runner.views.jobs, job_id, SubmitResponse),
    )  # fmt: skip
