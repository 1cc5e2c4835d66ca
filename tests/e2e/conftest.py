"""End-to-end fixtures: the real system with virtual boards, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.system import System


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = System(
        tmp_path_factory.mktemp("system"),
        FPGA_CLOUD_BUILD_TIMEOUT_S="40",
        FPGA_CLOUD_MAX_UPLOAD_BYTES="65536",
        # One test user drives many boards at once here, faster than a person would.
        FPGA_CLOUD_MAX_BOARDS_PER_KEY="10",
        FPGA_CLOUD_RATE_LIMIT="1000",
        FPGA_CLOUD_RATE_BURST="2000",
    )
    sys_.start()
    yield sys_
    sys_.stop()
    assert sys_.problems() == []


@pytest.fixture
def http(system: System) -> Iterator[httpx.Client]:
    """A client with the key ``fpga-cloud up`` printed, as the walkthrough uses it."""
    with system.client() as c:
        yield c


def example(name: str) -> bytes:
    return (Path(__file__).resolve().parents[2] / "examples" / name).read_bytes()
