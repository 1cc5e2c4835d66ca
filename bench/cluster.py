"""The distributed shape of ``compose.yaml`` on one machine: a three-node NATS cluster (the
wheel's ``nats-server``, loopback ports, a store each) with every stream replicated three times,
two API replicas and two hwbridge hosts (boards 0-4 and 5-9, virtual, as the inventory says),
each a separate process run as the deployment runs it. What the fault-injection suite
(:mod:`bench.chaos`) kills and restarts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import ClusterInfo

from bench.system import REPO, SHARED_KIT_DIR, free_port
from events.connection import (
    ADMIN_USER,
    API_USER,
    PASSWORD_ENV,
    PROJECTIONS_PASSWORD_ENV,
    PROJECTIONS_USER,
    USER_ENV,
    connect,
)
from events.settings import Settings
from events.store import EventStore
from events.streams import provision
from services.auth.issuer import KeyIssuer
from services.nats.access import scrubbed_env
from services.nats.auth import HwbridgeHost, new_password, users
from services.nats.server import ClusterNode, NatsServer

REPLICAS = 3
HOSTS = (HwbridgeHost("a", tuple(range(5))), HwbridgeHost("b", tuple(range(5, 10))))
READY_TIMEOUT_S = 90.0
KEY_ISSUER = "cluster"
#: Each setting's environment variable.
VARIABLES = Settings.variables()


@dataclass
class Proc:
    """One process of the cluster: how to start it again, and its current child."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    paused: bool = field(default=False)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            self.paused = sig == signal.SIGSTOP

    def signal_stop(self) -> None:
        self.signal(signal.SIGSTOP)

    def signal_continue(self) -> None:
        self.signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, the whole process group (a hwbridge's simulators too)."""
        if self.popen is None:
            return
        if self.paused:
            self.signal(signal.SIGCONT)
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class Cluster:
    """Three NATS nodes, two API replicas, two hwbridge hosts, in ``data_dir``."""

    def __init__(self, data_dir: Path, *, api_replicas: int = 2) -> None:
        self.data_dir = data_dir
        self.passwords = {u.name: new_password() for u in users(HOSTS)}
        ports = [(free_port(), free_port()) for _ in range(REPLICAS)]
        self.servers = [
            NatsServer(
                data_dir / f"nats-{i}", port=port, hosts=HOSTS, passwords=self.passwords,
                node=ClusterNode(
                    f"nats-{i}", route, tuple(r for _, r in ports if r != route)
                ),
            )
            for i, (port, route) in enumerate(ports)
        ]  # fmt: skip
        self.nodes = [
            Proc(f"nats-{i}", s.command(), s.environment(), s.store_dir / "nats-server.log")
            for i, s in enumerate(self.servers)
        ]
        self.nats_url = ",".join(s.url for s in self.servers)
        self.api_ports = [free_port() for _ in range(api_replicas)]
        self.apis = [self._api(i, port) for i, port in enumerate(self.api_ports)]
        self.hwbridges = [self._hwbridge(host) for host in HOSTS]
        self.admin_key = ""

    def _inventory(self) -> Path:
        """The farm's inventory: a virtual board per id, each on its host."""
        path = self.data_dir / "inventory.toml"
        path.write_text(
            "".join(
                f'[[boards]]\nfpga_id = {i}\ndriver = "virtual"\nhost = "{host.name}"\n\n'
                for host in HOSTS
                for i in host.fpga_ids
            )
        )
        return path

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.api_ports]

    def _env(self, user: str, data_dir: Path) -> dict[str, str]:
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **{k: v for k, v in scrubbed_env(os.environ).items() if not k.startswith("FPGA_")},
            VARIABLES["nats_url"]: self.nats_url,
            VARIABLES["data_dir"]: str(data_dir),
            VARIABLES["stream_replicas"]: str(REPLICAS),
            VARIABLES["kit_dir"]: str(SHARED_KIT_DIR),
            VARIABLES["inventory"]: str(self._inventory()),
            # Load clients, not abusers: the per-key rate limit is not what is under test.
            VARIABLES["rate_limit_per_s"]: "1000",
            VARIABLES["rate_limit_burst"]: "2000",
        }
        env[USER_ENV], env[PASSWORD_ENV] = user, self.passwords[user]
        return env

    def _api(self, index: int, port: int) -> Proc:
        env = self._env(API_USER, self.data_dir / f"api-{index}")
        env[PROJECTIONS_PASSWORD_ENV] = self.passwords[PROJECTIONS_USER]
        args = [sys.executable, "-m", "services.cli", "api", "--host", "127.0.0.1"]
        return Proc(f"api-{index}", [*args, "--port", str(port)], env, self._log(f"api-{index}"))

    def _hwbridge(self, host: HwbridgeHost) -> Proc:
        env = self._env(host.user, self.data_dir / f"hwbridge-{host.name}")
        env[VARIABLES["hwbridge_host"]] = host.name
        args = [sys.executable, "-m", "services.cli", "hwbridge"]
        return Proc(host.user, args, env, self._log(host.user))

    def _log(self, name: str) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / f"{name}.log"

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        self.admin_key = asyncio.run(self._provision())
        for proc in (*self.apis, *self.hwbridges):
            proc.start()
        for base in self.bases:
            self.wait_healthy(base)

    async def _provision(self) -> str:
        """Streams and buckets with three replicas (once the cluster has a meta leader), and
        the admin API key."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                nc = await self.admin_connection()
                try:
                    await provision(nc.jetstream(), REPLICAS)
                    key, _ = await KeyIssuer(EventStore(nc)).create(
                        "operator", admin=True, created_by=KEY_ISSUER
                    )
                    return key
                finally:
                    await nc.close()
            except (NatsError, OSError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def admin_connection(self) -> NATS:
        """A NATS connection as the cluster's admin user."""
        return await connect(
            self.nats_url, self.servers[0].credentials(ADMIN_USER), name="cluster operator"
        )

    def create_key(self, name: str) -> str:
        """A new (non-admin) API key, as an operator issues one."""

        async def create() -> str:
            nc = await self.admin_connection()
            try:
                key, _ = await KeyIssuer(EventStore(nc)).create(
                    name, admin=False, created_by=KEY_ISSUER
                )
                return key
            finally:
                await nc.close()

        return asyncio.run(create())

    def wait_healthy(self, base: str, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{base} not healthy in {timeout:.0f} s")

    def stream_leader(self, stream: str) -> int:
        """The index of the node that leads ``stream`` now (waiting for an election)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            info = asyncio.run(self._stream_cluster(stream))
            if info is not None and info.leader:
                return next(
                    i for i, s in enumerate(self.servers) if s.node and s.node.name == info.leader
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"stream {stream} has no leader")
            time.sleep(0.2)

    def wait_stream_healthy(self, stream: str, timeout: float = READY_TIMEOUT_S) -> bool:
        """Wait until ``stream`` has a leader and every replica is current."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = asyncio.run(self._stream_cluster(stream))
            replicas = (info.replicas or []) if info is not None else []
            if (
                info is not None and info.leader and len(replicas) == REPLICAS - 1
                and all(r.current and not r.offline for r in replicas)
            ):  # fmt: skip
                return True
            time.sleep(0.25)
        return False

    async def _stream_cluster(self, stream: str) -> ClusterInfo | None:
        try:
            nc = await self.admin_connection()
        except (NatsError, OSError):
            return None
        try:
            return (await nc.jetstream().stream_info(stream)).cluster
        except (NatsError, OSError):
            return None
        finally:
            await nc.close()

    def stop(self) -> None:
        for proc in (*self.hwbridges, *self.apis):
            proc.stop()
        for node in self.nodes:
            node.stop()

    def logs(self) -> list[Path]:
        return [p.log for p in (*self.nodes, *self.apis, *self.hwbridges)]
