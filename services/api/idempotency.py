"""Commands sent with an ``Idempotency-Key``: a retry gets the first answer, and never a second job.

The answer to each key (per API key) is kept for a day in the key-value bucket
``fpga-idempotency`` of the event store, so it holds across API replicas and restarts:

* the first request claims the key (a write that succeeds only if the key is new), does the
  command and records its answer (2xx or 4xx; a 5xx is forgotten, so a retry does it again);
* a retry with the same request gets the recorded answer: the same status and body, so the same
  job id; one that arrives while the first is still at work waits for its answer;
* the same key with another request is 422 ``idempotency_key_reused``.

The job a keyed command creates has an id derived from the key, so a first attempt that died
after its event was appended but before its answer was recorded is recognised by its job: a
retry answers as if it had recorded it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec
from litestar import Request
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from events.store import EventStore
from events.subjects import IDEMPOTENCY_BUCKET
from projections.views import JobView
from services.api.models import RunResponse, SubmitResponse
from services.domain.errors import DomainError, InvalidRequest

T = TypeVar("T")
Queued = TypeVar("Queued", SubmitResponse, RunResponse)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
#: How long a retry waits for the answer of a first attempt still at work.
WAIT_FOR_FIRST_S = 10.0
#: A first attempt that left no answer for this long is taken to have died.
ABANDONED_S = 30.0
_NAMESPACE = uuid.UUID("6f0b6e0a-4f6c-4a53-9a3e-2d5c1a9b7e41")
_POLL_S = 0.05


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"


class RequestInProgress(DomainError):
    code = "request_in_progress"


class Answer(msgspec.Struct, frozen=True):
    """A recorded answer: its status and JSON body (empty for 204)."""

    status: int
    body: bytes


class Replay(Exception):
    """Raised to send a recorded answer again (see ``EXCEPTION_HANDLERS``)."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class _Record(msgspec.Struct, frozen=True):
    fingerprint: str
    started: float
    answer: Answer | None = None


_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(_Record).decode


def job_id_for(owner: str, key: str) -> uuid.UUID:
    """The id of the job a command with this key creates: the same for every retry."""
    return uuid.uuid5(_NAMESPACE, f"{owner}\0{key}")


def record_name(owner: str, key: str) -> str:
    """Where the answer to ``owner``'s ``key`` is kept in the bucket."""
    return hashlib.sha256(f"{owner}\0{key}".encode()).hexdigest()


def queued(
    jobs: Mapping[uuid.UUID, JobView], job_id: uuid.UUID, answer: type[Queued]
) -> Queued | None:
    """The answer for a job that exists already (a keyed request whose first attempt died
    before recording its answer), or None."""
    job = jobs.get(job_id)
    if job is None or job.fpga_id is None:
        return None
    return answer(job_id=job_id, fpga_id=job.fpga_id, status="queued")


def queued_run(jobs: Mapping[uuid.UUID, JobView], job_id: uuid.UUID) -> RunResponse | None:
    """:func:`queued` for a run: with its recording's id when it was traced."""
    answer, job = queued(jobs, job_id, RunResponse), jobs.get(job_id)
    if answer is None or job is None:
        return None
    return msgspec.structs.replace(answer, trace_id=job.trace_id)


class Idempotency:
    """The API process's access to the recorded answers."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._store.js.key_value(IDEMPOTENCY_BUCKET)
        return self._kv

    async def run(
        self,
        request: Request[Any, Any, Any],
        owner: str,
        fingerprint: str,
        status: int,
        command: Callable[[uuid.UUID], Awaitable[T]],
        applied: Callable[[uuid.UUID], T | None] = lambda _: None,
    ) -> T:
        """Do ``command`` (given the job id to create) once per ``Idempotency-Key``.

        Args:
            fingerprint: what makes two requests the same (method, path, the decoded request).
            status: the success status the route answers with.
            applied: the answer for a job that exists already (a first attempt that died before
                recording its answer), or None.

        Raises:
            Replay: the recorded answer of an earlier request with this key.
            IdempotencyKeyReused: the key was used with another request.
            RequestInProgress: the first request is still at work after a wait.
        """
        key = request.headers.get(HEADER)
        if key is None:
            return await command(uuid.uuid4())
        if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
            raise InvalidRequest(
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."
            )
        job_id = job_id_for(owner, key)
        kv, name = await self._bucket(), record_name(owner, key)
        revision = await self._claim(kv, name, fingerprint)
        try:
            found = applied(job_id)
            result = found if found is not None else await command(job_id)
        except DomainError as exc:
            # Refused, yet a first attempt's job may exist: its event landed but its answer was
            # lost (the API died, or the store's acknowledgement timed out), and the views now
            # hold it (a refusal is decided on views caught up with the board's stream).
            late = applied(job_id) if exc.status_code < 500 else None
            if late is not None:
                await self._record(kv, name, fingerprint, revision, Answer(status, _encode(late)))
                return late
            if exc.status_code < 500:
                envelope = {"detail": {"error": exc.code, "message": exc.message}}
                await self._record(
                    kv, name, fingerprint, revision, Answer(exc.status_code, _encode(envelope))
                )
            else:
                await self._forget(kv, name)
            raise
        except BaseException:
            await self._forget(kv, name)
            raise
        body = b"" if result is None else _encode(result)
        await self._record(kv, name, fingerprint, revision, Answer(status, body))
        return result

    async def _claim(self, kv: KeyValue, name: str, fingerprint: str) -> int:
        """Claim the key for this request (its revision), or raise with what earlier ones did."""
        deadline = time.monotonic() + WAIT_FOR_FIRST_S
        while True:
            try:
                entry = await kv.get(name)
            except KeyNotFoundError:
                try:
                    return await kv.create(name, _encode(_Record(fingerprint, time.time())))
                except KeyWrongLastSequenceError:
                    continue  # another request with this key claimed it first
            record = _decode_record(entry.value or b"")
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(
                    f"this {HEADER} was used for another request; use a new key per request."
                )
            if record.answer is not None:
                raise Replay(record.answer)
            if time.time() - record.started > ABANDONED_S:
                fresh = _encode(_Record(fingerprint, time.time()))
                try:
                    return await kv.update(name, fresh, last=entry.revision)
                except KeyWrongLastSequenceError:
                    continue
            if time.monotonic() > deadline:
                raise RequestInProgress(
                    f"an earlier request with this {HEADER} is still at work; retry in a moment.",
                    retry_after="1",
                )
            await asyncio.sleep(_POLL_S)

    async def _record(
        self, kv: KeyValue, name: str, fingerprint: str, revision: int, answer: Answer
    ) -> None:
        record = _Record(fingerprint, time.time(), answer)
        try:
            await kv.update(name, _encode(record), last=revision)
        except KeyWrongLastSequenceError:
            pass  # taken over meanwhile as abandoned: the job's id makes the answers agree

    async def _forget(self, kv: KeyValue, name: str) -> None:
        try:
            await kv.delete(name)
        except Exception:
            return
