"""``fpga-cloud up`` runs every process as its own NATS user, and no password leaks anywhere."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.connection import NatsAuthError, NatsCredentials, connect
from events.store import EventStore
from events.types import BoardReset
from services.nats.auth import HwbridgeHost, render_accounts
from tests.e2e.system import REPO, System

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

BOARDS = (2, 5)
USERS = {"admin", "api", "projections", "hwbridge-local"}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    sys_ = System(tmp_path_factory.mktemp("lockdown"), FPGA_CLOUD_BOARDS="2,5")
    sys_.start()
    yield sys_
    sys_.stop()


def passwords(system: System) -> dict[str, str]:
    stored: dict[str, str] = json.loads((system.data_dir / "nats" / "credentials.json").read_text())
    return stored


def children(pid: int) -> dict[str, dict[str, str]]:
    """The direct children of ``pid`` by role, each with its initial environment."""
    out: dict[str, dict[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
            if int(stat_line.rsplit(")", 1)[1].split()[1]) != pid:
                continue
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        command = b" ".join(cmdline).decode()
        role = next(
            r for r in ("nats-server", "services.cli api", "-m hwbridge", "") if r in command
        )
        out[role or command] = dict(e.decode().split("=", 1) for e in environ if b"=" in e)
    return out


def test_credentials_are_private_and_each_process_gets_only_its_own(system: System) -> None:
    nats_dir = system.data_dir / "nats"
    assert stat.S_IMODE((nats_dir / "credentials.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(nats_dir.stat().st_mode) == 0o700
    secret = passwords(system)
    assert set(secret) == USERS
    # The embedded server's hwbridge user owns exactly the configured boards.
    accounts = (nats_dir / "nats-accounts.conf").read_text()
    assert accounts == render_accounts([HwbridgeHost("local", BOARDS)])

    assert system.proc is not None
    procs = children(system.proc.pid)
    assert set(procs) == {"nats-server", "services.cli api", "-m hwbridge"}

    def secrets_in(env: dict[str, str]) -> set[str]:
        return {user for user, pw in secret.items() if pw in env.values()}

    assert secrets_in(procs["nats-server"]) == USERS
    assert not [k for k in procs["nats-server"] if k.startswith("FPGA_CLOUD")]
    assert secrets_in(procs["services.cli api"]) == {"api", "projections"}
    assert procs["services.cli api"]["FPGA_CLOUD_NATS_USER"] == "api"
    assert secrets_in(procs["-m hwbridge"]) == {"hwbridge-local"}
    assert procs["-m hwbridge"]["FPGA_CLOUD_NATS_USER"] == "hwbridge-local"


def test_the_running_server_holds_each_user_to_its_permissions(system: System) -> None:
    async def check() -> list[str]:
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        with pytest.raises(NatsAuthError):
            await connect(system.nats_url, NatsCredentials("api", "Wrong0password0x"), name="t")
        with pytest.raises(NatsAuthError):
            await connect(system.nats_url, None, name="anonymous")
        hw = await connect(
            system.nats_url, system.nats_credentials("hwbridge-local"), name="t", error_cb=on_error
        )
        try:
            store = EventStore(hw, timeout=1.0)
            await store.append(BoardReset(fpga_id=5, job_id=uuid.uuid4()))  # its own board
            with pytest.raises(Exception):  # noqa: B017 - the refusal itself is in `errors`
                await store.append(BoardReset(fpga_id=3, job_id=uuid.uuid4()))
        finally:
            await hw.close()
        return errors

    errors = asyncio.run(check())
    assert errors == ['nats: permissions violation for publish to "fpga.3.boardreset"']


def test_no_password_in_logs_events_or_history(system: System) -> None:
    env = {**os.environ, "NATS_URL": system.nats_url, "FPGA_CLOUD_DATA_DIR": str(system.data_dir)}
    for key in ("FPGA_CLOUD_NATS_USER", "FPGA_CLOUD_NATS_PASSWORD"):
        env.pop(key, None)
    cli = [sys.executable, "-m", "services.cli"]
    export = subprocess.run([*cli, "replay", "--jsonl"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert '"BoardRegistered"' in export.stdout
    verify = subprocess.run([*cli, "audit", "verify"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "audit chain OK" in verify.stdout, verify.stdout + verify.stderr

    texts = [
        export.stdout,
        export.stderr,
        verify.stdout,
        verify.stderr,
        system.log_path.read_text(),
    ]
    texts += [p.read_text(errors="replace") for p in (system.data_dir / "nats").glob("*.log")]
    texts += [p.read_text(errors="replace") for p in (system.data_dir / "nats").glob("*.conf")]
    blocks = list((system.data_dir / "nats" / "jetstream").rglob("*.blk"))
    assert blocks  # every stored message, of every stream
    texts += [p.read_bytes().decode(errors="replace") for p in blocks]
    for user, password in passwords(system).items():
        assert not [t for t in texts if password in t], f"{user}'s password leaked"


def test_a_restart_keeps_the_passwords(system: System) -> None:
    before = passwords(system)
    system.stop()
    system.start()
    assert passwords(system) == before
