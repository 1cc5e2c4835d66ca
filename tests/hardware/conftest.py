"""Options of the tests that need a real board.

Run them as ``pytest --board-config PATH`` (or ``pytest tests/hardware --board-config PATH``):
PATH is a board inventory file (see examples/inventory.toml) with at least one ``ecp5_evn``
board on this host. The option is declared in tests/conftest.py; without it they are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def board_config(request: pytest.FixtureRequest) -> Path:
    """The inventory file from --board-config; skips the test without one."""
    value = request.config.getoption("--board-config", default=None)
    if not value:
        pytest.skip("needs a real board: pytest tests/hardware --board-config PATH")
    return Path(value)
