"""The SDK against a system with tight limits: 429s retried after Retry-After (or raised with
it), and the per-key board limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fpga_cloud import NO_RETRY, BoardLimitReached, Client, RateLimited, RetryPolicy

from tests.e2e.system import EXAMPLES, System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

RATE = 4


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    system = System(
        Path(tmp_path_factory.mktemp("limited")),
        FPGA_CLOUD_RATE_LIMIT=str(RATE), FPGA_CLOUD_RATE_BURST=str(RATE),
        FPGA_CLOUD_MAX_BOARDS_PER_KEY="1", FPGA_CLOUD_BUILD_TIMEOUT_S="40",
    )  # fmt: skip
    system.start()
    yield system
    system.stop()
    assert system.problems() == []


def drain(client: Client) -> RateLimited:
    """Spend the key's burst until the service says 429; that refusal."""
    for _ in range(10 * RATE):
        try:
            client.boards()
        except RateLimited as exc:
            return exc
    raise AssertionError("no 429 from a service limited to a few requests a second")


def test_429_is_retried_after_retry_after(limited: System) -> None:
    with Client(limited.base, limited.api_key, retry=NO_RETRY) as impatient:
        refusal = drain(impatient)
    assert (refusal.code, refusal.status) == ("rate_limited", 429)
    assert refusal.retry_after is not None and refusal.retry_after >= 1
    with Client(limited.base, limited.api_key, retry=RetryPolicy(attempts=5)) as patient:
        started = time.monotonic()
        for _ in range(3 * RATE):
            assert len(patient.boards()) == 10  # every call ends well, some after a wait
        assert time.monotonic() - started >= 1.0  # it did wait: the burst was spent


def test_a_retry_after_longer_than_max_wait_is_raised(limited: System) -> None:
    with Client(limited.base, limited.api_key, retry=RetryPolicy(max_wait=0.5)) as c:
        with pytest.raises(RateLimited):
            for _ in range(10 * RATE):
                c.boards()
    time.sleep(1.5)  # let the bucket refill for the next test


def test_board_limit(limited: System) -> None:
    with Client(limited.base, limited.api_key) as client:
        job = client.submit(EXAMPLES / "echo_regs.py", board=0)
        with pytest.raises(BoardLimitReached) as limit:
            client.submit(EXAMPLES / "echo_regs.py", board=1)
        assert (limit.value.code, limit.value.status) == ("board_limit_reached", 409)
        job.wait(timeout=180)
        with job.session():
            pass  # released on the way out
        deadline = time.monotonic() + 60
        while client.board(0).state != "idle":
            assert time.monotonic() < deadline
            time.sleep(0.2)
