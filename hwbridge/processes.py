"""Ending what the service started: every process group is killed as a whole."""

from __future__ import annotations

import contextlib
import os
import signal


def kill_group(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    """Send ``sig`` to the process group ``pid`` leads, if any of it is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
