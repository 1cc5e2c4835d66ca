"""A program in a real pseudo-terminal, its screen kept by a terminal emulator (pyte), so a test
checks what a person would see: live views redrawn in place, colours and cursor moves applied."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence

import pyte


def _controlling_tty() -> None:
    """In the child: a new session whose controlling terminal is the pty (so ^C is SIGINT)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """Runs ``argv`` on a ``columns`` x ``lines`` pty."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        cwd: str,
        columns: int = 120,
        lines: int = 40,
    ) -> None:
        self.screen = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
            env={**env, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(lines)},
            preexec_fn=_controlling_tty,
        )  # fmt: skip
        os.close(slave)
        self._master = master
        self.seen: list[str] = []
        """Every screen shown, one text per read."""

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def pump(self, timeout: float = 0.1) -> bool:
        """Feed what the program wrote to the screen; False once it closed the terminal."""
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self._master, 65536)
        except OSError:
            return False  # EIO: the program has exited and the pty is closed
        if not data:
            return False
        self._stream.feed(data)
        self.seen.append(self.text())
        return True

    def wait_for(self, check: Callable[[str], bool], timeout: float = 60.0) -> str:
        """Read until the screen passes ``check``; the screen then."""
        deadline = time.monotonic() + timeout
        while not check(self.text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed it; last screen:\n{self.text()}")
            if not self.pump() and not check(self.text()):
                raise AssertionError(f"the program ended first; last screen:\n{self.text()}")
        return self.text()

    def press(self, keys: bytes) -> None:
        os.write(self._master, keys)

    def wait_exit(self, timeout: float = 30.0) -> int:
        """Drain the screen until the program exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"still running; screen:\n{self.text()}"
            self.pump(0.05)
        while self.pump(0.05):
            pass
        return self.proc.returncode

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        os.close(self._master)
