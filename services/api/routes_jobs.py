"""Job routes: status, build log, run result, cancel."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from projections.views import JobView
from services.api.deps import board_or_422, caller_of, job_or_404, services
from services.api.logfollow import follow_log
from services.api.models import JobResponse, RunResultResponse
from services.api.openapi import errors
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import InvalidRequest, JobNotComplete


def job_response(job: JobView) -> JobResponse:
    return JobResponse(
        job_id=job.job_id,
        fpga_id=job.fpga_id,
        type=job.type,
        status=job.status,
        created_at=job.created_at,
        updated_at=job.updated_at,
        stage=job.stage,
        error=job.error,
        cache_hit=job.cache_hit,
        utilisation=job.utilisation,
        fmax_mhz=job.fmax_mhz,
        language=job.language,
        top=job.top,
        window_size=job.window_size,
        stages=job.stages,
    )


class JobsController(Controller):
    path = "/fpga/{fpga_id:int}/jobs"
    tags = ["Jobs"]

    @get("/{job_id:str}", responses=errors(404, 422), summary="Status and metadata of a job")
    async def get_job(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int], job_id: FromPath[str]
    ) -> JobResponse:
        svc = services(request)
        board_or_422(svc, fpga_id)
        return job_response(job_or_404(svc, fpga_id, job_id, caller_of(request)))

    @get(
        "/{job_id:str}/logs",
        media_type="text/plain",
        responses=errors(404, 422),
        summary="Full log of a job, plain text",
    )
    async def get_logs(
        self,
        request: Request[Any, Any, Any],
        fpga_id: FromPath[int],
        job_id: FromPath[str],
        follow: FromQuery[bool] = False,
    ) -> Response[Any]:
        """The job's log; with ``follow=true``, streamed as written until the job ends."""
        svc = services(request)
        board_or_422(svc, fpga_id)
        caller = caller_of(request)
        job = job_or_404(svc, fpga_id, job_id, caller)
        if follow:
            return Stream(follow_log(svc, job, caller), media_type="text/plain")
        log = svc.runner.views.logs.get(job.job_id)
        text = "\n".join(log.lines) + "\n" if log is not None and log.lines else ""
        return Response(text, media_type="text/plain")

    @get(
        "/{job_id:str}/result",
        responses=errors(404, 409, 422),
        summary="Wishbone data of a finished run job",
    )
    async def get_result(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int], job_id: FromPath[str]
    ) -> RunResultResponse:
        svc = services(request)
        board_or_422(svc, fpga_id)
        job = job_or_404(svc, fpga_id, job_id, caller_of(request))
        if job.type != "run":
            raise InvalidRequest(
                f"Job {job.job_id} is a {job.type} job; only run jobs have results."
            )
        if job.result is None:
            if job.status in ("failed", "cancelled"):
                error = job.error or job.status
                return RunResultResponse(ok=False, data=[], error=error, trace_id=job.trace_id)
            raise JobNotComplete(f"Job {job.job_id} is {job.status}, not complete.")
        return RunResultResponse(
            ok=job.result.ok, data=job.result.data, error=job.result.error, trace_id=job.trace_id
        )

    @delete(
        "/{job_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        responses=errors(404, 409, 422, 503),
        summary="Cancel a queued job",
    )
    async def cancel(
        self, request: Request[Any, Any, Any], fpga_id: FromPath[int], job_id: FromPath[str]
    ) -> Response[None]:
        svc = services(request)
        board_or_422(svc, fpga_id)
        caller = caller_of(request)
        job_or_404(svc, fpga_id, job_id, caller)
        cmd = commands.Cancel(
            fpga_id=fpga_id, job_id=uuid.UUID(job_id), by=caller.owner, admin=caller.admin
        )

        async def cancel(_: uuid.UUID) -> None:
            await svc.bus.execute(
                fpga_id, lambda b: decide(cmd, b, svc.runner.views.jobs.get(cmd.job_id))
            )

        fingerprint = f"cancel {fpga_id} {cmd.job_id}"
        await svc.idempotency.run(request, caller.owner, fingerprint, HTTP_204_NO_CONTENT, cancel)
        return Response(None, status_code=HTTP_204_NO_CONTENT)
