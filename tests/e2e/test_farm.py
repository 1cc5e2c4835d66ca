"""A farm many users share, end to end: thirty jobs from three keys submitted for any board
through ``fpga-cloud up`` with ten virtual boards, each key capped at three boards. All finish,
none is lost, and the event history shows no board ever held two jobs at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from fpga_cloud import ANY, Client

from events.codec import decode_stored
from events.connection import connect
from events.farm import BoardClaimed, JobAssigned, StoredEvent
from events.store import EventStore
from events.subjects import BOARD_STREAM_FILTERS
from events.types import BoardReset, JobQueued, SessionOpened, SessionReleased
from tests.e2e.system import EXAMPLES, System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

KEYS = 3
JOBS_PER_KEY = 10
CAP = 3


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    system = System(
        tmp_path_factory.mktemp("farm"),
        FPGA_CLOUD_MAX_BOARDS_PER_KEY=str(CAP),
        FPGA_CLOUD_RATE_LIMIT="1000",
        FPGA_CLOUD_RATE_BURST="2000",
    )
    system.start()
    yield system
    system.stop()
    assert system.problems() == []


def _user(system: System, key: str, done: list[uuid.UUID], errors: list[BaseException]) -> None:
    """Submit every job for any board at once, then take each board in turn: wait, write a
    word, read it back, release."""
    try:
        with Client(system.base, key) as c:
            jobs = [c.submit(EXAMPLES / "echo_regs.py", board=ANY) for _ in range(JOBS_PER_KEY)]
            for n, job in enumerate(jobs):
                job.wait(timeout=300)
                with job.session() as session:
                    session.write(0, [n])
                    assert session.read(0) == [n]
                done.append(job.id)
    except BaseException as exc:
        errors.append(exc)


def _history(system: System) -> list[StoredEvent]:
    async def read() -> list[StoredEvent]:
        nc = await connect(system.nats_url, system.nats_credentials(), name="test history")
        try:
            store = EventStore(nc)
            return [decode_stored(r.data) async for r in store.read_raw(BOARD_STREAM_FILTERS)]
        finally:
            await nc.close()

    return asyncio.run(read())


def test_thirty_jobs_from_three_keys_all_finish_one_job_per_board_at_a_time(
    farm: System,
) -> None:
    keys = [farm.create_key(f"user{i}") for i in range(KEYS)]
    done: list[uuid.UUID] = []
    errors: list[BaseException] = []
    users = [threading.Thread(target=_user, args=(farm, k, done, errors)) for k in keys]
    for user in users:
        user.start()
    for user in users:
        user.join(timeout=900)
    assert errors == [] and len(done) == KEYS * JOBS_PER_KEY
    history = _history(farm)
    assigned = Counter(e.job_id for e in history if isinstance(e, JobAssigned))
    placed = {e.job_id for e in history if isinstance(e, JobQueued)}
    assert set(done) <= placed and all(assigned[j] <= 1 for j in done)
    opened = {e.job_id for e in history if isinstance(e, SessionOpened)}
    assert set(done) <= opened
    # Per board: a job, its session, its release, the reset; only then the next job.
    holder: dict[int, uuid.UUID | None] = {}
    for e in history:
        if isinstance(e, JobQueued):
            assert holder.get(e.fpga_id) is None, f"FPGA {e.fpga_id} given twice"
            holder[e.fpga_id] = e.job_id
        elif isinstance(e, BoardReset):
            holder[e.fpga_id] = None
    released = Counter(e.session_id for e in history if isinstance(e, SessionReleased))
    assert len(released) == KEYS * JOBS_PER_KEY and set(released.values()) == {1}
    # Never more than the cap at once for a key: its claims say how many it held.
    held = [e.held for e in history if isinstance(e, BoardClaimed)]
    assert held and max(held) < CAP


def test_the_cli_submits_for_any_board(farm: System) -> None:
    key = farm.create_key("cli-user")
    env = {**farm.env(), "FPGA_CLOUD_URL": farm.base, "FPGA_CLOUD_API_KEY": key}

    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "submit", str(EXAMPLES / "echo_regs.py"),
         "--board", "any", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] in ("queued", "running", "complete", "waiting")
    with Client(farm.base, key) as c:
        job = c.job(answer["fpga_id"], answer["job_id"])
        job.wait(timeout=300)
        job.session().release()
    bad = subprocess.run(
        [sys.executable, "-m", "services.cli", "submit", str(EXAMPLES / "echo_regs.py"),
         "--board", "some"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "not a board id or 'any'" in bad.stderr
