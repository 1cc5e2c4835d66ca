"""Running the user's Python file in the build child, and saying what went wrong in its terms.

Only the untrusted phase of a build imports the user's code; it runs in the sandbox.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

#: The name the user's file is imported under.
MODULE_NAME = "design"


def load_module(path: Path) -> ModuleType:
    """Execute ``path`` as a module named ``design`` without touching ``sys.path``."""
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before execution so dataclasses/pickle inside the design can find it.
    sys.modules[MODULE_NAME] = module
    spec.loader.exec_module(module)
    return module


def user_traceback(exc: BaseException, path: Path) -> str:
    """Format ``exc`` showing only the frames that are in the user's file.

    Frames of importlib, LiteX, Amaranth and the service mean nothing to the user; when none of
    the frames is theirs (a SyntaxError, an error deep in a library) the innermost frame is kept
    so the message still says where it happened.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if Path(f.filename) == path]
    lines = [f"Traceback (most recent call last, {path.name} frames only):\n"]
    if not mine and frames:
        mine = [frames[-1]]
        lines = [f"Traceback (innermost frame; none is in {path.name}):\n"]
    lines += traceback.format_list(mine)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)


def user_line(exc: BaseException, path: Path) -> int | None:
    """The line of the user's file the error comes from (the innermost frame there)."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == path:
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return frames[-1].lineno if frames else None


def describe(exc: BaseException) -> str:
    """``Type: message`` on one line (multi-line messages joined, capped)."""
    message = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    if len(message) > 300:
        message = message[:297] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def raised(exc: BaseException, path: Path) -> str:
    """``design.py raised Type: message`` with the line in the user's file when there is one."""
    line = user_line(exc, path)
    where = f" at line {line}" if line is not None and not isinstance(exc, SyntaxError) else ""
    return f"{path.name} raised {describe(exc)}{where}"
