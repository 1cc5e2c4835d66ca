"""The one place where errors become HTTP responses, always in the seed's envelope."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY, HTTP_500_INTERNAL_SERVER_ERROR
from nats.errors import Error as NatsError

from events.errors import EventStoreError
from services.api.idempotency import Replay
from services.domain.errors import DomainError, NatsUnavailable

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


def envelope(status: int, code: str, message: str) -> Response[Any]:
    return Response({"detail": {"error": code, "message": message}}, status_code=status)


def on_domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    response = envelope(exc.status_code, exc.code, exc.message)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = exc.retry_after
    return response


def on_store_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """NATS did not answer in time, or refused: the command may not have happened; retry."""
    log.warning(
        "NATS unavailable on %s %s: %s: %s",
        request.method, request.url.path, type(exc).__name__, exc,
    )  # fmt: skip
    return on_domain_error(
        request, NatsUnavailable("The event store did not answer in time; retry shortly.")
    )


def on_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    # Litestar says 400 for bad input; the contract says 422, with what was wrong.
    parts = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = item.get("key")
            # The body parameter is called ``data`` in the handlers; to a client it is the body.
            where = "body" if key in (None, "data") else key
            parts.append(f"{where}: {item.get('message', 'invalid')}")
    message = "; ".join(parts) or str(exc.detail)
    return envelope(HTTP_422_UNPROCESSABLE_ENTITY, "validation_error", message)


_BOARD_PATH = re.compile(r"^/fpga/([^/]+)(/.*)?$")


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 404:
        match = _BOARD_PATH.match(request.url.path)
        if match and not match.group(1).lstrip("-").isdigit():
            # An fpga_id that is not an integer is bad input (422), not a missing route.
            return envelope(
                HTTP_422_UNPROCESSABLE_ENTITY,
                "validation_error",
                f"fpga_id must be an integer; got {match.group(1)!r}.",
            )
    if exc.status_code == 400:
        # Malformed JSON or multipart bodies are validation errors in the contract (422).
        return envelope(HTTP_422_UNPROCESSABLE_ENTITY, "validation_error", str(exc.detail))
    code = _HTTP_CODES.get(exc.status_code, "error")
    response = envelope(exc.status_code, code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value  # e.g. Allow on 405
    return response


def on_too_deep(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    """A body nested deeper than the parser recurses (``[`` x 1000): bad input, not a crash."""
    log.warning("body nested too deeply on %s %s", request.method, request.url.path)
    return envelope(
        HTTP_422_UNPROCESSABLE_ENTITY, "validation_error", "body: JSON nested too deeply"
    )


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return envelope(
        HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "The server failed; it has been logged."
    )


def on_replay(_: Request[Any, Any, Any], replay: Replay) -> Response[Any]:
    """A keyed command's recorded answer, sent again as it was."""
    answer = replay.answer
    if not answer.body:
        return Response(None, status_code=answer.status)
    return Response(answer.body, status_code=answer.status, media_type=MediaType.JSON)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    Replay: on_replay,
    DomainError: on_domain_error,
    NatsError: on_store_unavailable,
    TimeoutError: on_store_unavailable,
    EventStoreError: on_store_unavailable,
    RecursionError: on_too_deep,
    ValidationException: on_validation_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
