"""``fpga-cloud submit``: upload a design; with ``--follow``, watch it build and get the board.

The live view shows the stages (queued → building → programming → reserved) as the job's
events arrive, with the last lines of the build log, and ends by printing the session. A build
that fails ends the command with exit code 1 and the reason.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from fpga_cloud import ANY, Client, FpgaCloudError, Job, JobFailed, JobInfo, SessionInfo
from rich.console import Group, RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from services.cli.user.output import (
    EXIT_JOB_FAILED,
    EXIT_OK,
    Output,
    ago,
    client,
    live_view,
    plain,
)

#: The stages shown, and the job stages each covers.
STAGES = ("queued", "building", "programming", "reserved")
_SHOWN_AS = {"waiting": "queued", "built": "building", "programmed": "programming"}
LOG_LINES = 8


@dataclass
class Watch:
    """What the live view shows; the log thread and the wait both update it."""

    started: float = field(default_factory=time.monotonic)
    stage: str = "queued"
    failed: bool = False
    log: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def see(self, info: JobInfo) -> None:
        stage = _SHOWN_AS.get(info.stage or info.status, info.stage or info.status)
        with self.lock:
            if stage in STAGES:
                self.stage = stage
            self.failed = info.status in ("failed", "cancelled")

    def add_line(self, line: str) -> None:
        with self.lock:
            self.log.append(line)

    def render(self) -> RenderableType:
        with self.lock:
            stage, failed, lines = self.stage, self.failed, list(self.log)
        row = Table.grid(padding=(0, 1))
        current = STAGES.index(stage) if stage in STAGES else -1
        cells: list[RenderableType] = []
        for i, name in enumerate(STAGES):
            if failed and (i == current or (current < 0 and i == 1)):
                cells.append(Text(f"✗ {name}", style="bold red"))
            elif i < current or name == stage == "reserved":
                cells.append(Text(f"✓ {name}", style="green"))
            elif i == current:
                cells.append(Spinner("dots", text=Text(name, style="bold yellow")))
            else:
                cells.append(Text(f"· {name}", style="dim"))
        row.add_row(*cells, Text(f"{time.monotonic() - self.started:5.1f}s", style="dim"))
        log = Text("\n".join(lines), style="dim", overflow="ellipsis", no_wrap=True)
        return Group(row, log) if lines else row


def follow_log(job: Job, watch: Watch) -> None:
    """Feed the build log into the view (runs in its own thread, with its own client)."""
    try:
        with Client() as c:
            for line in c.job(job.board, job.id).logs(follow=True):
                watch.add_line(line)
    except FpgaCloudError:
        pass  # the log is a nicety here; the wait reports what matters


def session_text(session: SessionInfo) -> str:
    expires = session.expires_at.astimezone().strftime("%H:%M:%S")
    return (
        f"board {session.fpga_id} is reserved for you: session {session.session_id}, "
        f"lease until {expires} ({ago(session.expires_at)} left)"
    )


def board_choice(value: str) -> int | str:
    """``--board``: a board id, or ``any`` (the next free board, waiting in line)."""
    if value == ANY:
        return ANY
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a board id or 'any': {value!r}") from None


def cmd_submit(args: argparse.Namespace, out: Output) -> int:
    with client() as c:
        job = c.submit(args.design, board=args.board, top=args.top)
        if not args.follow:
            info = job.info()
            if out.json:
                out.document(
                    {"job_id": job.id, "fpga_id": job.board, "status": info.status,
                     "position": info.position}
                )  # fmt: skip
            elif job.board is None:
                out.out.print(f"job {job.id} waits for a board, number {info.position} in line")
                out.say(f"follow it: fpga-cloud submit … --follow, or GET /jobs/{job.id}")
            else:
                out.out.print(f"job {job.id} {info.status} on board {job.board}")
                out.say(f"follow it: fpga-cloud logs {job.board} {job.id} --follow")
            return EXIT_OK
        return _follow(c, job, out, args.timeout)


def _follow(c: Client, job: Job, out: Output, timeout: float) -> int:
    watch = Watch()
    if out.json:
        try:
            job.wait(timeout, on_progress=lambda info: out.document({"job": plain(info)}))
        except JobFailed as failed:
            out.err.print(f"fpga-cloud: build failed: {failed.job.error}", markup=False)
            return EXIT_JOB_FAILED
        out.document({"session": plain(job.session(keep=True).info)})
        return EXIT_OK
    logger = threading.Thread(target=follow_log, args=(job, watch), daemon=True)
    logger.start()
    where = f"on board {job.board}" if job.board is not None else "waiting for a board"
    out.say(f"job {job.id} {where}")
    failure: JobFailed | None = None
    with live_view(out.err, watch.render, per_second=8) as live:
        try:
            job.wait(timeout, on_progress=watch.see)
        except JobFailed as failed:
            failure = failed
            logger.join(timeout=2)  # the log's last lines, into the view's last frame
            live.refresh()
    if failure is not None:
        out.err.print(f"build failed: {failure.job.error}", markup=False, style="bold red")
        return EXIT_JOB_FAILED
    out.out.print(session_text(job.session(keep=True).info))
    return EXIT_OK


def add_submit_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="the design file (.py Migen or Amaranth, .v, .sv)")
    parser.add_argument(
        "--board",
        type=board_choice,
        help="the board id, or 'any': the next free board, waiting in line if all are busy "
        "(default: the first idle one)",
    )
    parser.add_argument("--top", help="the class or module to build, if not the default")
    parser.add_argument(
        "--follow", action="store_true", help="show the build live and wait for the board"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds --follow waits (default 900)"
    )
