"""Board availability: admins drain a board for maintenance, retire it, or restore it. Each is
an event with who did it and why; a drained board finishes its session and starts nothing new."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, post
from litestar.params import FromPath

from services.api.deps import board_or_422, caller_of, services, strict_body
from services.api.models import AvailabilityRequest, FPGASummary
from services.api.openapi import errors
from services.api.routes_fpga import summary
from services.domain import commands
from services.domain.decider import decide


async def _set(
    request: Request[Any, Any, Any], fpga_id: int, to: Literal["maintenance", "retired", "active"]
) -> FPGASummary:
    svc = services(request)
    board_or_422(svc, fpga_id)
    caller = caller_of(request)
    body = await request.body()
    reason = (await strict_body(request, AvailabilityRequest)).reason if body.strip() else ""
    cmd = commands.SetAvailability(
        fpga_id=fpga_id, to=to, by=caller.owner, admin=caller.admin, reason=reason
    )
    await svc.bus.execute(fpga_id, lambda b: decide(cmd, b))
    return summary(svc.runner.views.boards[fpga_id])


class AvailabilityController(Controller):
    path = "/fpga"
    tags = ["FPGAs"]

    @post(
        "/{fpga_id:int}/maintenance",
        status_code=200,
        responses=errors(403, 422, 503),
        summary="Drain the FPGA for maintenance (admin): its session finishes, nothing starts",
    )
    async def maintenance(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int]
    ) -> FPGASummary:
        return await _set(request, fpga_id, "maintenance")

    @post(
        "/{fpga_id:int}/retire",
        status_code=200,
        responses=errors(403, 422, 503),
        summary="Take the FPGA out of the farm (admin)",
    )
    async def retire(self, request: Request[Any, Any, Any], fpga_id: FromPath[int]) -> FPGASummary:
        return await _set(request, fpga_id, "retired")

    @post(
        "/{fpga_id:int}/restore",
        status_code=200,
        responses=errors(403, 422, 503),
        summary="Put a drained or retired FPGA back in the pool (admin)",
    )
    async def restore(self, request: Request[Any, Any, Any], fpga_id: FromPath[int]) -> FPGASummary:
        return await _set(request, fpga_id, "active")
