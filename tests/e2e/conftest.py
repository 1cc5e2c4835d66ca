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
    )
    sys_.start()
    yield sys_
    sys_.stop()


@pytest.fixture
def http(system: System) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=system.base, timeout=30.0, headers={"X-API-Key": "e2e-user"}) as c:
        yield c


def example(name: str) -> bytes:
    return (Path(__file__).resolve().parents[2] / "examples" / name).read_bytes()
