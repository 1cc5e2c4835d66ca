"""The sync client: the farm's boards, designs, jobs, sessions and live events."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from types import TracebackType
from typing import Self

import httpx

from fpga_cloud import api
from fpga_cloud.config import resolve
from fpga_cloud.designs import DesignSource, load
from fpga_cloud.errors import FpgaNotIdle, NoIdleBoard, Unreachable
from fpga_cloud.job import Job
from fpga_cloud.models import ANY, Board, BoardChoice, Event, Health, Submitted, WhoAmI
from fpga_cloud.retry import RetryPolicy
from fpga_cloud.session import Session
from fpga_cloud.sse import SILENCE_S, Cursor, Parser
from fpga_cloud.transport import SyncTransport

DEFAULT_TIMEOUT = 30.0


class Client:
    """A connection to an fpga-cloud service (sync; :class:`~fpga_cloud.AsyncClient` is the
    asyncio twin with the same methods).

    Args:
        base_url: the service, e.g. ``http://127.0.0.1:8000``; by default ``FPGA_CLOUD_URL``,
            else the ``fpga-cloud login`` file, else ``http://127.0.0.1:8000``.
        api_key: the key (``fpk_...``); by default ``FPGA_CLOUD_API_KEY``, else the login file.
        timeout: seconds each HTTP request may take.
        retry: when to retry (see :class:`~fpga_cloud.RetryPolicy`; ``NO_RETRY`` never does).

    Raises:
        ConfigError: no API key was found.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = resolve(base_url, api_key)
        self._transport = SyncTransport(self.settings, timeout, retry or RetryPolicy())

    @property
    def base_url(self) -> str:
        """The service's URL."""
        return self.settings.url

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (a ``with`` block does it)."""
        self._transport.close()

    def health(self) -> Health:
        """Whether the service and its event store answer (needs no key)."""
        return api.decode(self._transport.send(api.health()).content, Health)

    def whoami(self) -> WhoAmI:
        """The key this client uses: its id (the owner name on boards), name, admin or not."""
        return api.decode(self._transport.send(api.whoami()).content, WhoAmI)

    def boards(self) -> list[Board]:
        """Every board of the farm with its state and session."""
        return api.decode(self._transport.send(api.boards()).content, list[Board])

    def board(self, fpga_id: int) -> Board:
        """One board's state and session.

        Raises:
            ValidationError: there is no such board.
        """
        return api.decode(self._transport.send(api.board(fpga_id)).content, Board)

    def submit(
        self,
        design: DesignSource,
        board: BoardChoice = None,
        top: str | None = None,
        *,
        filename: str | None = None,
        driver: str | None = None,
    ) -> Job:
        """Upload a design; the board builds it, programs it and reserves it for this key.

        Args:
            design: a path, or the source as text (a ``str`` with a newline) or bytes.
            board: the board to use; None takes the first idle board (the next one if another
                user takes it first); ``"any"`` puts the design on a free board at once, or in
                the farm's waiting list until one comes free (``job.board`` is None until then;
                ``job.wait()`` waits in line too).
            top: the class (Migen, Amaranth) or module (Verilog) to build, if not the default.
            filename: the name to upload under, whose extension picks the language (``.py``,
                ``.v``, ``.sv``); by default the path's name or guessed from the source.
            driver: with ``board="any"``, the board kind it must run on (``virtual``,
                ``ecp5_evn``); None: any kind.

        Returns:
            The build job: ``job.wait()`` until the board is reserved, then ``job.session()``.

        Raises:
            FpgaNotIdle: the board is not idle.
            BoardLimitReached: this key holds as many boards as it may.
            ValidationError: the upload is no design, or ``top`` is not a name.
            PayloadTooLarge: the design is too large.
            NoIdleBoard: ``board`` was None and no board was idle.
            WaitingLimitReached: ``board="any"`` and this key has as many jobs waiting as it may.
        """
        upload = load(design, filename)
        if board == ANY:
            accepted = self._transport.send(api.submit_any(upload, top, driver))
            return self._job(api.decode(accepted.content, Submitted))
        if isinstance(board, int):
            queued = self._transport.send(api.submit(board, upload, top))
            return self._job(api.decode(queued.content, Submitted))
        for candidate in self.boards():
            if not candidate.available:
                continue
            try:
                queued = self._transport.send(api.submit(candidate.fpga_id, upload, top))
            except FpgaNotIdle:
                continue  # taken since the list was read
            return self._job(api.decode(queued.content, Submitted))
        raise NoIdleBoard("no board is idle; try again later or name one with board=")

    def _job(self, queued: Submitted) -> Job:
        return Job(self._transport, queued.fpga_id, queued.job_id)

    def job(self, board: int | None, job_id: uuid.UUID | str) -> Job:
        """A job found again by its board and id (board None: a job submitted for any board);
        nothing is asked of the service yet."""
        return Job(self._transport, board, uuid.UUID(str(job_id)))

    def session(self, board: int, *, keep: bool = False) -> Session:
        """The session of a board this key holds.

        Args:
            board: the reserved board.
            keep: leave the board reserved when a ``with`` block on the session ends.

        Raises:
            NoActiveSession: the board holds no session.
        """
        return Session.fetch(self._transport, board, keep=keep)

    def events(
        self,
        board: int | None = None,
        types: api.TypeFilter = None,
        after: int | None = None,
        *,
        job_id: uuid.UUID | str | None = None,
    ) -> Iterator[Event]:
        """The live feed: each event as it is appended, for ever (break out of the loop).

        A cut connection is resumed after the last event delivered, with no gap and no
        duplicate (also across a restart of the service); the feed gives up after
        ``retry.reconnect_for`` seconds without a connection.

        Args:
            board: one board's events; None for every board.
            types: event types to deliver (``"JobQueued,SessionOpened"`` or a list).
            after: start after this sequence (``0``: all history); None starts now. Before
                the first event arrives, a reconnect also starts from the moment it is made.
            job_id: only the events of this job.

        Raises:
            ValidationError: an unknown event type or a malformed job id.
            Unreachable: the service stayed unreachable.
        """
        cursor = Cursor(after)
        last_contact = time.monotonic()
        while True:
            call = api.events(board, types, job_id, cursor.after)
            delivered = 0
            try:
                with self._transport.stream(call, SILENCE_S) as response:
                    last_contact = time.monotonic()
                    parser = Parser()
                    for line in response.iter_lines():
                        message = parser.feed(line)
                        event = cursor.take(message) if message is not None else None
                        if event is not None:
                            delivered += 1
                            yield event
            except (httpx.TransportError, Unreachable) as exc:
                if time.monotonic() - last_contact > self._transport.retry.reconnect_for:
                    raise Unreachable(f"the live feed was cut and did not resume: {exc}") from None
            # A feed that was working is resumed at once; one that keeps failing, after a pause.
            if not delivered:
                time.sleep(self._transport.retry.backoff)
