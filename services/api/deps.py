"""What handlers need from the running app, and edge checks shared by the routes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from litestar import Request

from events.store import EventStore
from projections.runner import ProjectionRunner
from projections.views import BoardView, JobView
from services.api.commands import CommandBus
from services.api.live import EventHub
from services.audit.notary import Notary
from services.domain.errors import InvalidRequest, JobNotFound
from services.settings import Settings


@dataclass(frozen=True)
class Services:
    store: EventStore
    runner: ProjectionRunner
    bus: CommandBus
    settings: Settings
    hub: EventHub
    notary: Notary | None


def services(request: Request[Any, Any, Any]) -> Services:
    svc: Services = request.app.state.services
    return svc


def board_or_422(svc: Services, fpga_id: int) -> BoardView:
    board = svc.runner.views.boards.get(fpga_id)
    if board is None:
        ids = svc.settings.fpga_ids
        raise InvalidRequest(f"fpga_id must be between {ids[0]} and {ids[-1]}; got {fpga_id}.")
    return board


def job_or_404(svc: Services, fpga_id: int, job_id: str) -> JobView:
    import uuid

    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise JobNotFound(f"Job {job_id} not found on FPGA {fpga_id}.") from None
    job = svc.runner.views.jobs.get(key)
    if job is None or job.fpga_id != fpga_id:
        raise JobNotFound(f"Job {job_id} not found on FPGA {fpga_id}.")
    return job


def owner_of(request: Request[Any, Any, Any]) -> str:
    """The caller's identity as recorded in events: a fingerprint, never the key itself."""
    return owner_of_key(request.headers.get("x-api-key"))


def owner_of_key(key: str | None) -> str:
    if not key:
        return "anonymous"
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:16]
