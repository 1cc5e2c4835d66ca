"""Property-based fuzzing of the whole API from its own OpenAPI schema, with a valid key.

Schemathesis generates requests for every operation (valid and invalid data, missing key,
unsupported methods) against the running system; every answer must be a non-5xx response that
matches the schema: documented status code, content type, headers and body.

The two live event feeds (``/events``, ``/fpga/{id}/events``) are left out: an accepted request
streams until the client leaves, so every generated case would wait out a timeout. Their input
checks are tested in tests/integration/test_live_events.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.system import REPO, System
from tests.standins.github import base_url, github_standin

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
])  # fmt: skip


@pytest.fixture
def fuzzed_system(tmp_path: Path) -> Iterator[System]:
    # GitHub is the local stand-in: a key exchange must never leave the machine.
    with github_standin({"gho_fuzz": "fuzzer"}) as gh:
        system = System(
            tmp_path / "data",
            FPGA_CLOUD_BOARDS="0-3",
            FPGA_CLOUD_GITHUB_API_URL=base_url(gh),
            FPGA_CLOUD_BUILD_TIMEOUT_S="20",
            FPGA_CLOUD_RATE_LIMIT="1000",
            FPGA_CLOUD_RATE_BURST="2000",
        )
        system.start()
        try:
            yield system
        finally:
            system.stop()


def test_no_operation_answers_5xx_or_off_schema(fuzzed_system: System) -> None:
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"), "run",
            f"{fuzzed_system.base}/openapi.json",
            "--header", f"X-API-Key: {fuzzed_system.api_key}",
            "--checks", CHECKS,
            "--exclude-path-regex", r"^(/fpga/\{fpga_id\})?/events$",
            "--phases", "coverage,fuzzing",
            "--max-examples", "100",
            "--workers", "1",
            "--no-color",
        ],
        cwd=REPO, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert tested is not None and int(tested.group(1)) >= 18, report  # every other operation
    assert fuzzed_system.api_key not in run.stdout  # the key is filtered from reproductions
