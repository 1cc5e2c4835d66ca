"""A design upload (multipart ``file`` and ``top``), checked at the edge, and stored once the
service has taken the job: the same for a submit to one board and to any board."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any

from litestar.datastructures import UploadFile
from nats.errors import Error as NatsError

from events.designs import ACCEPTED, check_top, detect_language
from events.errors import EventStoreError
from events.farm import StoredEvent
from events.store import EventStore
from services.domain.errors import InvalidRequest, NatsUnavailable, PayloadTooLarge


@dataclass(frozen=True, slots=True)
class Upload:
    """A design as the service takes it."""

    source: bytes
    filename: str
    language: str
    top: str | None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()


@dataclass(frozen=True, slots=True)
class Form:
    """The multipart form of a submit, its fields checked, the file not read yet."""

    file: UploadFile
    top: str | None


def parse_form(data: dict[str, Any]) -> Form:
    """Raises InvalidRequest: no ``file``, or a bad ``top``."""
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidRequest("multipart field 'file' (the design upload) is required.")
    return Form(upload, top_field(data.get("top")))


async def read_upload(form: Form, limit: int) -> Upload:
    """The form's design, read and checked.

    Raises:
        InvalidRequest: an empty or non-UTF-8 file, or not a design.
        PayloadTooLarge: the file is larger than ``limit`` bytes.
    """
    upload, top = form.file, form.top
    source = await upload.read()
    check_design(source, limit)
    language = detect_language(upload.filename, source)
    if language is None:
        raise InvalidRequest(f"the upload is not a design: send {ACCEPTED}.")
    return Upload(source, safe_name(upload.filename), language, top)


async def store_design(store: EventStore, upload: Upload, undo: StoredEvent) -> None:
    """Store the design of a job the service took; if that fails, append ``undo`` (which ends
    the job, so its board or place is freed) and answer 503."""
    try:
        await store.put_design(upload.sha256, upload.source)
    except (NatsError, TimeoutError, EventStoreError) as exc:
        with contextlib.suppress(NatsError, TimeoutError, EventStoreError):
            await store.append(undo)
        raise NatsUnavailable(
            f"the design could not be stored ({type(exc).__name__}); the job failed, "
            "submit it again"
        ) from None


def top_field(value: object) -> str | None:
    """The optional multipart field ``top``: the class or module to build as the design."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequest("multipart field 'top' must be text (a class or module name).")
    try:
        return check_top(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def check_design(source: bytes, limit: int) -> None:
    if not source.strip():
        raise InvalidRequest("the uploaded design is empty.")
    if len(source) > limit:
        raise PayloadTooLarge(f"the design is {len(source)} bytes; the limit is {limit}.")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"the design must be UTF-8 text ({exc.reason} at byte {exc.start})."
        ) from None


def safe_name(name: str | None) -> str:
    base = (name or "design.py").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c.isalnum() or c in "._-")[:100]
    return cleaned or "design.py"
