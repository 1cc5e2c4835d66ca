"""What handlers need from the running app, and edge checks shared by the routes."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
from litestar import Request, WebSocket

from events.store import EventStore
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from projections.views import BoardView, JobView
from services.api.commands import CommandBus
from services.api.live import EventHub
from services.audit.notary import Notary
from services.auth.caller import Caller
from services.auth.issuer import KeyIssuer
from services.auth.ratelimit import RateLimiter
from services.domain.commands import Lease
from services.domain.errors import InvalidRequest, JobNotFound, Unauthorized
from services.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    store: EventStore
    runner: ProjectionRunner
    bus: CommandBus
    settings: Settings
    hub: EventHub
    notary: Notary | None
    keyring: KeyRing
    issuer: KeyIssuer
    limiter: RateLimiter
    owner_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """This API process, as named in the streams it serves (``StreamOpened.api_instance``)."""

    def lease(self) -> Lease:
        """The lease policy with the clock read now: what a renewal is decided with."""
        return Lease(
            now=datetime.now(UTC),
            length=timedelta(seconds=self.settings.lease_seconds),
            max_total=timedelta(seconds=self.settings.max_session_seconds),
        )

    def boards_held(self, owner: str) -> int:
        """Boards ``owner`` holds: reserved by it, or with its build job queued or running."""
        held = 0
        jobs = self.runner.views.jobs
        for board in self.runner.views.boards.values():
            if board.session is not None and board.session.owner == owner:
                held += 1
            elif board.current_job_type == "build_and_program" and board.current_job_id:
                job = jobs.get(board.current_job_id)
                held += job is not None and job.owner == owner
        return held


def services(request: Request[Any, Any, Any]) -> Services:
    svc: Services = request.app.state.services
    return svc


def board_or_422(svc: Services, fpga_id: int) -> BoardView:
    board = svc.runner.views.boards.get(fpga_id)
    if board is None:
        ids = svc.settings.fpga_ids
        raise InvalidRequest(f"fpga_id must be between {ids[0]} and {ids[-1]}; got {fpga_id}.")
    return board


def job_or_404(svc: Services, fpga_id: int, job_id: str, caller: Caller) -> JobView:
    """The job, if it exists on this board and ``caller`` owns it or is an admin.

    Another key's job is reported missing, so that job ids do not leak what others run.
    """
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        raise JobNotFound(f"Job {job_id} not found on FPGA {fpga_id}.") from None
    job = svc.runner.views.jobs.get(key)
    if job is None or job.fpga_id != fpga_id or not (caller.admin or job.owner == caller.owner):
        raise JobNotFound(f"Job {job_id} not found on FPGA {fpga_id}.")
    return job


async def strict_body(request: Request[Any, Any, Any], kind: type[T]) -> T:
    """The JSON body decoded as ``kind`` with no coercion.

    Litestar's own parse converts ``"2"``, ``2.0`` and ``1e3`` into integers; the contract
    takes JSON integers only. A typed decode also never recurses into nesting the type does
    not have.

    Raises:
        InvalidRequest: the body is not JSON of that shape.
    """
    try:
        return msgspec.json.decode(await request.body(), type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None


def key_active(svc: Services, caller: Caller) -> bool:
    """Whether the key a long-lived connection opened with still works (not revoked)."""
    view = svc.keyring.get(caller.key_id)
    return view is not None and view.active


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    """The authenticated caller the auth middleware put on the connection."""
    user = request.scope.get("user")
    if not isinstance(user, Caller):
        raise Unauthorized("X-API-Key header is required.")
    return user


def socket_caller(socket: WebSocket[Any, Any, Any]) -> Caller:
    """The caller of a WebSocket; the auth middleware closes unauthenticated ones (4401)."""
    user = socket.scope.get("user")
    assert isinstance(user, Caller)
    return user


def session_header(request: Request[Any, Any, Any]) -> str | None:
    return request.headers.get("x-session-id")
