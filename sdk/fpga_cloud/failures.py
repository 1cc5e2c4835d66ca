"""The errors the SDK raises itself, without an error code of the service's: the base of every
error, a service out of reach, missing settings, a job that failed, a wait that timed out, a bus
error, a recording that failed, a stream the service closed. (:mod:`fpga_cloud.errors` has one
class per code of the service's, and re-exports these.)"""

from __future__ import annotations

from fpga_cloud.models import JobInfo


class FpgaCloudError(Exception):
    """Base of every error the SDK raises.

    Attributes:
        code: machine-readable error code (the service's, or one of the SDK's own such as
            ``"unreachable"`` or ``"job_failed"``).
        message: human-readable text, safe to show.
        status: the HTTP status of the answer, or ``None`` when there was no HTTP answer.
    """

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class Unreachable(FpgaCloudError):
    """The service could not be reached (refused, timed out, or the connection broke)."""

    code = "unreachable"


class ConfigError(FpgaCloudError):
    """The SDK is missing its settings (no API key) or its config file is unreadable."""

    code = "config_error"


class JobFailed(FpgaCloudError):
    """A job ended without completing (a build that failed, a cancelled job).

    Attributes:
        job: the job as the service shows it at its end (``job.error`` says why).
    """

    code = "job_failed"

    def __init__(self, message: str, job: JobInfo) -> None:
        super().__init__(message)
        self.job = job


class WaitTimeout(FpgaCloudError, TimeoutError):
    """A wait for a job or a result ran past its timeout; the job goes on."""

    code = "timeout"


class NoIdleBoard(FpgaCloudError):
    """``submit`` without a board found none idle (or each it tried was taken first)."""

    code = "no_idle_board"


class BusError(FpgaCloudError):
    """A Wishbone access failed on the board (bus or link error); the session goes on."""

    code = "bus_error"


class TraceFailed(FpgaCloudError):
    """A waveform recording could not be made or kept (its ``error`` says why)."""

    code = "trace_failed"


class StreamClosed(FpgaCloudError):
    """The Wishbone stream was closed by the service (session ended, key revoked...)."""

    code = "stream_closed"
