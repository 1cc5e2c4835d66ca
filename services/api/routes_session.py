"""Session routes: inspect and release the reservation of a board."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_202_ACCEPTED

from services.api.deps import board_or_422, services
from services.api.models import SessionResponse, SubmitResponse
from services.api.openapi import errors
from services.api.reset_jobs import queue_reset_job
from services.domain import commands
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
        return await queue_reset_job(request, fpga_id, commands.Release, "release")
