"""``fpga-cloud up``: the embedded nats-server, the API and hwbridge in one process tree."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

import httpx

from events.boards import format_board_ids
from events.connection import ADMIN_USER, NatsCredentials, connect
from events.settings import Settings
from events.store import EventStore
from events.watermark import wait_event
from services.auth.issuer import KeyIssuer
from services.nats.access import start_nats, tool_credentials

log = logging.getLogger("fpga-cloud")

RESTART_BACKOFF_S = 1.0
READY_POLL_S = 0.05
STOP_GRACE_S = 15.0
LOCAL_KEY_NAME = "local"
LOCAL_KEY_ISSUER = "fpga-cloud up"


class Child:
    """A supervised child process, restarted if it dies while the system is up."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name, self.args, self.env = name, args, env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(*self.args, env=self.env)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def local_key(nats_url: str, admin: NatsCredentials | None) -> str:
    """The local user's key with a fresh secret: the same key id (so the sessions and jobs of
    earlier runs stay the user's), a new secret each start (only a hash is ever stored)."""
    nc = await connect(nats_url, admin, name="fpga-cloud up")
    try:
        issuer = KeyIssuer(EventStore(nc))
        mine = [
            v for v in (await issuer.all()).values()
            if v.active and v.created_by == LOCAL_KEY_ISSUER
        ]  # fmt: skip
        if mine:
            return await issuer.rotate(mine[0].key_id, by=LOCAL_KEY_ISSUER)
        plaintext, _view = await issuer.create(
            LOCAL_KEY_NAME, admin=False, created_by=LOCAL_KEY_ISSUER
        )
        return plaintext
    finally:
        await nc.close()


def _local(host: str) -> str:
    """Where this machine reaches an API listening on ``host``."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


async def wait_until_serving(base: str, api_key: str, stop: asyncio.Event) -> None:
    """Return once the API answers ``/health`` and accepts ``api_key`` (or ``stop`` is set).

    The API may restart meanwhile (the supervisor keeps it running); this keeps asking.
    """
    headers = {"X-API-Key": api_key}
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as client:
        while not stop.is_set():
            try:
                healthy = (await client.get("/health")).status_code == 200
                known = healthy and (await client.get("/auth/whoami", headers=headers)).is_success
            except httpx.HTTPError:
                known = False
            if known:
                return
            await wait_event(stop, READY_POLL_S)


async def _announce_when_serving(base: str, api_key: str, stop: asyncio.Event, text: str) -> None:
    await wait_until_serving(base, api_key, stop)
    if not stop.is_set():
        print(text, flush=True)


async def run_up(settings: Settings) -> int:
    """Start everything, keep it running, stop it all cleanly on Ctrl-C or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    port = settings.nats_port
    # The embedded server unless NATS_URL is set; the streams are created here, as admin.
    nats = await start_nats(settings, port)
    server, nats_url = nats.server, nats.url
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "FPGA_CLOUD_DATA_DIR": str(settings.data_dir),
        "FPGA_CLOUD_HOST": settings.host,
        "FPGA_CLOUD_PORT": str(settings.port),
        "FPGA_CLOUD_BOARDS": format_board_ids(settings.fpga_ids),
    }
    cli = [sys.executable, "-m", "services.cli"]
    children = [
        Child("api", [*cli, "api"], nats.child_env(env, "api")),
        Child(
            "hwbridge",
            [sys.executable, "-m", "hwbridge"],
            nats.child_env(env, "hwbridge"),
        ),
    ]
    ready: asyncio.Task[None] | None = None
    try:
        # The local key first: the API then starts with it in its views, so the key printed below
        # works from the first request (a key rotated after the API started could be refused
        # until the API's key stream subscription caught up).
        admin = nats.credentials(ADMIN_USER) if server is not None else tool_credentials(ADMIN_USER)
        api_key = await local_key(nats_url, admin)
        for child in children:
            await child.start()
        base = f"http://{_local(settings.host)}:{settings.port}"
        banner = (
            f"fpga-cloud is up: API http://{settings.host}:{settings.port} "
            f"(explorer /docs), NATS {nats_url}, boards {env['FPGA_CLOUD_BOARDS']}, "
            f"data in {settings.data_dir}. "
            "Ctrl-C stops everything.\n"
            "API key for the local user (its secret changes at every start):\n"
            f"  export API_KEY={api_key}"
        )
        ready = asyncio.create_task(_announce_when_serving(base, api_key, stop, banner))
        while not stop.is_set():
            waits = {asyncio.create_task(c.proc.wait()): c for c in children if c.proc}
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({*waits, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (*waits, stopper):
                if task not in done:
                    task.cancel()
            for task in done:
                dead = waits.get(task)
                if dead is not None and not stop.is_set():
                    log.warning(
                        "%s exited with %s; restarting",
                        dead.name,
                        dead.proc and dead.proc.returncode,
                    )
                    await asyncio.sleep(RESTART_BACKOFF_S)
                    await dead.start()
    finally:
        # Also when starting failed half-way: no child outlives this process.
        if ready is not None:
            ready.cancel()
        await asyncio.gather(*(c.stop() for c in children), return_exceptions=True)
        if server is not None:
            with contextlib.suppress(Exception):
                await server.stop()
    print("fpga-cloud stopped.", flush=True)
    return 0
