"""Nothing acknowledged is lost when machines die: a three-node NATS cluster (streams replicated
three times), two API replicas and two hwbridge hosts as separate processes, under a steady
load of submits, runs, stream frames, releases and cancels, while the board stream's leader, a
follower, an API replica, a hwbridge host mid-build and one mid-run are killed with SIGKILL and
a node is paused past an election; then the history checker (:mod:`bench.chaos.checker`).
Repeatable with ``FPGA_CLOUD_CHAOS_SEED``; ``python -m bench.chaos --minutes N`` runs it longer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.chaos.run import run_chaos

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SEED = int(os.environ.get("FPGA_CLOUD_CHAOS_SEED", "20261201"))
LOAD_S = 45.0
FAULTS = 6


def test_nothing_acknowledged_is_lost_when_machines_die(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run_chaos(tmp_path / "cluster", seconds=LOAD_S, seed=SEED, clients=4)
    with capsys.disabled():
        print("\n" + report.format())
    history, findings = report.history, report.findings
    assert len(history.faults) == FAULTS, report.format()
    ops = history.by_op()
    answered_2xx = [c for c in history.calls if c.status is not None and c.status < 300]
    # The load ran through the faults: every kind of command, many of them answered.
    assert all(ops[op] > 0 for op in ("submit", "run", "release", "cancel")), ops
    assert len(answered_2xx) >= 50, report.format()
    assert history.streams.frames > 0
    assert (findings.lost, findings.duplicated, findings.refused_but_applied) == (0, 0, 0)
    assert report.ok, report.format()
