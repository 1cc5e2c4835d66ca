"""What handlers need from the running app, and edge checks shared by the routes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
from litestar import Request, WebSocket

from events.settings import Settings
from events.store import EventStore
from projections.keyring import KeyRing
from projections.runner import ProjectionRunner
from projections.views import BoardView, JobView, TraceView
from services.api.commands import CommandBus
from services.api.dispatcher import Dispatcher
from services.api.idempotency import Idempotency
from services.api.live import EventHub
from services.api.metrics import ApiMetrics
from services.audit.notary import Notary
from services.auth.caller import Caller
from services.auth.issuer import KeyIssuer
from services.auth.ratelimit import RateLimiter
from services.domain.errors import InvalidRequest, JobNotFound, TraceNotFound, Unauthorized
from services.traces.cache import WaveformCache

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
    dispatcher: Dispatcher
    idempotency: Idempotency
    metrics: ApiMetrics
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    """This API process, as named in the streams it serves (``StreamOpened.api_instance``)."""
    waveforms: WaveformCache = field(default_factory=WaveformCache)
    """Recordings read back lately (served in several forms)."""


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


def trace_or_404(svc: Services, fpga_id: int, trace_id: str, caller: Caller) -> TraceView:
    """The trace, if it is of this board and ``caller`` owns it or is an admin (another key's
    trace is reported missing, like a job)."""
    try:
        key = uuid.UUID(trace_id)
    except ValueError:
        raise TraceNotFound(f"Trace {trace_id} not found on FPGA {fpga_id}.") from None
    trace = svc.runner.views.traces.get(key)
    visible = trace is not None and (caller.admin or trace.owner == caller.owner)
    if trace is None or not visible or trace.fpga_id != fpga_id:
        raise TraceNotFound(f"Trace {trace_id} not found on FPGA {fpga_id}.")
    return trace


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
