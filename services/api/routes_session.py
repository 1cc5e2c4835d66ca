"""Session routes: inspect and release the reservation of a board."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_202_ACCEPTED

from services.api.deps import board_or_422, caller_of, services, session_header
from services.api.idempotency import queued
from services.api.models import SessionResponse, SubmitResponse
from services.api.openapi import errors
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import NoActiveSession


class SessionController(Controller):
    path = "/fpga/{fpga_id:int}/session"
    tags = ["Sessions"]

    @get("/", responses=errors(404, 422), summary="Active session of an FPGA")
    async def get_session(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int]
    ) -> SessionResponse:
        board = board_or_422(services(request), fpga_id)
        s = board.session
        if s is None:
            raise NoActiveSession(f"FPGA {fpga_id} has no active session.")
        return SessionResponse(
            session_id=s.session_id, fpga_id=s.fpga_id, owner=s.owner, expires_at=s.expires_at
        )

    @post(
        "/release",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(403, 404, 422, 503),
        summary="End the session; a reset job restores the base SoC",
    )
    async def release(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int]
    ) -> SubmitResponse:
        svc = services(request)
        board_or_422(svc, fpga_id)
        caller, session = caller_of(request), session_header(request)

        async def release(job_id: uuid.UUID) -> SubmitResponse:
            cmd = commands.Release(
                fpga_id=fpga_id,
                job_id=job_id,
                owner=caller.owner,
                admin=caller.admin,
                session_id=session,
            )
            await svc.bus.execute(fpga_id, lambda b: decide(cmd, b))
            return SubmitResponse(job_id=job_id, fpga_id=fpga_id)

        return await svc.idempotency.run(
            request, caller.owner, f"release {fpga_id} {session}", HTTP_202_ACCEPTED, release,
            applied=lambda job_id: queued(svc.runner.views.jobs, job_id, SubmitResponse),
        )  # fmt: skip
