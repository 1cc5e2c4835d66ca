"""``fpga-cloud watch``: the farm as a live grid, moved by the event feed (Ctrl-C ends it).

Each event re-reads its board, so the grid shows what the service shows; a full re-read every
few seconds keeps the leases ticking and the grid right even if the feed was cut. With
``--json`` it prints the events themselves, one JSON line each.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from fpga_cloud import Board, Client, Event, FpgaCloudError
from rich.console import Group, RenderableType
from rich.text import Text

from services.cli.user.boards import board_table
from services.cli.user.output import EXIT_OK, Output, client, exit_code, live_view, report

RECENT = 6
FULL_READ_S = 5.0


@dataclass
class Grid:
    """The boards and the last few events; the feed thread and the main loop update it."""

    boards: dict[int, Board]
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT))
    failure: FpgaCloudError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def replace(self, boards: list[Board]) -> None:
        with self.lock:
            self.boards = {b.fpga_id: b for b in boards}

    def event(self, event: Event, board: Board) -> None:
        with self.lock:
            self.boards[board.fpga_id] = board
            when = event.time.astimezone().strftime("%H:%M:%S")
            self.recent.append(f"{when}  board {event.fpga_id}  {event.type}")

    def render(self) -> RenderableType:
        with self.lock:
            boards, recent = list(self.boards.values()), list(self.recent)
        table = board_table(boards, title="fpga-cloud boards (live; Ctrl-C to stop)")
        return Group(table, Text("\n".join(recent), style="dim")) if recent else table


def pump(grid: Grid, stop: threading.Event) -> None:
    """Apply each event of the feed to the grid (its own thread, with its own client)."""
    try:
        with Client() as c:
            for event in c.events():
                grid.event(event, c.board(event.fpga_id))
                if stop.is_set():
                    return
    except FpgaCloudError as exc:
        grid.failure = exc


def cmd_watch(args: argparse.Namespace, out: Output) -> int:
    with client() as c:
        if out.json:
            try:
                for event in c.events(board=args.board):
                    out.document(event)
            except KeyboardInterrupt:
                return EXIT_OK
            return EXIT_OK
        grid = Grid({b.fpga_id: b for b in c.boards()})
        stop = threading.Event()
        threading.Thread(target=pump, args=(grid, stop), daemon=True).start()
        try:
            with live_view(out.out, grid.render):
                next_read = time.monotonic() + FULL_READ_S
                while grid.failure is None:
                    time.sleep(0.2)
                    if time.monotonic() >= next_read:
                        grid.replace(c.boards())
                        next_read += FULL_READ_S
        except KeyboardInterrupt:
            return EXIT_OK
        finally:
            stop.set()
    failure = grid.failure
    report(out, failure.code, failure.message, failure.status)
    return exit_code(failure)


def add_watch_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--board", type=int, help="with --json: only this board's events")
