"""One board's worker: folds the board's events into a worklist and does the hardware work.

Every step is claimed or recorded by an event before or after it runs, so a restarted worker
knows where it stopped: an interrupted build is resumed once, an interrupted programming or run
step is failed (never silently repeated), and an interrupted reset is finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from events.codec import decode_board_event
from events.errors import DesignMissing, WrongExpectedSequence
from events.store import EventStore, backlog, stream_seq
from events.subjects import board_filter
from events.types import (
    BoardEvent,
    BoardFaulted,
    BoardReset,
    BuildFailed,
    BuildStarted,
    BuildSucceeded,
    JobFailed,
    Programmed,
    ProgrammingFailed,
    ProgrammingStarted,
    ResetQueued,
    ResetStarted,
    RunStarted,
    SessionOpened,
    TraceFailed,
    TraceStarted,
)
from events.watermark import Watermark, cancel_and_wait, wait_event
from hwbridge import metrics, worklist
from hwbridge.build.design import Design
from hwbridge.drivers.base import BoardDriver, BuildError, BuildOutput, DriverError
from hwbridge.health import SERVICE_OWNER, Prober
from hwbridge.logsink import LogSink
from hwbridge.recorder import Recorder
from hwbridge.streamserver import WishboneResponder
from hwbridge.transaction import run_transaction

log = logging.getLogger(__name__)

MAX_BUILD_ATTEMPTS = 2
PROGRAM_TIMEOUT_S = 60.0
WATCH_INTERVAL_S = 1.0
#: How long a build waits for its design: the API stores it right after ``JobQueued``.
DESIGN_WAIT_S = 30.0


class BoardWorker:
    """Serially executes one board's jobs; builds share a bounded pool across boards."""

    def __init__(
        self,
        store: EventStore,
        fpga_id: int,
        driver: BoardDriver,
        *,
        build_slots: asyncio.Semaphore,
        prober: Prober | None = None,
    ) -> None:
        self._store = store
        self._prober = prober
        self._since = datetime.now(UTC)
        self.fpga_id = fpga_id
        self._driver = driver
        self._slots = build_slots
        self.wl = worklist.Worklist(fpga_id=fpga_id)
        self._responder = WishboneResponder(store.nc, fpga_id, driver, lambda: self.wl.session_id)
        self._recorder = Recorder(store, fpga_id, driver)
        self._dirty = asyncio.Event()
        self._watermark = Watermark()
        self._sub: JetStreamContext.PushSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()
        # When each job's build began here, to time its log lines from (build, programming).
        self._started: dict[uuid.UUID, float] = {}
        # Unknown until start() has asked the server; messages may arrive before the answer.
        self.backlog: int | None = None
        self._seen = 0

    @property
    def driver(self) -> BoardDriver:
        return self._driver

    async def start(self) -> None:
        """Replay the board's history, then work on what is left and on what comes."""
        self._sub = await self._store.subscribe(board_filter(self.fpga_id), self._on_msg)
        self.backlog = await backlog(self._sub)
        if self._seen >= self.backlog:
            self._caught_up.set()
        await self._caught_up.wait()
        self._task = asyncio.create_task(self._loop(), name=f"board-{self.fpga_id}")
        await self._responder.start()

    async def stop(self) -> None:
        await self._responder.stop()
        if self._task is not None:
            await cancel_and_wait(self._task)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        await self._driver.close()

    async def _on_msg(self, msg: Msg) -> None:
        seq = stream_seq(msg)
        if seq <= self.wl.last_seq:
            return
        self.wl = worklist.apply(self.wl, decode_board_event(msg.data), seq)
        self._seen += 1
        if not self._caught_up.is_set() and self.backlog is not None and self._seen >= self.backlog:
            self._caught_up.set()
        self._watermark.advance(seq)
        self._dirty.set()

    async def _append(self, event: BoardEvent, *, claim: bool = False) -> bool:
        """Append and wait until folded; a claim fails (False) if the board moved meanwhile."""
        try:
            done = await self._store.append(event, expected_seq=self.wl.last_seq if claim else None)
        except WrongExpectedSequence as conflict:
            await self._watermark.wait_for(conflict.actual or self.wl.last_seq + 1)
            return False
        await self._watermark.wait_for(done.seq)
        metrics.observe(event)
        return True

    async def _loop(self) -> None:
        while True:
            await wait_event(self._dirty, WATCH_INTERVAL_S)
            self._dirty.clear()
            try:
                while (item := worklist.next_item(self.wl)) is not None:
                    if not await self._handle(item):
                        break
                await self._watch_loaded_design()
                await self._look_after()
                if (ended := await self._recorder.look_after(self.wl)) is not None:
                    await self._append(ended)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("board %d: worker step failed; retrying", self.fpga_id)
                await asyncio.sleep(1.0)

    async def _handle(self, item: worklist.WorkItem) -> bool:
        """Act on the oldest unfinished job; False when it must wait for other events."""
        fid, jid = self.fpga_id, item.job_id
        match item.kind, item.phase:
            case "build_and_program", "queued":
                async with self._slots:
                    current = self.wl.item(jid)
                    if current is None or current.phase != "queued":
                        return True
                    if await self._append(
                        BuildStarted(fpga_id=fid, job_id=jid, attempt=1), claim=True
                    ):
                        await self._build(current, attempt=1)
                return True
            case "build_and_program", "started":
                if item.attempt >= MAX_BUILD_ATTEMPTS:
                    reason = f"the build was interrupted {item.attempt} times; giving up"
                    return await self._append(BuildFailed(fpga_id=fid, job_id=jid, reason=reason))
                async with self._slots:
                    attempt = item.attempt + 1
                    if await self._append(
                        BuildStarted(fpga_id=fid, job_id=jid, attempt=attempt), claim=True
                    ):
                        await self._build(item, attempt=attempt)
                return True
            case "build_and_program", "built":
                assert item.built is not None
                await self._program(item, _output(item.built))
                return True
            case "build_and_program", "programming":
                await self._safe_reset()
                reason = "programming was interrupted by a worker restart"
                return await self._append(ProgrammingFailed(fpga_id=fid, job_id=jid, reason=reason))
            case "build_and_program", "programmed":
                return await self._open_session(item)
            case "run", "queued":
                if await self._append(RunStarted(fpga_id=fid, job_id=jid), claim=True):
                    await self._run(item)
                return True
            case "run", "started":
                reason = "the run was interrupted by a worker restart and is not repeated"
                return await self._append(JobFailed(fpga_id=fid, job_id=jid, reason=reason))
            case "trace_start", _:
                assert item.trace_id is not None
                started = TraceStarted(fpga_id=fid, trace_id=item.trace_id)
                if await self._append(started, claim=True):
                    session = self.wl.session_id
                    failed = await self._recorder.start(
                        item.trace_id, item.owner, session, item.session_id
                    )
                    if failed is not None:
                        await self._append(failed)
                return True
            case "trace_stop", _:
                assert item.trace_id is not None
                closed = await self._recorder.stop(self.wl, "stopped") or TraceFailed(
                    fpga_id=fid, trace_id=item.trace_id, owner=item.owner,
                    reason="nothing was being recorded",
                )  # fmt: skip
                return await self._append(closed)
            case "reset", _:
                # A recording in progress ends cleanly, and is kept, before the design goes.
                if (last := await self._recorder.stop(self.wl, "session_ended")) is not None:
                    await self._append(last)
                if item.phase == "queued":
                    await self._append(ResetStarted(fpga_id=fid, job_id=jid))
                problem = await self._safe_reset()
                if problem is not None:
                    # The board is left in error; the next reset tries again.
                    reason = f"the base SoC could not be restored: {problem}"
                    return await self._append(JobFailed(fpga_id=fid, job_id=jid, reason=reason))
                return await self._append(BoardReset(fpga_id=fid, job_id=jid))
        return False

    async def _look_after(self) -> None:
        """Between jobs: reset a board left in error, and probe an idle one when it is due."""
        if self.wl.faulted and not self.wl.items:
            # Claimed like a user's reset: if one is queued meanwhile, that one does the job.
            reset = ResetQueued(fpga_id=self.fpga_id, job_id=uuid.uuid4(), owner=SERVICE_OWNER)
            await self._append(reset, claim=True)
            return
        if self._prober is not None and self._prober.due(self.wl, datetime.now(UTC), self._since):
            await self._append(await self._prober.probe(self.fpga_id, self._driver))

    async def _safe_reset(self) -> str | None:
        """Reset the board; the reason it failed (a real board may be unplugged), or None."""
        try:
            await asyncio.wait_for(self._driver.reset(), PROGRAM_TIMEOUT_S)
        except (DriverError, TimeoutError) as exc:
            log.warning("board %d: reset failed: %s", self.fpga_id, exc)
            return str(exc) or "reset timed out"
        return None

    async def _build(self, item: worklist.WorkItem, *, attempt: int) -> None:
        fid, jid = self.fpga_id, item.job_id
        started = time.monotonic()
        self._started[jid] = started
        sink = LogSink(self._store, fid, jid, started)
        try:
            if attempt > 1:
                await sink("build", f"resuming an interrupted build (attempt {attempt})")
            source = await self._store.get_design(item.design_sha256, wait_s=DESIGN_WAIT_S)
            design = Design(source, item.language, item.top)
            output = await self._driver.build(jid, design, sink)
        except DesignMissing:
            reason = "the design's upload did not complete; submit it again"
            await sink("build", reason)
            await sink.close()
            await self._append(BuildFailed(fpga_id=fid, job_id=jid, reason=reason))
            return
        except BuildError as exc:
            await sink.close()
            await self._append(BuildFailed(fpga_id=fid, job_id=jid, reason=str(exc)))
            return
        except Exception as exc:
            log.exception("board %d: build of job %s failed", fid, jid)
            await sink("build", f"internal error: {type(exc).__name__}")
            await sink.close()
            reason = f"internal build error ({type(exc).__name__})"
            await self._append(BuildFailed(fpga_id=fid, job_id=jid, reason=reason))
            return
        if output.cache_hit:
            await sink("build", "cache hit: reusing the compiled design")
        await sink.close()
        succeeded = BuildSucceeded(
            fpga_id=fid,
            job_id=jid,
            artifact=output.artifact,
            duration_s=round(time.monotonic() - started, 3),
            window_base=output.window_base,
            window_size=output.window_size,
            cache_hit=output.cache_hit,
            utilisation=output.utilisation,
            fmax_mhz=output.fmax_mhz,
            stages=output.stages,
        )
        await self._append(succeeded)
        built = self.wl.item(jid)
        if built is not None and built.phase == "built":
            await self._program(built, output)

    async def _program(self, item: worklist.WorkItem, output: BuildOutput) -> None:
        fid, jid = self.fpga_id, item.job_id
        await self._append(ProgrammingStarted(fpga_id=fid, job_id=jid))
        sink = LogSink(self._store, fid, jid, self._started.pop(jid, None))
        try:
            await asyncio.wait_for(self._driver.program(output, sink), PROGRAM_TIMEOUT_S)
        except (DriverError, TimeoutError) as exc:
            reason = str(exc) or f"programming timed out after {PROGRAM_TIMEOUT_S:.0f} s"
            await sink("program", f"failed: {reason}")
            await sink.close()
            await self._safe_reset()
            await self._append(ProgrammingFailed(fpga_id=fid, job_id=jid, reason=reason))
            return
        await sink("program", "design loaded; the board answered the health probe")
        await sink.close()
        await self._append(Programmed(fpga_id=fid, job_id=jid))
        current = self.wl.item(jid)
        if current is not None:
            await self._open_session(current)

    async def _open_session(self, item: worklist.WorkItem) -> bool:
        opened = SessionOpened(
            fpga_id=self.fpga_id,
            job_id=item.job_id,
            session_id=uuid.uuid4(),
            owner=item.owner,
            expires_at=datetime.now(UTC) + timedelta(seconds=item.lease_seconds),
            lease_seconds=item.lease_seconds,
            max_session_seconds=item.max_session_seconds,
        )
        return await self._append(opened)

    async def _run(self, item: worklist.WorkItem) -> None:
        assert item.run is not None
        if item.run.trace_id is not None:
            for event in await self._recorder.run(item.run, self.wl.session_id):
                await self._append(event)
            return
        await self._append(await run_transaction(self._driver, item.run, self.wl.session_id))

    async def _watch_loaded_design(self) -> None:
        """Bring back a reserved board's design after a restart; fault it if it died."""
        wl = self.wl
        if wl.items or wl.loaded is None or not wl.reserved or self._driver.programmed():
            return
        sink = LogSink(self._store, self.fpga_id, wl.loaded.job_id)
        try:
            await sink("program", "restoring the session's design after a restart or crash")
            output = BuildOutput(wl.loaded.artifact, wl.loaded.window_base, wl.loaded.window_size)
            await asyncio.wait_for(self._driver.program(output, sink), PROGRAM_TIMEOUT_S)
            await sink.close()
        except (DriverError, TimeoutError) as exc:
            await sink.close()
            await self._safe_reset()
            reason = f"the board's design could not be restored: {exc or 'timeout'}"
            await self._append(BoardFaulted(fpga_id=self.fpga_id, reason=reason))


def _output(built: BuildSucceeded) -> BuildOutput:
    return BuildOutput(built.artifact, built.window_base, built.window_size)
