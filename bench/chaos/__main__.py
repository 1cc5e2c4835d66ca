"""``python -m bench.chaos [--minutes N] [--seed S]``: a fault-injection run on a three-node
cluster (see :mod:`bench.chaos.run`), printing its counts; exit status 1 when a check failed."""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
from pathlib import Path

from bench.chaos.run import run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0, help="load time (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: random)")
    parser.add_argument("--clients", type=int, default=5, help="load clients (default 5)")
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the cluster's data here")
    args = parser.parse_args()
    # SIGTERM ends the run like Ctrl-C: the cluster's processes are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    with tempfile.TemporaryDirectory(prefix="fpga-chaos-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        report = run_chaos(data_dir, seconds=args.minutes * 60, seed=seed, clients=args.clients)
    print(report.format(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
