"""A job of the sync client: a build, a Wishbone run or a reset, and what can be done with it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx

from fpga_cloud import api
from fpga_cloud.errors import ApiError, NoActiveSession, Unreachable
from fpga_cloud.models import JobInfo
from fpga_cloud.progress import (
    POLL_S,
    RECHECK_S,
    Deadline,
    NoFeed,
    ProgressCallback,
    Tracker,
    feed_refused,
    outcome,
)
from fpga_cloud.session import Session
from fpga_cloud.sse import Cursor, Parser
from fpga_cloud.transport import SyncTransport


class Job:
    """A job on one board. ``client.submit`` returns one; ``client.job`` finds one again."""

    def __init__(self, transport: SyncTransport, fpga_id: int | None, job_id: uuid.UUID) -> None:
        self.id = job_id
        """The job's id."""
        self.board = fpga_id
        """The board it runs on; None while it waits for any board (``submit(board="any")``),
        set as soon as the job is seen on one."""
        self._transport = transport

    def __repr__(self) -> str:
        return f"Job(board={self.board}, id={self.id})"

    def info(self) -> JobInfo:
        """The job as the service shows it now (status, stage, error, place in line, ...)."""
        response = self._transport.send(api.job(self.board, self.id))
        info = api.decode(response.content, JobInfo)
        if self.board is None:
            self.board = info.fpga_id
        return info

    def wait(
        self,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        poll: bool = False,
    ) -> JobInfo:
        """Wait until the job ends, following its events on the board's live feed.

        Args:
            timeout: seconds to wait at most (None: as long as it takes).
            on_progress: called with the job at each new status or stage (``queued``,
                ``building``, ``programming``, ``reserved``, ...).
            poll: read the job every half second instead of following the live feed (the
                wait does so by itself when the service has no feed).

        Returns:
            The job, complete.

        Raises:
            JobFailed: it failed or was cancelled (``exc.job.error`` says why).
            WaitTimeout: it did not end within ``timeout`` (it goes on).
        """
        deadline = Deadline.after(timeout)
        tracker = Tracker()
        cursor = Cursor()
        last_contact = time.monotonic()
        while True:
            try:
                if poll:
                    info = self._observe(tracker, on_progress)
                    if info is not None:
                        return outcome(info)
                    time.sleep(deadline.left(POLL_S))
                    continue
                info = self._follow(tracker, cursor, deadline, on_progress)
                if info is not None:
                    return outcome(info)
                last_contact = time.monotonic()
            except NoFeed:
                poll = True
            except Unreachable:
                if time.monotonic() - last_contact > self._transport.retry.reconnect_for:
                    raise
                time.sleep(deadline.left(1.0))

    def _follow(
        self,
        tracker: Tracker,
        cursor: Cursor,
        deadline: Deadline,
        on_progress: ProgressCallback | None,
    ) -> JobInfo | None:
        """Follow the job's events until it ends (the job) or the feed goes quiet (None)."""
        call = api.events(self.board, job_id=self.id, after=cursor.after)
        opened = False
        try:
            with self._transport.stream(call, deadline.left(RECHECK_S)) as response:
                opened = True
                # Read after subscribing: whatever happened before is in this answer.
                info = self._observe(tracker, on_progress)
                if info is not None:
                    return info
                parser = Parser()
                for line in response.iter_lines():
                    message = parser.feed(line)
                    if message is not None and cursor.take(message) is not None:
                        info = self._observe(tracker, on_progress)
                        if info is not None:
                            return info
                    deadline.left(RECHECK_S)
        except httpx.TransportError:
            pass  # quiet for RECHECK_S, or cut: read the job again and listen anew
        except ApiError as exc:
            if opened:
                raise  # the job's own read was refused
            raise feed_refused(exc) from None
        info = self._observe(tracker, on_progress)
        deadline.left(RECHECK_S)
        return info

    def _observe(self, tracker: Tracker, on_progress: ProgressCallback | None) -> JobInfo | None:
        info = self.info()
        if tracker.changed(info) and on_progress is not None:
            on_progress(info)
        return info if info.done else None

    def logs(self, follow: bool = False) -> Iterator[str]:
        """The job's log, line by line.

        Args:
            follow: go on with each line as it is written, until the job ends (a cut
                connection is resumed without repeating a line).
        """
        board = self._board_for_logs(follow)
        if board is None:
            return  # it left the line before it got a board: it has no log
        if not follow:
            yield from self._transport.send(api.logs(board, self.id)).text.splitlines()
            return
        sent = 0
        last_contact = time.monotonic()
        while True:
            seen = 0
            try:
                with self._transport.stream(api.logs(board, self.id, True), None) as resp:
                    last_contact = time.monotonic()
                    for line in resp.iter_lines():
                        seen += 1
                        if seen > sent:
                            sent = seen
                            yield line
                return
            except httpx.TransportError as exc:
                if time.monotonic() - last_contact > self._transport.retry.reconnect_for:
                    raise Unreachable(f"the log follow was cut and did not resume: {exc}") from None
                time.sleep(self._transport.retry.backoff)

    def _board_for_logs(self, follow: bool) -> int | None:
        """The job's board; while it waits for one, (with ``follow``) wait until it has one."""
        while self.board is None:
            info = self.info()
            if self.board is not None or not follow or info.done:
                break
            time.sleep(POLL_S)
        return self.board

    def cancel(self) -> None:
        """Cancel the job while it is queued.

        Raises:
            JobNotCancellable: it has started or ended.
        """
        self._transport.send(api.cancel(self.board, self.id))

    def session(self, *, keep: bool = False) -> Session:
        """The session this build opened, once the job is complete (see ``wait``); raises
        ``NoActiveSession`` while the job still waits for a board.

        Args:
            keep: leave the board reserved when a ``with`` block on the session ends.

        Raises:
            NoActiveSession: the board holds no session (yet, or any more).
        """
        if self.board is None and self.info().fpga_id is None:
            raise NoActiveSession(f"job {self.id} still waits for a board; wait() for it first")
        assert self.board is not None
        return Session.fetch(self._transport, self.board, keep=keep)
