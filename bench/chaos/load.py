"""Load clients: each holds its own API key and boards (on both hwbridge hosts) and loops
submit (a cached design) -> maybe cancel -> runs and stream frames on the session -> release,
recording every command. A command is retried with the same ``Idempotency-Key``, on the other
API replica, after a dropped connection or a 503, as a careful client does.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from fpga_cloud import AsyncClient, FpgaCloudError

from bench.chaos.history import NO_RETRY_AFTER, Call, History, Op
from events.jobs import TERMINAL_STATUSES

#: How long a client keeps retrying one command (the failovers last seconds).
CALL_BUDGET_S = 90.0
REQUEST_TIMEOUT_S = 10.0
RETRY_PAUSE_S = 0.5
#: Answers a client retries: the command did not happen, or may have; retry decides which.
RETRIED_CODES = frozenset({"nats_unavailable", "request_in_progress", "board_busy", "rate_limited"})
BOARD_WAIT_S = 120.0
CANCEL_CHANCE = 0.25
STREAM_CHANCE = 0.5
SESSION_HEADER = "X-Session-ID"


class LoadClient:
    """One user of the farm (its own key), driving its boards in turn."""

    def __init__(
        self,
        name: str,
        api_key: str,
        owner: str,
        boards: Sequence[int],
        bases: Sequence[str],
        designs: Sequence[tuple[str, bytes]],
        history: History,
        rng: random.Random,
    ) -> None:
        self.name, self.api_key, self.owner = name, api_key, owner
        self.boards, self.bases, self.designs = list(boards), list(bases), list(designs)
        self.history, self.rng = history, rng
        self._n = 0
        self._turn = 0
        self._http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, headers={"X-API-Key": api_key})

    async def close(self) -> None:
        await self._http.aclose()

    # --- requests ---------------------------------------------------------------------------

    async def command(
        self,
        op: Op,
        method: str,
        path: str,
        fpga_id: int,
        *,
        target: uuid.UUID | None = None,
        **kwargs: Any,
    ) -> Call:
        """Send a command until it is answered (anything but a 503 or a retryable 409), with
        one ``Idempotency-Key`` for all its attempts, alternating API replicas."""
        self._n += 1
        call = Call(self.name, op, fpga_id, self.owner, f"{self.name}-{self._n}", target)
        self.history.calls.append(call)
        headers = {**kwargs.pop("headers", {}), "Idempotency-Key": call.idempotency_key}
        deadline = time.monotonic() + CALL_BUDGET_S
        attempt = 0
        while time.monotonic() < deadline:
            base = self.bases[(self._n + attempt) % len(self.bases)]
            attempt += 1
            try:
                response = await self._http.request(method, base + path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                call.attempts.append(type(exc).__name__)
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            retry_after = response.headers.get("Retry-After")
            unsaid = response.status_code == 503 and retry_after is None
            call.attempts.append(NO_RETRY_AFTER if unsaid else response.status_code)
            try:
                body = response.json() if response.content else None
            except ValueError:
                body = response.text
            call.status, call.body = response.status_code, body
            if response.status_code == 503 or call.error_code in RETRIED_CODES:
                call.status = None
                pause = float(retry_after) if (retry_after or "").isdigit() else RETRY_PAUSE_S
                await asyncio.sleep(min(pause, 2.0))
                continue
            return call
        return call

    async def read(self, path: str, base: str | None = None) -> tuple[str, dict[str, Any]] | None:
        """GET ``path`` from ``base`` (else whichever replica answers): (the replica, the body)."""
        bases = [base] if base else self.rng.sample(self.bases, len(self.bases))
        for where in bases:
            try:
                response = await self._http.get(f"{where}{path}")
            except httpx.HTTPError as exc:
                self.history.reads[type(exc).__name__] += 1
                continue
            self.history.reads[str(response.status_code)] += 1
            if response.status_code == 200:
                try:
                    found: dict[str, Any] = response.json()
                except ValueError:
                    continue
                return where, found
        return None

    async def wait_board(self, fpga_id: int, states: set[str]) -> dict[str, Any] | None:
        deadline = time.monotonic() + BOARD_WAIT_S
        while time.monotonic() < deadline:
            answer = await self.read(f"/fpga/{fpga_id}")
            if answer is not None and answer[1]["state"] in states:
                return answer[1]
            await asyncio.sleep(0.2)
        return None

    async def wait_job(self, fpga_id: int, job_id: uuid.UUID) -> dict[str, Any] | None:
        """The board, as the replica that first showed the job ended saw it then; None if the
        job did not end in time."""
        deadline = time.monotonic() + BOARD_WAIT_S
        while time.monotonic() < deadline:
            answer = await self.read(f"/fpga/{fpga_id}/jobs/{job_id}")
            if answer is not None and answer[1]["status"] in TERMINAL_STATUSES:
                board = await self.read(f"/fpga/{fpga_id}", answer[0])
                return board[1] if board is not None else None
            await asyncio.sleep(0.2)
        return None

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            fpga_id = self.boards[self._turn % len(self.boards)]
            self._turn += 1
            try:
                await self.cycle(fpga_id)
            except Exception as exc:  # a client's own mistake: recorded, never hidden
                self.history.errors.append(f"{self.name} on board {fpga_id}: {exc!r}")
                await asyncio.sleep(RETRY_PAUSE_S)

    async def cycle(self, fpga_id: int) -> None:
        """One board: submit, maybe cancel, use the session, release, wait for the reset."""
        name, source = self.rng.choice(self.designs)
        files = {"file": (name, source)}
        submit = await self.command(
            "submit", "POST", f"/fpga/{fpga_id}/submit", fpga_id, files=files
        )
        if submit.status != 202 or submit.job_id is None:
            await self.wait_board(fpga_id, {"idle"})
            return
        if self.rng.random() < CANCEL_CHANCE:
            path = f"/fpga/{fpga_id}/jobs/{submit.job_id}"
            await self.command("cancel", "DELETE", path, fpga_id, target=submit.job_id)
        view = await self.wait_job(fpga_id, submit.job_id)
        session = (view or {}).get("session") or {}
        if session.get("owner") == self.owner:
            await self.use(fpga_id, str(session["session_id"]))
        await self.wait_board(fpga_id, {"idle"})

    async def finish(self) -> None:
        """Release any session still held (one whose job ended after the client gave up on
        it), as a careful client does before it leaves."""
        for fpga_id in self.boards:
            answer = await self.read(f"/fpga/{fpga_id}")
            session = (answer[1].get("session") if answer else None) or {}
            if session.get("owner") == self.owner:
                headers = {SESSION_HEADER: str(session["session_id"])}
                path = f"/fpga/{fpga_id}/session/release"
                await self.command("release", "POST", path, fpga_id, headers=headers)

    async def use(self, fpga_id: int, session_id: str) -> None:
        headers = {SESSION_HEADER: session_id}
        word = self.rng.getrandbits(32)
        for n in range(self.rng.randint(1, 4)):
            body = (
                {"op": 1, "address": 0, "data": [word]} if n % 2 == 0 else {"op": 2, "address": 0}
            )
            await self.command(
                "run", "POST", f"/fpga/{fpga_id}/run", fpga_id, json=body, headers=headers
            )
        if self.rng.random() < STREAM_CHANCE:
            await self.stream(fpga_id, session_id)
        await self.command(
            "release", "POST", f"/fpga/{fpga_id}/session/release", fpga_id, headers=headers
        )

    async def stream(self, fpga_id: int, session_id: str) -> None:
        """A few frames over the WebSocket stream (through the SDK), counted."""
        base = self.rng.choice(self.bases)
        tally = self.history.streams
        try:
            async with AsyncClient(base, self.api_key) as client:
                session = await client.session(fpga_id)
                if str(session.id) != session_id:
                    return
                async with session.stream(timeout=REQUEST_TIMEOUT_S) as bus:
                    for _ in range(self.rng.randint(2, 20)):
                        await bus.write(4, [self.rng.getrandbits(32)])
                        await bus.read(4)
                        tally.frames += 2
        except (FpgaCloudError, OSError, TimeoutError):
            tally.broken += 1


async def follow_feed(base: str, api_key: str, history: History) -> None:
    """The live feed through the SDK (which resumes after a cut from the last sequence it saw),
    recording every sequence it delivers; runs until cancelled."""
    async with AsyncClient(base, api_key) as client:
        while True:
            after = history.feed_seqs[-1] if history.feed_seqs else 0
            try:
                async for event in client.events(after=after):
                    history.feed_seqs.append(event.seq)
            except (FpgaCloudError, OSError):
                await asyncio.sleep(RETRY_PAUSE_S)


def new_key_name() -> str:
    return f"chaos-{uuid.uuid4().hex[:8]}"
