"""Board routes: list, inspect, submit a design, run Wishbone transactions, reset."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED
from msgspec.structs import replace

from events.types import JobFailed, JobQueued
from events.wire import OP_READ, OP_WRITE
from projections.views import BoardHealth, BoardState, BoardView
from services.api.deps import (
    board_or_422,
    caller_of,
    services,
    session_header,
    strict_body,
)
from services.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from services.api.idempotency import queued, queued_run
from services.api.models import (
    FPGASummary,
    RunRequest,
    RunResponse,
    SessionResponse,
    SubmitResponse,
)
from services.api.openapi import errors
from services.api.reset_jobs import queue_reset_job
from services.api.uploads import parse_form, read_upload, store_design
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import FpgaNotIdle, InvalidRequest

MAX_WORD = 0xFFFF_FFFF


def summary(board: BoardView) -> FPGASummary:
    s = board.session
    session = (
        SessionResponse(
            session_id=s.session_id, fpga_id=s.fpga_id, owner=s.owner, expires_at=s.expires_at
        )
        if s
        else None
    )
    return FPGASummary(
        fpga_id=board.fpga_id,
        state=board.state,
        session=session,
        current_job_id=board.current_job_id,
        driver=board.driver,
        in_service=board.in_service,
        health=board.health,
    )


class FpgaController(Controller):
    path = "/fpga"
    tags = ["FPGAs"]

    @get("/", responses=errors(422), summary="List every FPGA with its state and session")
    async def list_fpgas(
        self,
        request: Request[Any, Any, Any],
        state_filter: Annotated[
            BoardState | None, QueryParameter(name="state", description="only boards in this state")
        ] = None,
        health: Annotated[
            BoardHealth | None, QueryParameter(description="only boards of this health")
        ] = None,
    ) -> list[FPGASummary]:
        boards = services(request).runner.views.boards.values()
        return [
            summary(b)
            for b in boards
            if (state_filter is None or b.state == state_filter)
            and (health is None or b.health == health)
        ]

    @get("/{fpga_id:int}", responses=errors(422), summary="State snapshot of one FPGA")
    async def get_fpga(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int]
    ) -> FPGASummary:
        return summary(board_or_422(services(request), fpga_id))

    @post(
        "/{fpga_id:int}/submit",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(409, 413, 422, 503),
        summary="Upload a design (Migen, Amaranth, Verilog) and queue a build_and_program job",
    )
    async def submit(
        self,
        request: Request[Any, Any, Any],
        fpga_id: FromPath[int],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> SubmitResponse:
        svc = services(request)
        board = board_or_422(svc, fpga_id)
        form = parse_form(data)
        if board.state != "idle" and IDEMPOTENCY_HEADER not in request.headers:
            # A cheap early answer (the decider re-checks atomically); a keyed request goes on,
            # as it may be the retry of one that took the board.
            raise FpgaNotIdle(f"FPGA {fpga_id} is {board.state}, not idle.")
        upload = await read_upload(form, svc.settings.max_upload_bytes)
        owner = caller_of(request).owner

        async def submit(job_id: uuid.UUID) -> SubmitResponse:
            cmd = commands.Submit(
                fpga_id=fpga_id,
                job_id=job_id,
                owner=owner,
                design_sha256=upload.sha256,
                design_size=len(upload.source),
                filename=upload.filename,
                language=upload.language,
                top=upload.top,
                max_boards=svc.settings.max_boards_per_key,
                lease_seconds=svc.settings.lease_seconds,
                max_session_seconds=svc.settings.max_session_seconds,
            )

            def decide_submit(board: BoardView, held: int) -> JobQueued:
                event = decide(replace(cmd, held=held), board)
                assert isinstance(event, JobQueued)
                return event

            await svc.bus.execute_claiming(fpga_id, owner, decide_submit)
            # Stored only once the board took the job, so a refused submit stores nothing;
            # the worker waits for it.
            failed = JobFailed(
                fpga_id=fpga_id, job_id=job_id,
                reason="the design could not be stored (the event store did not answer); "
                "submit it again",
            )  # fmt: skip
            await store_design(svc.store, upload, failed)
            return SubmitResponse(job_id=job_id, fpga_id=fpga_id)

        fingerprint = f"submit {fpga_id} {upload.sha256} {upload.filename} {upload.top}"
        return await svc.idempotency.run(
            request, owner, fingerprint, HTTP_202_ACCEPTED, submit,
            applied=lambda job_id: queued(svc.runner.views.jobs, job_id, SubmitResponse),
        )  # fmt: skip

    @post(
        "/{fpga_id:int}/run",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(403, 409, 422, 503),
        summary="Queue a Wishbone read or write on the reserved FPGA (optionally recorded)",
    )
    async def run(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int], data: JSONBody[RunRequest]
    ) -> RunResponse:
        svc = services(request)
        board_or_422(svc, fpga_id)
        data = await strict_body(request, RunRequest)  # the parse above coerces "2" and 2.0
        _check_run(data, svc.settings.max_run_words)
        owner, session = caller_of(request).owner, session_header(request)

        async def run(job_id: uuid.UUID) -> RunResponse:
            cmd = commands.Run(
                fpga_id=fpga_id,
                job_id=job_id,
                owner=owner,
                session_id=session,
                now=datetime.now(UTC),
                op=data.op,
                address=data.address,
                data=data.data if data.op == OP_WRITE else [],
                count=data.count if data.op == OP_READ else len(data.data),
                trace_id=uuid.uuid4() if data.trace else None,
            )
            await svc.bus.execute(fpga_id, lambda b: decide(cmd, b))
            return RunResponse(
                job_id=job_id, fpga_id=fpga_id, status="queued", trace_id=cmd.trace_id
            )

        fingerprint = f"run {fpga_id} {session} {msgspec.json.encode(data).decode()}"
        return await svc.idempotency.run(
            request, owner, fingerprint, HTTP_202_ACCEPTED, run,
            applied=lambda job_id: queued_run(svc.runner.views.jobs, job_id),
        )  # fmt: skip

    @post(
        "/{fpga_id:int}/reset",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(403, 409, 422, 503),
        summary="Queue a reset that restores the base SoC (from reserved or error)",
    )
    async def reset(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int]
    ) -> SubmitResponse:
        return await queue_reset_job(request, fpga_id, commands.Reset, "reset")


def _check_run(req: RunRequest, max_words: int) -> None:
    if req.op not in (OP_WRITE, OP_READ):
        raise InvalidRequest(f"op must be 1 (write) or 2 (read); got {req.op}.")
    if req.address < 0:
        raise InvalidRequest("address must be a non-negative byte offset.")
    if req.op == OP_WRITE:
        if not 1 <= len(req.data) <= max_words:
            raise InvalidRequest(f"a write needs 1 to {max_words} data words.")
        if any(not 0 <= w <= MAX_WORD for w in req.data):
            raise InvalidRequest("data words must be integers from 0 to 0xFFFFFFFF.")
    elif not 1 <= req.count <= max_words:
        raise InvalidRequest(f"count must be between 1 and {max_words}.")
