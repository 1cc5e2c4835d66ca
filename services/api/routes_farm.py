"""The farm's waiting list: submit a design for any board, follow it, cancel it.

``POST /jobs`` puts the design on a free board at once when one fits, else in line; the job
then appears under its board (``/fpga/{id}/jobs/{job_id}``) as any other, and under
``/jobs/{job_id}`` from the start.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Response
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from events.farm import WaitingCancelled
from projections.views import JobView
from services.api.deps import Services, caller_of, services
from services.api.models import JobAccepted, JobResponse, WaitingJob
from services.api.openapi import errors
from services.api.routes_jobs import job_response
from services.api.uploads import parse_form, read_upload, store_design
from services.auth.caller import Caller
from services.domain import commands
from services.domain.decider import decide
from services.domain.errors import InvalidRequest, JobNotCancellable, JobNotFound
from services.domain.fairness import fair_order
from services.domain.waitlist import decide_cancel_waiting, decide_wait

#: Board kinds a job may ask for.
DRIVERS = ("virtual", "ecp5_evn")


def positions(svc: Services) -> dict[uuid.UUID, int]:
    """Each waiting job's place in line (1 = next)."""
    order = fair_order(svc.runner.views.waiting, svc.runner.views.boards_held)
    return {w.job_id: n for n, w in enumerate(order, 1)}


def _job_or_404(svc: Services, job_id: str, caller: Caller) -> JobView:
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise JobNotFound(f"Job {job_id} not found.") from None
    job = svc.runner.views.jobs.get(key)
    if job is None or not (caller.admin or job.owner == caller.owner):
        raise JobNotFound(f"Job {job_id} not found.")
    return job


def _driver_field(value: object) -> str | None:
    if value is None or value == "":
        return None
    if value not in DRIVERS:
        raise InvalidRequest(f"multipart field 'driver' must be one of {', '.join(DRIVERS)}.")
    return str(value)


class FarmController(Controller):
    path = "/jobs"
    tags = ["Waiting list"]

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        responses=errors(409, 413, 422, 503),
        summary="Upload a design for any free board, or wait in line for one",
    )
    async def submit_any(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> JobAccepted:
        """Multipart ``file``, optional ``top`` and ``driver`` (``virtual``, ``ecp5_evn``)."""
        svc = services(request)
        form = parse_form(data)
        driver = _driver_field(data.get("driver"))
        upload = await read_upload(form, svc.settings.max_upload_bytes)
        settings, owner = svc.settings, caller_of(request).owner

        def accepted(job_id: uuid.UUID) -> JobAccepted | None:
            job = svc.runner.views.jobs.get(job_id)
            if job is None:
                return None
            return JobAccepted(
                job_id=job_id, status=job.status, fpga_id=job.fpga_id,
                position=positions(svc).get(job_id),
            )  # fmt: skip

        async def wait(job_id: uuid.UUID) -> JobAccepted:
            cmd = commands.Wait(
                job_id=job_id, owner=owner, design_sha256=upload.sha256,
                design_size=len(upload.source), filename=upload.filename,
                language=upload.language, top=upload.top, driver=driver,
                max_waiting=settings.max_waiting_per_key, lease_seconds=settings.lease_seconds,
                max_session_seconds=settings.max_session_seconds,
            )  # fmt: skip
            await svc.bus.execute_on_waiting_list(lambda w: decide_wait(cmd, w))
            undo = WaitingCancelled(
                job_id=job_id, by=owner,
                reason="the design could not be stored (the event store did not answer)",
            )  # fmt: skip
            await store_design(svc.store, upload, undo)
            await svc.dispatcher.drain()
            answer = accepted(job_id)
            assert answer is not None
            return answer

        fingerprint = f"jobs {upload.sha256} {upload.filename} {upload.top} {driver}"
        return await svc.idempotency.run(
            request, owner, fingerprint, HTTP_202_ACCEPTED, wait, applied=accepted
        )

    @get("/", responses=errors(), summary="The waiting list, in the order jobs will get boards")
    async def waiting_list(self, request: Request[Any, Any, Any]) -> list[WaitingJob]:
        svc = services(request)
        order = fair_order(svc.runner.views.waiting, svc.runner.views.boards_held)
        return [
            WaitingJob(
                job_id=w.job_id,
                owner=w.owner,
                position=n,
                driver=w.job.driver,
                waiting_since=w.job.occurred_at,
            )
            for n, w in enumerate(order, 1)
        ]

    @get("/{job_id:str}", responses=errors(404), summary="Status of a job, waiting or not")
    async def get_job(self, request: Request[Any, Any, Any], job_id: FromPath[str]) -> JobResponse:
        svc = services(request)
        job = _job_or_404(svc, job_id, caller_of(request))
        response = job_response(job)
        response.position = positions(svc).get(job.job_id) if job.status == "waiting" else None
        return response

    @delete(
        "/{job_id:str}",
        status_code=HTTP_204_NO_CONTENT,
        responses=errors(404, 409, 503),
        summary="Cancel a job that waits, or is queued on its board",
    )
    async def cancel(
        self, request: Request[Any, Any, Any], job_id: FromPath[str]
    ) -> Response[None]:
        svc = services(request)
        caller = caller_of(request)
        job = _job_or_404(svc, job_id, caller)

        async def cancel(_: uuid.UUID) -> None:
            if job.status == "waiting":
                leave = commands.CancelWaiting(
                    job_id=job.job_id, by=caller.owner, admin=caller.admin
                )
                await svc.bus.execute_on_waiting_list(lambda w: decide_cancel_waiting(leave, w))
            elif job.fpga_id is not None:
                cmd = commands.Cancel(
                    fpga_id=job.fpga_id, job_id=job.job_id, by=caller.owner, admin=caller.admin
                )
                jobs = svc.runner.views.jobs
                await svc.bus.execute(job.fpga_id, lambda b: decide(cmd, b, jobs.get(job.job_id)))
            else:
                raise JobNotCancellable(
                    f"Job {job.job_id} is {job.status}; it cannot be cancelled."
                )

        fingerprint = f"cancel-any {job.job_id}"
        await svc.idempotency.run(request, caller.owner, fingerprint, HTTP_204_NO_CONTENT, cancel)
        return Response(None, status_code=HTTP_204_NO_CONTENT)
