"""The SDK's live feed across a restart of the whole service: the feed is cut when the API
stops, the SDK keeps reconnecting, and resumes after the last event it delivered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fpga_cloud import Client, Event, JobFailed

from tests.e2e.system import System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

BROKEN = b"from migen import *\nclass Design(Module):\n    raise RuntimeError('on purpose')\n"
TYPES = ["JobQueued", "BuildFailed"]


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    system = System(Path(tmp_path_factory.mktemp("restart")), FPGA_CLOUD_BUILD_TIMEOUT_S="40")
    system.start()
    yield system
    system.stop()
    assert system.problems() == []


def fail_a_build(client: Client, board: int) -> None:
    """Two events on ``board``: JobQueued, then BuildFailed (and the board idle again)."""
    with pytest.raises(JobFailed):
        client.submit(BROKEN, board=board).wait(timeout=120)


def test_events_resume_after_the_service_restarts(restartable: System) -> None:
    key = restartable.create_key("feed across restarts")  # outlives the restart
    got: list[Event] = []

    def collect() -> None:
        with Client(restartable.base, key) as c:
            for event in c.events(board=1, types=TYPES):
                got.append(event)
                if len(got) == 8:
                    return

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    with Client(restartable.base, key) as client:
        while not got:
            fail_a_build(client, 1)
        while len(got) < 4:
            fail_a_build(client, 1)
    before_restart = len(got)
    restartable.stop()
    restartable.start()
    with Client(restartable.base, key) as client:
        while reader.is_alive() and len(got) < 8:
            fail_a_build(client, 1)
        reader.join(timeout=60)
        assert not reader.is_alive()
        truth = []
        for event in client.events(board=1, types=TYPES, after=got[0].seq - 1):
            truth.append(event.seq)
            if len(truth) == len(got):
                break
    seqs = [e.seq for e in got]
    assert seqs == truth and len(set(seqs)) == len(seqs)
    assert before_restart < len(got) == 8  # some were delivered only after the restart
