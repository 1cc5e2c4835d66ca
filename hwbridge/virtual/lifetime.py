"""Children that must not outlive the worker (a simulation spins a core while it lives)."""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import sys

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def die_with_parent() -> None:
    """In a forked child before exec: get SIGKILL when the parent dies, even by SIGKILL.

    The setting survives exec, so a crashed worker leaves no simulation spinning.
    """
    if sys.platform.startswith("linux"):
        _libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
