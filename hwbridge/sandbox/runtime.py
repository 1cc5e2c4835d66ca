"""What every sandboxed program gets from the service: a clean environment, the interpreter.

The environment is built from nothing: none of the service's variables (``NATS_*``,
``FPGA_CLOUD_*``, credentials) reach a sandboxed program.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from hwbridge.sandbox.spec import LaunchSpec
from hwbridge.sandbox.view import outermost

#: The directory holding the ``hwbridge`` package (on the program's ``PYTHONPATH``).
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def clean_environment(home: Path, tmp: Path | None = None, **extra: str) -> dict[str, str]:
    """The whole environment of a sandboxed program.

    Args:
        home: ``HOME``.
        tmp: ``TMPDIR``, the program's private temporary directory.
        extra: More variables.
    """
    env = {
        "PATH": os.environ.get("PATH", _DEFAULT_PATH),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": str(PACKAGE_ROOT),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    env.update(extra)
    return env


def python_command(module: str, *args: str) -> list[str]:
    """``python -P -m MODULE ARGS`` with this interpreter.

    ``-P`` keeps the working directory off ``sys.path``: a program's working directory holds
    files a design wrote, which must never shadow the service's modules.
    """
    return [sys.executable, "-P", "-m", module, *args]


@functools.cache
def interpreter_dirs() -> tuple[str, ...]:
    """Directories the interpreter and the service's packages live in (read-only in a sandbox)."""
    # Not sys.path: its first entry is wherever the service was started from. A program's own
    # PYTHONPATH is PACKAGE_ROOT, and the installed packages are under the prefixes.
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates += [os.path.dirname(os.path.realpath(sys.executable)), str(PACKAGE_ROOT)]
    found = {os.path.realpath(c) for c in candidates if os.path.isdir(c)}
    return tuple(outermost(found))


def launcher_command(spec: LaunchSpec) -> list[str]:
    """The command that runs ``spec``'s program in its sandbox."""
    return python_command("hwbridge.sandbox.enter", spec.to_json())
