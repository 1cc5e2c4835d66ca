"""How the user commands speak: tables and live views for people, JSON for scripts, exit codes.

With ``--json`` a command writes one JSON document, or JSON lines for a stream, and nothing
else to stdout; messages always go to stderr. Exit codes:

* 0: done;
* 1: the job failed (or did not end in time);
* 2: usage: bad arguments, no API key configured, a design file that does not exist;
* 3: the service refused (an error code such as ``fpga_not_idle``);
* 4: the service cannot be reached, or cannot serve right now (5xx after retries).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
from fpga_cloud import (
    ApiError,
    Client,
    ConfigError,
    FpgaCloudError,
    JobFailed,
    Unreachable,
    WaitTimeout,
)
from rich.console import Console, RenderableType
from rich.live import Live

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace, "Output"], int]


class Output:
    """Where a command writes: ``json`` mode or rich text on a console."""

    def __init__(self, json_mode: bool) -> None:
        self.json = json_mode
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def document(self, value: Any) -> None:
        """One JSON document (or one line of a JSON-lines stream) on stdout."""
        sys.stdout.write(json.dumps(plain(value), separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def say(self, text: str) -> None:
        """A message for people on stderr."""
        self.err.print(text)


@contextmanager
def live_view(
    console: Console, render: Callable[[], RenderableType], per_second: float = 4
) -> Iterator[Live]:
    """A live view on ``console``; off a terminal, only its last frame is printed."""
    with Live(get_renderable=render, console=console, refresh_per_second=per_second) as live:
        yield live
    if not console.is_terminal:
        console.line()  # rich ends the last frame with a line break on terminals only


def plain(value: Any) -> Any:
    """SDK records (msgspec structs, UUIDs, datetimes) as plain JSON values."""
    return msgspec.to_builtins(value)


def client() -> Client:
    """The SDK client with the user's settings (environment, else the login file)."""
    return Client()


def ago(when: datetime) -> str:
    """A duration from now to ``when``, as people read it (``59m 12s``, ``expired``)."""
    seconds = int((when - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def word(text: str) -> int:
    """An address or data word as typed: decimal, or hex with ``0x`` (also ``0b``, ``0o``)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (decimal or 0x hex)") from None
    if not 0 <= value <= 0xFFFF_FFFF:
        raise argparse.ArgumentTypeError(f"{text} is not a 32-bit unsigned value")
    return value


def job_id(text: str) -> uuid.UUID:
    """A job id as typed."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a job id (a UUID)") from None


def exit_code(exc: FpgaCloudError) -> int:
    """The documented exit code for an SDK error."""
    if isinstance(exc, JobFailed | WaitTimeout):
        return EXIT_JOB_FAILED
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    if isinstance(exc, Unreachable):
        return EXIT_UNREACHABLE
    if isinstance(exc, ApiError) and exc.status is not None and exc.status >= 500:
        return EXIT_UNREACHABLE
    return EXIT_REFUSED


def run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: quiet libraries, map errors to messages and exit codes."""

    def command(args: argparse.Namespace) -> int:
        for name in ("httpx", "httpcore", "websockets", "mcp"):
            logging.getLogger(name).setLevel(logging.WARNING)
        out = Output(bool(getattr(args, "json", False)))
        try:
            return handler(args, out)
        except FpgaCloudError as exc:
            report(out, exc.code, exc.message, exc.status)
            return exit_code(exc)
        except FileNotFoundError as exc:
            report(out, "file_not_found", f"no such file: {exc.filename}", None)
            return EXIT_USAGE
        except IsADirectoryError as exc:
            report(out, "not_a_file", f"{exc.filename} is a directory", None)
            return EXIT_USAGE
        except PermissionError as exc:
            report(out, "permission_denied", f"cannot read {exc.filename}", None)
            return EXIT_USAGE
        except KeyboardInterrupt:
            out.say("interrupted")
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # The reader went away (``| head``): stop quietly, and let nothing flush later.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK

    return command


def report(out: Output, code: str, message: str, status: int | None) -> None:
    """An error: one line on stderr; in JSON mode also ``{"error": ...}`` on stdout."""
    out.err.print(f"fpga-cloud: {code}: {message}", markup=False)
    if out.json:
        out.document({"error": {"code": code, "message": message, "status": status}})


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="machine-readable output: JSON on stdout only"
    )
