"""fpga-cloud's Python SDK: rent FPGA boards, build designs on them, drive them over Wishbone.

Quick start::

    from fpga_cloud import Client

    with Client() as client:                      # FPGA_CLOUD_URL, FPGA_CLOUD_API_KEY
        job = client.submit("examples/echo_regs.py")
        job.wait(on_progress=lambda j: print(j.stage))
        with job.session() as session:            # released at the end of the block
            session.write(0x0, [42])
            assert session.read(0x0) == [42]
            with session.stream() as bus:         # many fast transactions
                bus.write(0x8, [1, 2])
                print(bus.read(0x8, 2))
"""

from fpga_cloud.async_client import AsyncClient
from fpga_cloud.async_job import AsyncJob
from fpga_cloud.async_session import AsyncSession
from fpga_cloud.client import Client
from fpga_cloud.config import Login, config_path, load_login, save_login
from fpga_cloud.errors import (
    ERRORS,
    AddressOutOfRange,
    ApiError,
    BadRequest,
    BoardBusy,
    BoardLimitReached,
    BusError,
    ConfigError,
    Conflict,
    Forbidden,
    FpgaCloudError,
    FpgaNotIdle,
    FpgaNotReserved,
    FpgaNotResettable,
    FpgaOutOfService,
    FpgaUnhealthy,
    GithubUnavailable,
    HeadersTooLarge,
    InternalError,
    JobFailed,
    JobNotCancellable,
    JobNotComplete,
    JobNotFound,
    JobNotWaiting,
    MethodNotAllowed,
    NatsUnavailable,
    NoActiveSession,
    NoIdleBoard,
    NotFound,
    NotSessionOwner,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    SessionExpired,
    StreamClosed,
    TooManyConnections,
    TraceFailed,
    TraceInProgress,
    TraceNotFound,
    TraceNotReady,
    TraceNotRecording,
    TraceUnavailable,
    Unauthorized,
    Unavailable,
    Unreachable,
    UnsupportedMediaType,
    UriTooLong,
    ValidationError,
    WaitingLimitReached,
    WaitTimeout,
)
from fpga_cloud.job import Job
from fpga_cloud.models import (
    ANY,
    Board,
    BoardChoice,
    Event,
    Health,
    JobInfo,
    RunResult,
    SessionInfo,
    TraceInfo,
    WhoAmI,
)
from fpga_cloud.retry import NO_RETRY, RetryPolicy
from fpga_cloud.session import Session
from fpga_cloud.stream import AsyncBus, Bus
from fpga_cloud.trace import AsyncTrace, AsyncTraced, Trace, Traced

__version__ = "0.1.0"

__all__ = [
    "ANY",
    "ERRORS",
    "NO_RETRY",
    "AddressOutOfRange",
    "ApiError",
    "AsyncBus",
    "AsyncClient",
    "AsyncJob",
    "AsyncSession",
    "AsyncTrace",
    "AsyncTraced",
    "BadRequest",
    "Board",
    "BoardBusy",
    "BoardChoice",
    "BoardLimitReached",
    "Bus",
    "BusError",
    "Client",
    "ConfigError",
    "Conflict",
    "Event",
    "Forbidden",
    "FpgaCloudError",
    "FpgaNotIdle",
    "FpgaNotReserved",
    "FpgaNotResettable",
    "FpgaOutOfService",
    "FpgaUnhealthy",
    "GithubUnavailable",
    "HeadersTooLarge",
    "Health",
    "InternalError",
    "Job",
    "JobFailed",
    "JobInfo",
    "JobNotCancellable",
    "JobNotComplete",
    "JobNotFound",
    "JobNotWaiting",
    "Login",
    "MethodNotAllowed",
    "NatsUnavailable",
    "NoActiveSession",
    "NoIdleBoard",
    "NotFound",
    "NotSessionOwner",
    "PayloadTooLarge",
    "RateLimited",
    "RequestTimeout",
    "RetryPolicy",
    "RunResult",
    "Session",
    "SessionExpired",
    "SessionInfo",
    "StreamClosed",
    "TooManyConnections",
    "Trace",
    "TraceFailed",
    "TraceInProgress",
    "TraceInfo",
    "TraceNotFound",
    "TraceNotReady",
    "TraceNotRecording",
    "TraceUnavailable",
    "Traced",
    "Unauthorized",
    "Unavailable",
    "Unreachable",
    "UnsupportedMediaType",
    "UriTooLong",
    "ValidationError",
    "WaitTimeout",
    "WaitingLimitReached",
    "WhoAmI",
    "__version__",
    "config_path",
    "load_login",
    "save_login",
]
