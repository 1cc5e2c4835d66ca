"""Helpers of the REST contract tests: the error envelope, driving board state by events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from events.store import EventStore
from events.types import (
    BoardEvent,
)
from projections.runner import ProjectionRunner
from tests.fakes import WINDOW_SIZE, reservation

DESIGN = b"from migen import *\n\nclass Design(Module):\n    pass\n"
SUMMARY_FIELDS = {"fpga_id", "state", "session", "current_job_id", "driver", "in_service", "health"}
SESSION_FIELDS = {"session_id", "fpga_id", "owner", "expires_at"}
JOB_FIELDS = {"job_id", "fpga_id", "type", "status", "created_at", "updated_at"}


# ------------------------------------------------------------------------------------ helpers


def assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is ``status`` with exactly ``{"detail": {"error", "message"}}``."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"detail"}
    detail = body["detail"]
    assert set(detail) == {"error", "message"}
    assert detail["error"] == code
    assert isinstance(detail["message"], str) and detail["message"]
    return detail  # type: ignore[no-any-return]


async def append(store: EventStore, runner: ProjectionRunner, events: Sequence[BoardEvent]) -> int:
    """Append what a worker would, and return once the API's views show it."""
    seq = 0
    for event in events:
        seq = (await store.append(event)).seq
    await runner.wait_for(seq)
    return seq


async def reserve(
    store: EventStore, runner: ProjectionRunner, fpga_id: int, *, window_size: int = WINDOW_SIZE
) -> tuple[uuid.UUID, uuid.UUID]:
    """Put the board in ``reserved`` as a worker would; returns (build job, session)."""
    job, session = uuid.uuid4(), uuid.uuid4()
    await append(store, runner, reservation(fpga_id, job, session, window_size=window_size))
    return job, session


def sid(session: uuid.UUID) -> dict[str, str]:
    """The header that names the caller's session, as the walkthrough sends it."""
    return {"X-Session-ID": str(session)}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def submit(client: httpx.AsyncClient, fpga_id: int, source: bytes = DESIGN) -> httpx.Response:
    return await client.post(f"/fpga/{fpga_id}/submit", files={"file": ("design.py", source)})


async def board(client: httpx.AsyncClient, fpga_id: int) -> dict[str, Any]:
    resp = await client.get(f"/fpga/{fpga_id}")
    assert resp.status_code == 200
    body: dict[str, Any] = resp.json()
    return body


async def types_on(store: EventStore, fpga_id: int) -> list[str]:
    return [type(s.event).__name__ for s in await store.read_board(fpga_id)]


# ------------------------------------------------------------------------------ health, docs
