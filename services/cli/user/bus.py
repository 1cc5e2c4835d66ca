"""``fpga-cloud read``, ``write`` and ``release``: the holder's commands on a reserved board.

Each finds the board's session itself (``GET /fpga/{id}/session`` shows it to its owner), so a
user needs only the board number. A read or write is one run job on the service.
"""

from __future__ import annotations

import argparse

from rich.table import Table

from services.cli.user.output import EXIT_OK, Output, client, word

RELEASE_WAIT_S = 60.0


def cmd_read(args: argparse.Namespace, out: Output) -> int:
    with client() as c:
        words = c.session(args.board, keep=True).read(args.address, args.count)
    if out.json:
        out.document({"fpga_id": args.board, "address": args.address, "words": words})
        return EXIT_OK
    table = Table.grid(padding=(0, 2))
    for i, value in enumerate(words):
        table.add_row(f"0x{args.address + 4 * i:08x}", f"0x{value:08x}", f"{value}")
    out.out.print(table)
    return EXIT_OK


def cmd_write(args: argparse.Namespace, out: Output) -> int:
    with client() as c:
        c.session(args.board, keep=True).write(args.address, args.words)
    if out.json:
        out.document({"fpga_id": args.board, "address": args.address, "words": args.words})
    else:
        out.say(f"wrote {len(args.words)} word(s) at 0x{args.address:x} on board {args.board}")
    return EXIT_OK


def cmd_release(args: argparse.Namespace, out: Output) -> int:
    with client() as c:
        reset = c.session(args.board, keep=True).release()
        if not args.no_wait:
            reset.wait(RELEASE_WAIT_S)
    if out.json:
        out.document({"fpga_id": args.board, "reset_job_id": reset.id, "idle": not args.no_wait})
    else:
        state = "is idle again" if not args.no_wait else "is being reset"
        out.say(f"board {args.board} released; it {state} (reset job {reset.id})")
    return EXIT_OK


def add_read_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("board", type=int, help="the reserved board")
    parser.add_argument("address", type=word, help="byte offset in the design's window (0x...)")
    parser.add_argument("count", type=int, nargs="?", default=1, help="words to read (default 1)")


def add_write_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("board", type=int, help="the reserved board")
    parser.add_argument("address", type=word, help="byte offset in the design's window (0x...)")
    parser.add_argument("words", type=word, nargs="+", help="32-bit words, decimal or 0x hex")


def add_release_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("board", type=int, help="the reserved board")
    parser.add_argument(
        "--no-wait", action="store_true", help="return at once instead of waiting for idle"
    )
