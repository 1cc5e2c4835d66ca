"""Live events: Server-Sent Events and a WebSocket twin, resumable by sequence."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream

from events.store import MAX_SEQUENCE
from events.types import BOARD_EVENT_NAMES
from services.api.deps import (
    Services,
    board_or_422,
    caller_of,
    key_active,
    services,
    socket_caller,
)
from services.api.live import EventFilter, SlowConsumer
from services.api.openapi import errors
from services.auth.caller import Caller
from services.domain.errors import InvalidRequest

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
#: How often an idle feed checks its key is still valid; a comment every that many checks
#: keeps proxies from closing it.
KEY_CHECK_S = 1.0
_SEQ = re.compile(r"[0-9]{1,19}")
AfterQuery = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^[0-9]{1,19}$",
        description=f"Resume after this event sequence (0 to {MAX_SEQUENCE}; 0: all history)",
    ),
]
KEEP_ALIVE_TICKS = 15
WS_KEY_REVOKED = 4401


def _filter(fpga_id: int | None, types: list[str] | None, job_id: str | None) -> EventFilter:
    wanted = None
    if types:
        names = {n for t in types for n in t.split(",") if n}
        unknown = names - BOARD_EVENT_NAMES
        if unknown:
            raise InvalidRequest(f"unknown event type(s): {', '.join(sorted(unknown))}")
        wanted = frozenset(names)
    job = None
    if job_id:
        try:
            job = uuid.UUID(job_id)
        except ValueError:
            raise InvalidRequest(f"job_id {job_id!r} is not a UUID.") from None
    return EventFilter(fpga_id=fpga_id, types=wanted, job_id=job)


def _after(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not _SEQ.fullmatch(raw) or int(raw) > MAX_SEQUENCE:
        raise InvalidRequest(
            f"Last-Event-ID (or after) must be an event sequence number, 0 to {MAX_SEQUENCE}."
        )
    return int(raw)


def _viewer(caller: Caller) -> str | None:
    return None if caller.admin else caller.owner


async def _sse(
    svc: Services, flt: EventFilter, after: int | None, caller: Caller
) -> AsyncIterator[bytes]:
    idle = 0
    try:
        async for item in svc.hub.follow(flt, after, viewer=_viewer(caller), idle_s=KEY_CHECK_S):
            if not key_active(svc, caller):
                return  # the key was revoked: the feed ends
            if item is None:
                idle += 1
                if idle % KEEP_ALIVE_TICKS == 0:
                    yield b": keep-alive\n\n"
                continue
            idle = 0
            seq, kind, data = item
            yield b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, kind.encode(), data)
    except SlowConsumer as slow:
        reason = msgspec.json.encode(
            {"error": "slow_consumer", "message": str(slow), "resume_after": slow.last_seq}
        )
        yield b"event: error\ndata: %s\n\n" % reason


def _sse_response(request: Request[Any, Any, Any], flt: EventFilter, after: str | None) -> Stream:
    resume = _after(request.headers.get("last-event-id") or after)
    return Stream(
        _sse(services(request), flt, resume, caller_of(request)),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


@get(
    "/events",
    tags=["Events"],
    media_type="text/event-stream",
    responses=errors(422),
    summary="All board events as Server-Sent Events",
)
async def all_events(
    request: Request[Any, Any, Any],
    type: FromQuery[list[str] | None] = None,
    job_id: FromQuery[str | None] = None,
    after: AfterQuery = None,
) -> Stream:
    """Each appended event as it happens; resume with ``Last-Event-ID`` (or ``?after=SEQ``)."""
    return _sse_response(request, _filter(None, type, job_id), after)


@get(
    "/fpga/{fpga_id:int}/events",
    tags=["Events"],
    media_type="text/event-stream",
    responses=errors(422),
    summary="One board's events as SSE",
)
async def board_events(
    request: Request[Any, Any, Any],
    fpga_id: FromPath[int],
    type: FromQuery[list[str] | None] = None,
    job_id: FromQuery[str | None] = None,
    after: AfterQuery = None,
) -> Stream:
    board_or_422(services(request), fpga_id)
    return _sse_response(request, _filter(fpga_id, type, job_id), after)


async def _ws_events(socket: WebSocket[Any, Any, Any], fpga_id: int | None) -> None:
    svc: Services = socket.app.state.services
    q = socket.query_params
    await socket.accept()
    try:
        if fpga_id is not None:
            board_or_422(svc, fpga_id)
        flt = _filter(fpga_id, q.getall("type", None), q.get("job_id"))
        after = _after(q.get("after"))
    except InvalidRequest as exc:
        await socket.close(code=4422, reason=exc.message[:120])
        return

    caller = socket_caller(socket)

    async def pump() -> None:
        try:
            async for item in svc.hub.follow(
                flt, after, viewer=_viewer(caller), idle_s=KEY_CHECK_S
            ):
                if not key_active(svc, caller):
                    await socket.close(code=WS_KEY_REVOKED, reason="the API key was revoked")
                    return
                if item is not None:
                    await socket.send_text(item[2].decode())
        except SlowConsumer as slow:
            await socket.close(code=4008, reason=f"slow_consumer: resume after {slow.last_seq}")

    async def until_closed() -> None:
        # The client sends nothing; a receive returns only when it goes away.
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await socket.receive_data(mode="text")

    tasks = [asyncio.create_task(pump()), asyncio.create_task(until_closed())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@websocket("/events/ws", tags=["Events"])
async def all_events_ws(socket: WebSocket[Any, Any, Any]) -> None:
    """WebSocket twin of ``GET /events``: one JSON text frame per event."""
    await _ws_events(socket, None)


@websocket("/fpga/{fpga_id:int}/events/ws", tags=["Events"])
async def board_events_ws(socket: WebSocket[Any, Any, Any], fpga_id: FromPath[int]) -> None:
    await _ws_events(socket, fpga_id)
