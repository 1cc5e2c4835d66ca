"""Event types: one tagged union of frozen, keyword-only msgspec Structs.

Schema rules: a new field needs a default; a stored field's type never changes; stored events
never forbid unknown fields, so old readers survive new writers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec

from events.settings import DEFAULT_LEASE_SECONDS, DEFAULT_MAX_SESSION_SECONDS

SCHEMA_VERSION = 1


def utc_now() -> datetime:
    """An event's ``occurred_at`` when none is given."""
    return datetime.now(UTC)


def new_event_id() -> str:
    """An event's id when none is given: its de-duplication id on append."""
    return uuid.uuid4().hex


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every board event: identity, time, aggregate id and schema version."""

    fpga_id: int
    event_id: str = msgspec.field(default_factory=new_event_id)
    occurred_at: datetime = msgspec.field(default_factory=utc_now)
    v: int = SCHEMA_VERSION


class JobQueued(Event, tag=True, frozen=True, kw_only=True):
    """A design was uploaded and a build_and_program job is waiting for a worker."""

    job_id: uuid.UUID
    owner: str
    design_sha256: str
    design_size: int
    filename: str = "design.py"
    language: str = "migen"
    """The design's language (``events.designs.LANGUAGES``), told from the upload."""
    top: str | None = None
    """The top class or module the user named, if any (else the language's default)."""
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    """The lease of the session this job opens, decided with the submit."""
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS
    """The longest that session may last, renewals included, decided with the submit."""


class BuildStarted(Event, tag=True, frozen=True, kw_only=True):
    """A worker claimed the build job (the claim is what makes cancel lose the race)."""

    job_id: uuid.UUID
    attempt: int = 1


class BuildSucceeded(Event, tag=True, frozen=True, kw_only=True):
    """The design elaborated and compiled; the artifact is ready to program."""

    job_id: uuid.UUID
    artifact: str
    duration_s: float
    window_base: int
    window_size: int
    cache_hit: bool = False
    utilisation: dict[str, int] | None = None
    fmax_mhz: float | None = None
    stages: dict[str, float] | None = None
    """Seconds each stage of the build took (``elaborate``, ``verilator``, ``compile``, ...)."""


class BuildFailed(Event, tag=True, frozen=True, kw_only=True):
    """The design did not build; the reason is one readable line, details are in the log."""

    job_id: uuid.UUID
    reason: str


class ProgrammingStarted(Event, tag=True, frozen=True, kw_only=True):
    """The worker is loading the built design onto the board."""

    job_id: uuid.UUID


class Programmed(Event, tag=True, frozen=True, kw_only=True):
    """The design runs on the board and answered the bridge's health probe."""

    job_id: uuid.UUID


class ProgrammingFailed(Event, tag=True, frozen=True, kw_only=True):
    """Loading the design failed; the board needs a reset."""

    job_id: uuid.UUID
    reason: str


class SessionOpened(Event, tag=True, frozen=True, kw_only=True):
    """The board is reserved for the owner of the design; the build job is complete.

    The lengths are the job's (``JobQueued``): every renewal reads them from here.
    """

    job_id: uuid.UUID
    session_id: uuid.UUID
    owner: str
    expires_at: datetime
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS


class SessionReleased(Event, tag=True, frozen=True, kw_only=True):
    """The owner (or an admin, ``by``) released the board; a reset job puts the base SoC back."""

    session_id: uuid.UUID
    reset_job_id: uuid.UUID
    owner: str
    by: str = ""


class SessionExpired(Event, tag=True, frozen=True, kw_only=True):
    """The session's lease ran out; a reset job (owned by the session's owner) frees the board."""

    session_id: uuid.UUID
    reset_job_id: uuid.UUID
    owner: str
    expires_at: datetime


class RunQueued(Event, tag=True, frozen=True, kw_only=True):
    """A Wishbone transaction is waiting for the board's worker."""

    job_id: uuid.UUID
    owner: str
    op: int
    address: int
    data: list[int] = msgspec.field(default_factory=list)
    count: int = 1
    session_id: uuid.UUID | None = None
    lease_expires_at: datetime | None = None
    """The session's renewed lease: each run extends it, up to the session's maximum length."""
    trace_id: uuid.UUID | None = None
    """Set when the run is to be recorded (a waveform of its bus cycles): the trace's id."""


class RunStarted(Event, tag=True, frozen=True, kw_only=True):
    """The worker claimed the run job and is talking to the board."""

    job_id: uuid.UUID


class WishboneResult(Event, tag=True, frozen=True, kw_only=True):
    """The outcome of a run job: read words, or the words written."""

    job_id: uuid.UUID
    ok: bool
    data: list[int] = msgspec.field(default_factory=list)
    error: str | None = None
    duration_us: int = 0


class JobCancelled(Event, tag=True, frozen=True, kw_only=True):
    """A queued job was cancelled before a worker claimed it."""

    job_id: uuid.UUID
    by: str = ""


class JobFailed(Event, tag=True, frozen=True, kw_only=True):
    """A claimed job cannot finish (e.g. interrupted by a worker restart); it is not retried."""

    job_id: uuid.UUID
    reason: str


class ResetQueued(Event, tag=True, frozen=True, kw_only=True):
    """A reset job was requested; any session on the board ends here."""

    job_id: uuid.UUID
    owner: str


class ResetStarted(Event, tag=True, frozen=True, kw_only=True):
    """The worker is stopping the user design and restoring the base SoC."""

    job_id: uuid.UUID


class BoardReset(Event, tag=True, frozen=True, kw_only=True):
    """The base SoC is back; the board is idle."""

    job_id: uuid.UUID


class BoardFaulted(Event, tag=True, frozen=True, kw_only=True):
    """The board is unusable until reset (e.g. its simulation died)."""

    reason: str
    job_id: uuid.UUID | None = None


class TraceRequested(Event, tag=True, frozen=True, kw_only=True):
    """The session owner asked for a waveform recording of the board's user slot (a window)."""

    trace_id: uuid.UUID
    owner: str
    session_id: uuid.UUID


class TraceStarted(Event, tag=True, frozen=True, kw_only=True):
    """The worker switched the recording on: what crosses the bus from now on is recorded."""

    trace_id: uuid.UUID


class TraceStopRequested(Event, tag=True, frozen=True, kw_only=True):
    """The session owner asked to end the recording in progress."""

    trace_id: uuid.UUID
    by: str


class TraceRecorded(Event, tag=True, frozen=True, kw_only=True):
    """A recording ended and is stored, content-addressed (its SHA-256) in the trace bucket."""

    trace_id: uuid.UUID
    owner: str
    sha256: str
    size: int
    first_cycle: int
    """The board's clock cycle (since its simulation started) the recording began at."""
    last_cycle: int
    stop_reason: str
    """``transaction`` (a traced run), ``stopped``, ``cycle_cap``, ``byte_cap``,
    ``session_ended`` or ``finished`` (the design ended the simulation)."""
    session_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None
    """The traced run, for a recording of one transaction."""
    format: str = "fst"


class TraceFailed(Event, tag=True, frozen=True, kw_only=True):
    """A recording could not be made or kept; nothing is stored."""

    trace_id: uuid.UUID
    owner: str
    reason: str
    job_id: uuid.UUID | None = None


class BoardRegistered(Event, tag=True, frozen=True, kw_only=True):
    """A board's configuration as its hwbridge host found it in the inventory at start-up."""

    driver: str
    host: str
    in_service: bool = True
    serial_url: str | None = None
    baudrate: int | None = None
    cable: str | None = None
    serial_number: str | None = None


class BoardHealthChecked(Event, tag=True, frozen=True, kw_only=True):
    """The board's host probed it between sessions (base SoC up, identification read)."""

    ok: bool
    duration_s: float
    detail: str = ""
    """What the probe read, or why it failed (one line)."""


class BoardDrained(Event, tag=True, frozen=True, kw_only=True):
    """An admin put the board in maintenance: a session in progress finishes, nothing starts."""

    by: str
    reason: str = ""


class BoardRetired(Event, tag=True, frozen=True, kw_only=True):
    """An admin took the board out of the farm for good (until restored)."""

    by: str
    reason: str = ""


class BoardRestored(Event, tag=True, frozen=True, kw_only=True):
    """An admin put a drained or retired board back in the pool."""

    by: str
    reason: str = ""


class StreamOpened(Event, tag=True, frozen=True, kw_only=True):
    """The session owner opened a Wishbone stream (WebSocket) to the board."""

    stream_id: uuid.UUID
    session_id: uuid.UUID
    owner: str
    lease_expires_at: datetime | None = None
    api_instance: str = ""
    """The API process serving the stream: while it lives, only it records the stream's end."""


class StreamClosed(Event, tag=True, frozen=True, kw_only=True):
    """A Wishbone stream ended; what crossed it is summarised and digested for audit."""

    stream_id: uuid.UUID
    session_id: uuid.UUID
    reads: int = 0
    writes: int = 0
    words_read: int = 0
    words_written: int = 0
    errors: int = 0
    digest: str = ""
    reason: str = ""


def stream_closed_msg_id(stream_id: uuid.UUID) -> str:
    """The ``Nats-Msg-Id`` of a stream's ``StreamClosed``: whoever records the end (the API
    serving it, or another replica once that one is gone), it is stored once."""
    return f"stream-closed-{stream_id.hex}"


BoardEvent = (
    JobQueued
    | BuildStarted
    | BuildSucceeded
    | BuildFailed
    | ProgrammingStarted
    | Programmed
    | ProgrammingFailed
    | SessionOpened
    | SessionReleased
    | SessionExpired
    | RunQueued
    | RunStarted
    | WishboneResult
    | JobCancelled
    | JobFailed
    | ResetQueued
    | ResetStarted
    | BoardReset
    | BoardFaulted
    | StreamOpened
    | StreamClosed
    | TraceRequested
    | TraceStarted
    | TraceStopRequested
    | TraceRecorded
    | TraceFailed
    | BoardRegistered
    | BoardHealthChecked
    | BoardDrained
    | BoardRetired
    | BoardRestored
)

BOARD_EVENT_TYPES: tuple[type[Event], ...] = BoardEvent.__args__
#: Every board event's type name: its tag, and the last token of its subject.
BOARD_EVENT_NAMES: frozenset[str] = frozenset(t.__name__ for t in BOARD_EVENT_TYPES)


class LogAppended(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag=True):
    """Lines of a job's log, batched; kept on their own stream so volume never slows boards."""

    fpga_id: int
    job_id: uuid.UUID
    stage: str
    lines: list[str]
    occurred_at: datetime = msgspec.field(default_factory=utc_now)
    v: int = SCHEMA_VERSION
