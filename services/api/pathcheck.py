"""Board ids in paths are taken in their one canonical form: ``/fpga/3``, not ``/fpga/03``.

The router reads ``{fpga_id:int}`` with Python's ``int()``, which also takes ``03``, ``+3``,
`` 3`` and digits of other scripts (full-width, Arabic-Indic), and the server decodes ``%33``
to ``3`` before routing: each would name board 3 under another spelling. This middleware
looks at the raw path as the client sent it and refuses any board id that is not plain ASCII
decimal without leading zeros (422 ``validation_error``; a WebSocket is closed with 4422).
"""

from __future__ import annotations

import re
from typing import Any

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from services.domain.errors import InvalidRequest

_BOARD_SEGMENT = re.compile(rb"^/fpga/([^/]*)")
_CANONICAL = re.compile(rb"0|[1-9][0-9]{0,9}")
WS_INVALID = 4422


def board_segment_error(raw_path: bytes) -> str | None:
    """Why the board id in ``raw_path`` is not canonical, or None (also for other paths)."""
    match = _BOARD_SEGMENT.match(raw_path)
    if match is None or _CANONICAL.fullmatch(match.group(1)):
        return None
    shown = match.group(1).decode("latin-1")[:40]
    return (
        f"fpga_id must be a decimal integer without sign, spaces or leading zeros; got {shown!r}."
    )


class CanonicalBoardIdMiddleware(ASGIMiddleware):
    """Refuse requests whose path names a board in any but the canonical form."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw = scope.get("raw_path") or str(scope["path"]).encode()
        problem = board_segment_error(raw)
        if problem is None:
            await next_app(scope, receive, send)
            return
        if scope["type"] == ScopeType.WEBSOCKET:
            message: Any = await receive()
            if message.get("type") == "websocket.connect":
                await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
                await send({"type": "websocket.close", "code": WS_INVALID, "reason": problem[:120]})
            return
        raise InvalidRequest(problem)
