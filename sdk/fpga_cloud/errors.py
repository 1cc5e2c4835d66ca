"""Everything the SDK raises: one base, one class per error code of the service.

The service answers every refusal with ``{"detail": {"error": CODE, "message": TEXT}}``; the
SDK raises the class registered for ``CODE`` (an unknown code raises :class:`ApiError`
itself), so callers catch what they can handle::

    try:
        job = client.submit("design.py", board=3)
    except FpgaNotIdle:
        job = client.submit("design.py")  # any idle board
"""

from __future__ import annotations

from typing import Any, ClassVar

# The SDK's own errors (raised without an error code of the service's), re-exported: every
# error of the SDK is importable from this module.
from fpga_cloud.failures import BusError as BusError
from fpga_cloud.failures import ConfigError as ConfigError
from fpga_cloud.failures import FpgaCloudError as FpgaCloudError
from fpga_cloud.failures import JobFailed as JobFailed
from fpga_cloud.failures import NoIdleBoard as NoIdleBoard
from fpga_cloud.failures import StreamClosed as StreamClosed
from fpga_cloud.failures import TraceFailed as TraceFailed
from fpga_cloud.failures import Unreachable as Unreachable
from fpga_cloud.failures import WaitTimeout as WaitTimeout


class ApiError(FpgaCloudError):
    """The service refused a request. Subclasses name each code; unknown codes raise this.

    Attributes:
        retry_after: seconds the service asked to wait (``Retry-After``), when it said.
    """

    status_code: ClassVar[int | None] = None
    """The HTTP status the service answers this code with (documentation only)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class Conflict(ApiError):
    """409: the command does not fit the board's current state (generic form)."""

    code = "conflict"
    status_code = 409


class FpgaNotIdle(ApiError):
    """409: a design was sent to a board that is not idle."""

    code = "fpga_not_idle"
    status_code = 409


class FpgaOutOfService(ApiError):
    """409: the board is out of service and takes no designs."""

    code = "fpga_out_of_service"
    status_code = 409


class FpgaNotReserved(ApiError):
    """409: a run or stream needs a reserved board; this one is not."""

    code = "fpga_not_reserved"
    status_code = 409


class FpgaNotResettable(ApiError):
    """409: only a reserved board or one in error can be reset."""

    code = "fpga_not_resettable"
    status_code = 409


class JobNotComplete(ApiError):
    """409: a run job's result was asked for before it finished."""

    code = "job_not_complete"
    status_code = 409


class JobNotCancellable(ApiError):
    """409: the job has started (or ended) and can no longer be cancelled."""

    code = "job_not_cancellable"
    status_code = 409


class BoardLimitReached(ApiError):
    """409: this key already holds as many boards as it may (queued to reserved)."""

    code = "board_limit_reached"
    status_code = 409


class FpgaUnhealthy(ApiError):
    """409: the board failed its health probes and is out of the pool until one passes."""

    code = "fpga_unhealthy"
    status_code = 409


class WaitingLimitReached(ApiError):
    """409: this key has as many jobs waiting for a board as it may."""

    code = "waiting_limit_reached"
    status_code = 409


class JobNotWaiting(ApiError):
    """409: the job no longer waits (it got a board meanwhile)."""

    code = "job_not_waiting"
    status_code = 409


class SessionExpired(ApiError):
    """409: the session's lease ran out; the board is being reset."""

    code = "session_expired"
    status_code = 409


class TraceUnavailable(ApiError):
    """The board cannot record waveforms: a real board (traces need a virtual board)."""

    code = "trace_unavailable"
    status_code = 409


class TraceInProgress(ApiError):
    """The board is recording already (one recording at a time)."""

    code = "trace_in_progress"
    status_code = 409


class TraceNotRecording(ApiError):
    """Nothing is being recorded on the board (or its end is on its way)."""

    code = "trace_not_recording"
    status_code = 409


class TraceNotReady(ApiError):
    """The trace is still being recorded, or its recording failed."""

    code = "trace_not_ready"
    status_code = 409


class TraceNotFound(ApiError):
    """No such trace for this key, or it expired from the trace store."""

    code = "trace_not_found"
    status_code = 404


class JobNotFound(ApiError):
    """404: no such job on that board, or it belongs to another key."""

    code = "job_not_found"
    status_code = 404


class NoActiveSession(ApiError):
    """404: the board holds no session."""

    code = "no_active_session"
    status_code = 404


class NotFound(ApiError):
    """404: no such route."""

    code = "not_found"
    status_code = 404


class NotSessionOwner(ApiError):
    """403: the session belongs to another key, or the ``X-Session-ID`` is not the board's."""

    code = "not_session_owner"
    status_code = 403


class Forbidden(ApiError):
    """403: this key may not do that."""

    code = "forbidden"
    status_code = 403


class Unauthorized(ApiError):
    """401: the API key is missing, malformed, unknown or revoked."""

    code = "unauthorized"
    status_code = 401


class ValidationError(ApiError):
    """422: the request is malformed (a field out of range, an upload that is no design...)."""

    code = "validation_error"
    status_code = 422


class AddressOutOfRange(ApiError):
    """422: the address (plus the words) reaches past the design's window."""

    code = "address_out_of_range"
    status_code = 422


class BadRequest(ApiError):
    """400: the request could not be read."""

    code = "bad_request"
    status_code = 400


class MethodNotAllowed(ApiError):
    """405: the route does not take that method."""

    code = "method_not_allowed"
    status_code = 405


class RequestTimeout(ApiError):
    """408: the request's head or body did not arrive in time."""

    code = "request_timeout"
    status_code = 408


class PayloadTooLarge(ApiError):
    """413: the design is larger than the service accepts."""

    code = "payload_too_large"
    status_code = 413


class UriTooLong(ApiError):
    """414: the request line is too long."""

    code = "uri_too_long"
    status_code = 414


class UnsupportedMediaType(ApiError):
    """415: the body's content type is not one the route takes."""

    code = "unsupported_media_type"
    status_code = 415


class HeadersTooLarge(ApiError):
    """431: the request's headers are too large or too many."""

    code = "request_header_fields_too_large"
    status_code = 431


class RateLimited(ApiError):
    """429: too many requests from this key; ``retry_after`` says how long to wait."""

    code = "rate_limited"
    status_code = 429


class TooManyConnections(ApiError):
    """429: this address holds too many open connections."""

    code = "too_many_connections"
    status_code = 429


class InternalError(ApiError):
    """500: the service failed (it logged why)."""

    code = "internal_error"
    status_code = 500


class GithubUnavailable(ApiError):
    """502: GitHub did not answer the key exchange."""

    code = "github_unavailable"
    status_code = 502


class Unavailable(ApiError):
    """503: the service cannot answer right now; retry after ``retry_after``."""

    code = "unavailable"
    status_code = 503


class NatsUnavailable(Unavailable):
    """503: the service's event store did not answer in time; nothing changed, retry."""

    code = "nats_unavailable"


class BoardBusy(Unavailable):
    """503: the board kept changing under the command; retry."""

    code = "board_busy"


#: Every error code the service answers with, and the class raised for it.
ERRORS: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        Conflict, FpgaNotIdle, FpgaOutOfService, FpgaNotReserved, FpgaNotResettable,
        JobNotComplete, JobNotCancellable, BoardLimitReached, SessionExpired, JobNotFound,
        FpgaUnhealthy, WaitingLimitReached, JobNotWaiting,
        NoActiveSession, NotFound, NotSessionOwner, Forbidden, Unauthorized, ValidationError,
        AddressOutOfRange, BadRequest, MethodNotAllowed, RequestTimeout, PayloadTooLarge,
        UriTooLong, UnsupportedMediaType, HeadersTooLarge, RateLimited, TooManyConnections,
        InternalError, GithubUnavailable, Unavailable, NatsUnavailable, BoardBusy,
        TraceUnavailable, TraceInProgress, TraceNotRecording, TraceNotReady, TraceNotFound,
    )
}  # fmt: skip


def api_error(
    code: str, message: str, status: int | None = None, retry_after: float | None = None
) -> ApiError:
    """The exception for an error code (:class:`ApiError` itself for a code it does not know)."""
    cls = ERRORS.get(code, ApiError)
    return cls(message, code=code, status=status, retry_after=retry_after)


def from_body(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer: its envelope's code and message, else the status."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict) and isinstance(detail.get("error"), str):
        message = detail.get("message")
        text = message if isinstance(message, str) else detail["error"]
        return api_error(detail["error"], text, status, retry_after)
    return api_error(f"http_{status}", f"the service answered HTTP {status}", status, retry_after)
