"""A reserved board, for its holder (sync): Wishbone reads and writes, renew, release."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self, overload

from fpga_cloud import api
from fpga_cloud.errors import (
    BusError,
    FpgaCloudError,
    JobNotComplete,
    NoActiveSession,
    WaitTimeout,
)
from fpga_cloud.models import RunResult, SessionInfo, Submitted, TraceInfo
from fpga_cloud.stream import Bus
from fpga_cloud.trace import Trace, Traced
from fpga_cloud.transport import SyncTransport

if TYPE_CHECKING:
    from fpga_cloud.job import Job

#: How long a run's result is waited for; the first look comes after ``RESULT_FIRST_S``,
#: doubling up to ``RESULT_MAX_S`` (a run is answered in milliseconds).
RUN_TIMEOUT_S = 30.0
RESULT_FIRST_S = 0.002
RESULT_MAX_S = 0.1
#: How long ``renew`` waits to see the new lease, looking every ``RENEW_LOOK_S``.
RENEW_WAIT_S = 2.0
RENEW_LOOK_S = 0.01


class Session:
    """The holder's handle on a reserved board.

    ``read`` and ``write`` are one ``POST /run`` job each (recorded, renewing the lease);
    ``stream()`` opens the Wishbone stream for many fast transactions. As a context manager it
    releases the board when the block ends, unless ``keep`` is true.
    """

    def __init__(self, transport: SyncTransport, info: SessionInfo, *, keep: bool = False) -> None:
        self.info = info
        """The session as last seen (``expires_at`` moves with each renewal)."""
        self.keep = keep
        """Leave the board reserved when a ``with`` block ends."""
        self.released = False
        """Whether ``release`` was called (a ``with`` block then releases nothing more)."""
        self._transport = transport

    @classmethod
    def fetch(cls, transport: SyncTransport, fpga_id: int, *, keep: bool = False) -> Session:
        """The board's current session (``GET /fpga/{id}/session``).

        Raises:
            NoActiveSession: the board holds none.
        """
        response = transport.send(api.session(fpga_id))
        return cls(transport, api.decode(response.content, SessionInfo), keep=keep)

    @property
    def id(self) -> uuid.UUID:
        """The session id (sent as ``X-Session-ID``)."""
        return self.info.session_id

    @property
    def board(self) -> int:
        """The reserved board."""
        return self.info.fpga_id

    @property
    def expires_at(self) -> datetime:
        """When the lease runs out unless renewed."""
        return self.info.expires_at

    def __repr__(self) -> str:
        return f"Session(board={self.board}, id={self.id}, expires_at={self.expires_at})"

    @overload
    def read(self, address: int, count: int = 1, *, trace: Literal[False] = False) -> list[int]: ...
    @overload
    def read(self, address: int, count: int = 1, *, trace: Literal[True]) -> Traced: ...
    def read(self, address: int, count: int = 1, *, trace: bool = False) -> list[int] | Traced:
        """Read ``count`` words from byte ``address`` of the design's window (one run job).

        With ``trace`` (virtual boards) the transaction is recorded, and a :class:`Traced`
        comes back: its ``data``, and ``trace(fmt, signals=..., cycles=...)``.

        Raises:
            AddressOutOfRange: past the window, or not 4-byte aligned.
            NotSessionOwner, SessionExpired, FpgaNotReserved: the session is not usable.
            TraceUnavailable, TraceInProgress: ``trace`` on a real board, or while recording.
            BusError: the access failed on the board.
        """
        result = self._run(api.run_read(self.board, self.id, address, count, trace))
        return self._traced(result) if trace else result.data

    @overload
    def write(
        self, address: int, words: int | Sequence[int], *, trace: Literal[False] = False
    ) -> None: ...
    @overload
    def write(
        self, address: int, words: int | Sequence[int], *, trace: Literal[True]
    ) -> Traced: ...
    def write(
        self, address: int, words: int | Sequence[int], *, trace: bool = False
    ) -> Traced | None:
        """Write one word or several at byte ``address`` (one run job); as ``read``."""
        call = api.run_write(self.board, self.id, address, api.words_of(words), trace)
        result = self._run(call)
        return self._traced(result) if trace else None

    def _traced(self, result: RunResult) -> Traced:
        assert result.trace_id is not None
        return Traced(result.data, Trace(self._transport, self.board, result.trace_id))

    def trace_start(self) -> Trace:
        """Record the design and its bus from now on (one recording at a time), until
        :meth:`trace_stop`, a cap or the end of the session.

        Raises:
            TraceUnavailable: a real board. TraceInProgress: it records already.
        """
        response = self._transport.send(api.trace_start(self.board, self.id))
        info = api.decode(response.content, TraceInfo)
        return Trace(self._transport, self.board, info.trace_id)

    def trace_stop(self) -> Trace:
        """End the recording in progress; ``get`` on the result waits until it is stored.

        Raises:
            TraceNotRecording: nothing records (a cap may have ended it: see ``info``).
        """
        response = self._transport.send(api.trace_stop(self.board, self.id))
        info = api.decode(response.content, TraceInfo)
        return Trace(self._transport, self.board, info.trace_id)

    def _run(self, call: api.Call) -> RunResult:
        queued = api.decode(self._transport.send(call).content, Submitted)
        deadline = time.monotonic() + RUN_TIMEOUT_S
        delay = RESULT_FIRST_S
        while True:
            time.sleep(delay)
            try:
                response = self._transport.send(api.result(self.board, queued.job_id))
            except JobNotComplete:
                if time.monotonic() > deadline:
                    raise WaitTimeout(f"run job {queued.job_id} had no result in time") from None
                delay = min(delay * 2, RESULT_MAX_S)
                continue
            result = api.decode(response.content, RunResult)
            if not result.ok:
                raise BusError(f"run job {queued.job_id} failed: {result.error or 'no reason'}")
            return result

    def stream(self, timeout: float = 30.0) -> Bus:
        """The Wishbone stream for this session: ``with session.stream() as bus: bus.read(0)``.

        Opening it renews the lease. Each transaction waits at most ``timeout`` seconds.
        """
        return Bus(self._transport.settings, self.board, str(self.id), timeout)

    def refresh(self) -> SessionInfo:
        """Read the session again (``expires_at`` included) and return it.

        Raises:
            NoActiveSession: the board holds no session any more.
        """
        self.info = Session.fetch(self._transport, self.board).info
        return self.info

    def renew(self) -> SessionInfo:
        """Renew the lease without touching the design, and return the session.

        A use renews a lease: a run (a bus transaction) or opening the Wishbone stream. This
        opens the stream and closes it again, which costs no bus cycle, then reads the new
        ``expires_at`` (a lease is never renewed past the session's maximum length).

        Raises:
            NotSessionOwner, SessionExpired, FpgaNotReserved: the service refused the stream.
        """
        before = self.info.expires_at
        with self.stream() as bus:
            bus.check(wait=0.05)
            # The lease moves once the service recorded the stream; it may not move at all
            # when the session is at its maximum length.
            for _ in range(int(RENEW_WAIT_S / RENEW_LOOK_S)):
                if self.refresh().expires_at > before:
                    break
                time.sleep(RENEW_LOOK_S)
        return self.info

    def release(self) -> Job:
        """Release the board; its reset job (returned) restores the base SoC.

        Raises:
            NotSessionOwner: the session is another key's.
            NoActiveSession: it had already ended.
        """
        from fpga_cloud.job import Job

        call = api.release(self.board, self.id)
        queued = api.decode(self._transport.send(call).content, Submitted)
        self.released = True
        return Job(self._transport, self.board, queued.job_id)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.keep or self.released:
            return
        try:
            self.release()
        except NoActiveSession:
            pass  # it ended already (expired, or released elsewhere)
        except FpgaCloudError:
            if exc is None:
                raise  # else the block's own error is the one to see
