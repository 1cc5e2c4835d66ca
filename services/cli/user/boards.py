"""``fpga-cloud boards``: the farm as a table (also the grid ``watch`` keeps live)."""

from __future__ import annotations

import argparse

from fpga_cloud import Board
from rich.table import Table

from services.cli.user.output import EXIT_OK, Output, ago, client, plain

#: How each board state looks in a table.
STATE_STYLE = {
    "idle": "green",
    "queued": "yellow",
    "building": "yellow",
    "programming": "yellow",
    "reserved": "cyan",
    "error": "bold red",
}


def board_table(boards: list[Board], title: str | None = None) -> Table:
    """Board, state, driver, owner and lease left, one row per board."""
    table = Table(title=title, title_justify="left")
    for column in ("board", "state", "driver", "owner", "lease left"):
        table.add_column(column, justify="right" if column == "board" else "left")
    for board in sorted(boards, key=lambda b: b.fpga_id):
        state = board.state if board.in_service else f"{board.state} (out of service)"
        style = STATE_STYLE.get(board.state, "")
        session = board.session
        table.add_row(
            str(board.fpga_id),
            f"[{style}]{state}[/]" if style else state,
            board.driver,
            session.owner if session else "",
            ago(session.expires_at) if session else "",
        )
    return table


def cmd_boards(args: argparse.Namespace, out: Output) -> int:
    with client() as c:
        boards = c.boards()
    if out.json:
        out.document([plain(b) for b in boards])
    else:
        out.out.print(board_table(boards))
    return EXIT_OK
