"""Live events: Server-Sent Events and a WebSocket twin, resumable by sequence."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from events.types import BOARD_EVENT_TYPES
from services.api.deps import Services, board_or_422, caller_of, services, socket_caller
from services.api.live import EventFilter, SlowConsumer
from services.api.openapi import errors
from services.auth.caller import Caller
from services.domain.errors import InvalidRequest

EVENT_TYPES = frozenset(t.__name__ for t in BOARD_EVENT_TYPES)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _filter(fpga_id: int | None, types: list[str] | None, job_id: str | None) -> EventFilter:
    wanted = None
    if types:
        names = {n for t in types for n in t.split(",") if n}
        unknown = names - EVENT_TYPES
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
    if not raw.isdigit():
        raise InvalidRequest("Last-Event-ID must be an event sequence number.")
    return int(raw)


def _viewer(caller: Caller) -> str | None:
    return None if caller.admin else caller.owner


async def _sse(
    svc: Services, flt: EventFilter, after: int | None, viewer: str | None
) -> AsyncIterator[bytes]:
    try:
        async for item in svc.hub.follow(flt, after, viewer=viewer):
            if item is None:
                yield b": keep-alive\n\n"
                continue
            seq, kind, data = item
            yield b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, kind.encode(), data)
    except SlowConsumer as slow:
        reason = msgspec.json.encode(
            {"error": "slow_consumer", "message": str(slow), "resume_after": slow.last_seq}
        )
        yield b"event: error\ndata: %s\n\n" % reason


def _sse_response(request: Request[Any, Any, Any], flt: EventFilter, after: str | None) -> Stream:
    resume = _after(request.headers.get("last-event-id") or after)
    viewer = _viewer(caller_of(request))
    return Stream(
        _sse(services(request), flt, resume, viewer),
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
    after: FromQuery[str | None] = None,
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
    after: FromQuery[str | None] = None,
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
            async for item in svc.hub.follow(flt, after, viewer=_viewer(caller)):
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
