"""``fpga-cloud logs BOARD JOB [--follow]``: a job's log, or each line as it is written."""

from __future__ import annotations

import argparse

from services.cli.user.output import EXIT_OK, Output, client, job_id


def cmd_logs(args: argparse.Namespace, out: Output) -> int:
    with client() as c:
        for line in c.job(args.board, args.job).logs(follow=args.follow):
            if out.json:
                out.document({"line": line})
            else:
                out.out.print(line, markup=False)
    return EXIT_OK


def add_logs_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("board", type=int, help="the job's board")
    parser.add_argument("job", type=job_id, help="the job id")
    parser.add_argument(
        "--follow", "-f", action="store_true", help="print lines as they come until the job ends"
    )
