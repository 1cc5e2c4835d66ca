"""Domain errors: one base, each with its HTTP status and error code; mapped in one place."""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; ``code`` is the machine-readable error in the envelope.

    ``retry_after``, when set, is the ``Retry-After`` header of the answer (seconds).
    """

    status_code = 409
    code = "conflict"

    def __init__(self, message: str, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class FpgaNotIdle(DomainError):
    code = "fpga_not_idle"


class FpgaOutOfService(DomainError):
    code = "fpga_out_of_service"


class FpgaUnhealthy(DomainError):
    code = "fpga_unhealthy"


class WaitingLimitReached(DomainError):
    code = "waiting_limit_reached"


class NotWaiting(DomainError):
    code = "job_not_waiting"


class FpgaNotReserved(DomainError):
    code = "fpga_not_reserved"


class FpgaNotResettable(DomainError):
    code = "fpga_not_resettable"


class JobNotComplete(DomainError):
    code = "job_not_complete"


class JobNotCancellable(DomainError):
    code = "job_not_cancellable"


class JobNotFound(DomainError):
    status_code = 404
    code = "job_not_found"


class NoActiveSession(DomainError):
    status_code = 404
    code = "no_active_session"


class NotSessionOwner(DomainError):
    status_code = 403
    code = "not_session_owner"


class InvalidRequest(DomainError):
    status_code = 422
    code = "validation_error"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class AddressOutOfRange(DomainError):
    status_code = 422
    code = "address_out_of_range"


class Busy(DomainError):
    """The board kept changing under the command; the client may retry."""

    status_code = 503
    code = "board_busy"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class RateLimited(DomainError):
    """Too many requests from one key; ``retry_after`` is the ``Retry-After`` header value."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: str = "1") -> None:
        super().__init__(message, retry_after)


class NatsUnavailable(DomainError):
    """The event store did not answer in time (a NATS timeout, a lost connection, a leader
    election); nothing is known to have changed, and the client may retry."""

    status_code = 503
    code = "nats_unavailable"

    def __init__(self, message: str, retry_after: str = "1") -> None:
        super().__init__(message, retry_after)


class BoardLimitReached(DomainError):
    code = "board_limit_reached"


class UpstreamUnavailable(DomainError):
    status_code = 502
    code = "github_unavailable"


class SessionExpiredError(DomainError):
    """The lease ran out; the board is being reset."""

    code = "session_expired"


class LeaseNotExpired(DomainError):
    """Internal: an expiry was decided against a session that is gone or still leased."""

    code = "lease_not_expired"


class TraceUnavailable(DomainError):
    """The board cannot record waveforms: a real board (traces need a virtual board)."""

    code = "trace_unavailable"


class TraceInProgress(DomainError):
    """A recording is in progress on the board (one at a time)."""

    code = "trace_in_progress"


class TraceNotRecording(DomainError):
    """Nothing is being recorded on the board (or its end is already on its way)."""

    code = "trace_not_recording"


class TraceNotFound(DomainError):
    """No such trace for this caller (another key's traces are reported missing), or it
    expired from the trace bucket."""

    status_code = 404
    code = "trace_not_found"


class TraceNotReady(DomainError):
    """The trace is still being recorded, or its recording failed."""

    code = "trace_not_ready"
