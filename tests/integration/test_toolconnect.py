"""The CLI tools find the running embedded server by themselves, and fail fast when none runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from events.settings import Settings
from events.streams import provision
from services.cli.toolconnect import DEFAULT_NATS, tool_url
from services.nats.server import REPO_ROOT, NatsServer


def _keys_list(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "FPGA_CLOUD_"))}
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "keys", "list"],
        env={**base, **env}, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


async def test_tools_find_the_embedded_server_of_the_data_dir(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    admin = nats_server.credentials("admin")
    env = {"FPGA_CLOUD_NATS_USER": admin.user, "FPGA_CLOUD_NATS_PASSWORD": admin.password}
    # Before the streams exist (no `fpga-cloud up` ever ran there): a clear refusal.
    bare = _keys_list({**env, "FPGA_CLOUD_DATA_DIR": str(nats_server.store_dir.parent)})
    assert bare.returncode == 2 and "FPGA_KEYS" in bare.stderr and "Traceback" not in bare.stderr
    nc = await nats_server.connect()
    await provision(nc.jetstream())
    await nc.drain()
    # The fixture's store is <tmp_path>/nats, as `fpga-cloud up` keeps it in <data dir>/nats.
    data_dir = nats_server.store_dir.parent
    assert tool_url(Settings(data_dir=data_dir)) == nats_server.url
    assert tool_url(Settings(data_dir=tmp_path / "elsewhere")) == DEFAULT_NATS
    listed = _keys_list({**env, "FPGA_CLOUD_DATA_DIR": str(data_dir)})
    assert listed.returncode == 0, listed.stderr


def test_no_server_is_a_clear_error_at_once(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    url = f"nats://127.0.0.1:{port}"
    done = _keys_list({"NATS_URL": url, "FPGA_CLOUD_DATA_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert "no NATS server answers" in done.stderr and "Traceback" not in done.stderr
