"""Authentication and rate limiting at the edge: one ASGI middleware for HTTP and WebSockets.

Every route needs ``X-API-Key`` except those marked ``opt={"public": True}`` (health, the key
exchange) and the OpenAPI explorer. The caller is put in ``scope["user"]`` for the handlers.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from nats.errors import Error as NatsError

from projections.keyring import KeyRing
from services.auth import keys
from services.auth.caller import Caller
from services.auth.ratelimit import RateLimiter, retry_after_header
from services.domain.errors import RateLimited, Unauthorized

PUBLIC_OPT = "public"
API_KEY_SCHEME = "ApiKeyAuth"
NO_AUTH: list[dict[str, list[str]]] = [{}]
"""The OpenAPI ``security`` of a public route: no key needed."""
WS_UNAUTHORIZED = 4401
WS_RATE_LIMITED = 4429


async def authenticate(ring: KeyRing, header: str | None) -> Caller:
    """The caller a key header names.

    A key the views do not know (or whose secret does not match) is looked for once more after
    the views caught up with the key stream: a key printed by ``fpga-cloud keys create`` or
    rotated by another replica a moment ago works at once.

    Raises:
        Unauthorized: the header is missing, malformed, unknown, revoked or wrong.
    """
    if not header:
        raise Unauthorized("X-API-Key header is required.")
    parsed = keys.parse(header.strip())
    if parsed is None:
        raise Unauthorized("X-API-Key is not a valid API key.")
    key_id, secret = parsed
    view = ring.get(key_id)
    if view is None or not keys.verify(view, secret):
        with contextlib.suppress(TimeoutError, NatsError):
            await ring.catch_up()
        view = ring.get(key_id)
    if view is None or not keys.verify(view, secret):
        raise Unauthorized("X-API-Key is unknown or revoked.")
    return Caller(key_id=view.key_id, name=view.name, admin=view.admin)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


class AuthMiddleware(ASGIMiddleware):
    """Authenticate by ``X-API-Key`` and spend one token of the caller's rate limit."""

    exclude_opt_key = PUBLIC_OPT

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        return str(scope["path"]).startswith("/docs")

    def __init__(self, ring: KeyRing, limiter: RateLimiter) -> None:
        self.ring = ring
        self.limiter = limiter

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        try:
            caller = await authenticate(self.ring, _header(scope, b"x-api-key"))
        except Unauthorized as exc:
            if scope["type"] == ScopeType.WEBSOCKET:
                await _refuse_ws(receive, send, WS_UNAUTHORIZED, f"unauthorized: {exc.message}")
                return
            raise
        wait = self.limiter.take(caller.key_id)
        if wait > 0:
            if scope["type"] == ScopeType.WEBSOCKET:
                await _refuse_ws(receive, send, WS_RATE_LIMITED, "rate_limited")
                return
            raise RateLimited(
                f"Rate limit of {self.limiter.rate:g} requests/s exceeded; "
                f"retry in {retry_after_header(wait)} s.",
                retry_after=retry_after_header(wait),
            )
        scope["user"] = caller
        scope["auth"] = caller.key_id
        await next_app(scope, receive, send)


async def _refuse_ws(receive: Receive, send: Send, code: int, reason: str) -> None:
    """Accept, then close with an application code a browser client can read."""
    message: Any = await receive()
    if message.get("type") != "websocket.connect":
        return
    await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
    await send({"type": "websocket.close", "code": code, "reason": reason[:120]})
