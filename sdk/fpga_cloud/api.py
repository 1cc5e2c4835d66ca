"""The REST calls the clients make, described once for the sync and the async client.

Each function returns a :class:`Call`: the method, path and body of one request. The clients
send it (with retries, see :mod:`fpga_cloud.retry`) and decode the answer with :func:`decode`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import msgspec

from fpga_cloud.designs import Upload
from fpga_cloud.errors import ApiError, from_body
from fpga_cloud.retry import parse_retry_after

T = TypeVar("T")

OP_WRITE = 1
OP_READ = 2
SESSION_HEADER = "X-Session-ID"
KEY_HEADER = "X-API-Key"
#: Sent with every command (POST, DELETE): a retry of the same call is answered as the first
#: was, never done twice.
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: Event types the live feed filter takes as a comma-separated list.
TypeFilter = str | Iterable[str] | None


@dataclass(frozen=True)
class Call:
    """One request: what to send, and whether it may be repeated after a broken connection."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method in ("POST", "DELETE") and IDEMPOTENCY_HEADER not in self.headers:
            self.headers[IDEMPOTENCY_HEADER] = uuid.uuid4().hex

    @property
    def safe(self) -> bool:
        """Whether repeating it cannot do anything twice: a ``GET``, or a command with its
        ``Idempotency-Key`` (the service answers a retry as it answered the first)."""
        return self.method == "GET" or IDEMPOTENCY_HEADER in self.headers


def boards() -> Call:
    """``GET /fpga``: every board."""
    return Call("GET", "/fpga")


def board(fpga_id: int) -> Call:
    """``GET /fpga/{id}``: one board."""
    return Call("GET", f"/fpga/{fpga_id}")


def submit(fpga_id: int, upload: Upload, top: str | None) -> Call:
    """``POST /fpga/{id}/submit``: the design as multipart field ``file`` (and ``top``)."""
    files = {"file": (upload.filename, upload.content, "application/octet-stream")}
    return Call("POST", f"/fpga/{fpga_id}/submit", files=files, data={"top": top} if top else None)


def submit_any(upload: Upload, top: str | None, driver: str | None) -> Call:
    """``POST /jobs``: the design for any free board (of ``driver``), or a place in line."""
    files = {"file": (upload.filename, upload.content, "application/octet-stream")}
    data = {k: v for k, v in (("top", top), ("driver", driver)) if v}
    return Call("POST", "/jobs", files=files, data=data or None)


def job(fpga_id: int | None, job_id: uuid.UUID) -> Call:
    """``GET /fpga/{id}/jobs/{job_id}``: a job's status (``GET /jobs/{job_id}`` while the job
    has no board yet)."""
    if fpga_id is None:
        return Call("GET", f"/jobs/{job_id}")
    return Call("GET", f"/fpga/{fpga_id}/jobs/{job_id}")


def logs(fpga_id: int, job_id: uuid.UUID, follow: bool = False) -> Call:
    """``GET .../logs``: the log as text; streamed until the job ends with ``follow``."""
    params = {"follow": "true"} if follow else {}
    return Call("GET", f"/fpga/{fpga_id}/jobs/{job_id}/logs", params=params)


def result(fpga_id: int, job_id: uuid.UUID) -> Call:
    """``GET .../result``: a run job's words (409 ``job_not_complete`` until then)."""
    return Call("GET", f"/fpga/{fpga_id}/jobs/{job_id}/result")


def cancel(fpga_id: int | None, job_id: uuid.UUID) -> Call:
    """``DELETE /fpga/{id}/jobs/{job_id}``: cancel a queued job (``DELETE /jobs/{job_id}``:
    one that may still wait for a board)."""
    if fpga_id is None:
        return Call("DELETE", f"/jobs/{job_id}")
    return Call("DELETE", f"/fpga/{fpga_id}/jobs/{job_id}")


def session(fpga_id: int) -> Call:
    """``GET /fpga/{id}/session``: the board's session."""
    return Call("GET", f"/fpga/{fpga_id}/session")


def release(fpga_id: int, session_id: uuid.UUID | str) -> Call:
    """``POST /fpga/{id}/session/release`` for the session's holder."""
    return Call(
        "POST", f"/fpga/{fpga_id}/session/release", headers={SESSION_HEADER: str(session_id)}
    )


def run_read(
    fpga_id: int, session_id: uuid.UUID | str, address: int, count: int, trace: bool = False
) -> Call:
    """``POST /fpga/{id}/run``, op 2: read ``count`` words (recorded with ``trace``)."""
    body: dict[str, Any] = {"op": OP_READ, "address": address, "count": count}
    if trace:
        body["trace"] = True
    return Call(
        "POST", f"/fpga/{fpga_id}/run", json=body, headers={SESSION_HEADER: str(session_id)}
    )


def run_write(
    fpga_id: int,
    session_id: uuid.UUID | str,
    address: int,
    words: Sequence[int],
    trace: bool = False,
) -> Call:
    """``POST /fpga/{id}/run``, op 1: write ``words`` (recorded with ``trace``)."""
    body: dict[str, Any] = {"op": OP_WRITE, "address": address, "data": list(words)}
    if trace:
        body["trace"] = True
    return Call(
        "POST", f"/fpga/{fpga_id}/run", json=body, headers={SESSION_HEADER: str(session_id)}
    )


def trace_start(fpga_id: int, session_id: uuid.UUID | str) -> Call:
    """``POST /fpga/{id}/trace/start``: record the design and its bus from now on."""
    return Call("POST", f"/fpga/{fpga_id}/trace/start", headers={SESSION_HEADER: str(session_id)})


def trace_stop(fpga_id: int, session_id: uuid.UUID | str) -> Call:
    """``POST /fpga/{id}/trace/stop``: end the recording in progress."""
    return Call("POST", f"/fpga/{fpga_id}/trace/stop", headers={SESSION_HEADER: str(session_id)})


def trace_info(fpga_id: int, trace_id: uuid.UUID) -> Call:
    """``GET /fpga/{id}/traces/{trace_id}/info``: a recording's state."""
    return Call("GET", f"/fpga/{fpga_id}/traces/{trace_id}/info")


def trace(
    fpga_id: int,
    trace_id: uuid.UUID,
    fmt: str = "fst",
    signals: str | Sequence[str] | None = None,
    cycles: str | tuple[int, int] | None = None,
) -> Call:
    """``GET /fpga/{id}/traces/{trace_id}``: a recording in ``fmt`` (fst, vcd, json,
    wavedrom, svg), its ``signals`` (globs) over ``cycles`` (``"A-B"`` or ``(A, B)``)."""
    params = {"format": fmt}
    if signals:
        params["signals"] = signals if isinstance(signals, str) else ",".join(signals)
    if cycles is not None:
        params["cycles"] = cycles if isinstance(cycles, str) else f"{cycles[0]}-{cycles[1]}"
    return Call("GET", f"/fpga/{fpga_id}/traces/{trace_id}", params=params)


def whoami() -> Call:
    """``GET /auth/whoami``: the key in use."""
    return Call("GET", "/auth/whoami")


def health() -> Call:
    """``GET /health`` (no key needed)."""
    return Call("GET", "/health")


def events(
    fpga_id: int | None,
    types: TypeFilter = None,
    job_id: uuid.UUID | str | None = None,
    after: int | None = None,
) -> Call:
    """The live feed (SSE): every board's events, or one board's; filtered; resumed."""
    params: dict[str, str] = {}
    if types is not None:
        params["type"] = types if isinstance(types, str) else ",".join(types)
    if job_id is not None:
        params["job_id"] = str(job_id)
    if after is not None:
        params["after"] = str(after)
    path = "/events" if fpga_id is None else f"/fpga/{fpga_id}/events"
    return Call("GET", path, params=params, headers={"Accept": "text/event-stream"})


def decode(content: bytes, kind: type[T]) -> T:
    """The JSON body as ``kind``.

    Raises:
        ApiError: the body is not what the service sends (code ``bad_response``).
    """
    try:
        return msgspec.json.decode(content, type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ApiError(f"unexpected answer from the service: {exc}", code="bad_response") from None


def error_of(response: httpx.Response) -> ApiError:
    """The exception for an error answer (its body must have been read)."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        body = None
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return from_body(response.status_code, body, retry_after)


def words_of(words: int | Sequence[int]) -> list[int]:
    """One word or several, as a list."""
    return [words] if isinstance(words, int) else list(words)
