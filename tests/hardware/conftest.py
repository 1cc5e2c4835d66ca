"""Options of the tests that need a real board.

Run them as ``pytest tests/hardware --board-config PATH``: PATH is a board inventory file (see
examples/inventory.toml) with at least one ``ecp5_evn`` board on this host. This conftest is
only loaded at start-up when ``tests/hardware`` is named on the command line, which is what makes
the option known; without the option the tests are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--board-config",
        metavar="PATH",
        default=None,
        help="board inventory (TOML) naming a real ecp5_evn board; enables tests marked hardware",
    )


@pytest.fixture
def board_config(request: pytest.FixtureRequest) -> Path:
    """The inventory file from --board-config; skips the test without one."""
    value = request.config.getoption("--board-config", default=None)
    if not value:
        pytest.skip("needs a real board: pytest tests/hardware --board-config PATH")
    return Path(value)
