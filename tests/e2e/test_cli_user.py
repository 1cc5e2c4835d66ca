"""The user commands, run as a person or a script would: the real ``fpga-cloud`` executable
against the running system; JSON output and exit codes, and live views in a real terminal."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fpga_cloud import Client

from tests.e2e.system import EXAMPLES, REPO, System
from tests.e2e.terminal import Terminal

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CLI = [sys.executable, "-m", "services.cli"]


@pytest.fixture
def env(system: System, tmp_path: Path) -> dict[str, str]:
    """A user's environment: the service and key in FPGA_CLOUD_*, a private config dir."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FPGA_CLOUD_", "NATS_"))}
    return {
        **base, "FPGA_CLOUD_URL": system.base, "FPGA_CLOUD_API_KEY": system.api_key,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }  # fmt: skip


@pytest.fixture
def sdk(system: System) -> Iterator[Client]:
    with Client(system.base, system.api_key) as c:
        yield c


def cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=180
    )


def documents(result: subprocess.CompletedProcess[str]) -> list[Any]:
    """Every line of stdout as JSON: with --json nothing else may be there."""
    return [json.loads(line) for line in result.stdout.splitlines()]


def wait_idle(sdk: Client, board: int) -> None:
    deadline = time.monotonic() + 60
    while sdk.board(board).state != "idle":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_login_saves_a_private_file_the_other_commands_use(
    env: dict[str, str], system: System, tmp_path: Path
) -> None:
    wrong = cli(env, "login", "--json", stdin="fpk_000000000000_not-a-real-secret\n")
    assert wrong.returncode == 3 and documents(wrong)[0]["error"]["code"] == "unauthorized"
    path = tmp_path / "config" / "fpga-cloud" / "config.toml"
    assert not path.exists()
    done = cli(env, "login", "--url", system.base, "--json", stdin=system.api_key + "\n")
    assert done.returncode == 0, done.stderr
    assert documents(done)[0]["config"] == str(path) and documents(done)[0]["name"] == "local"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert system.api_key not in done.stdout + done.stderr  # the key is never echoed
    logged_in = {k: v for k, v in env.items() if k not in ("FPGA_CLOUD_URL", "FPGA_CLOUD_API_KEY")}
    boards = cli(logged_in, "boards", "--json")
    assert boards.returncode == 0, boards.stderr
    assert [b["fpga_id"] for b in documents(boards)[0]] == list(range(10))


def test_submit_logs_read_write_release_as_json(env: dict[str, str], sdk: Client) -> None:
    submitted = cli(env, "submit", str(EXAMPLES / "echo_regs.py"), "--board", "0", "--json")
    assert submitted.returncode == 0, submitted.stderr
    [job] = documents(submitted)
    # The job's status when the command looked: a cached design may already be building or
    # done by then.
    assert job["fpga_id"] == 0 and job["status"] in ("queued", "running", "complete")
    followed = cli(env, "logs", "0", job["job_id"], "--follow", "--json")
    assert followed.returncode == 0
    lines = [doc["line"] for doc in documents(followed)]
    assert any(line.startswith("[program]") for line in lines)
    assert sdk.board(0).state == "reserved"

    wrote = cli(env, "write", "0", "0x4", "0x10", "20", "--json")
    assert wrote.returncode == 0 and documents(wrote) == [
        {"fpga_id": 0, "address": 4, "words": [16, 20]}
    ]
    read = cli(env, "read", "0", "4", "2", "--json")
    assert documents(read) == [{"fpga_id": 0, "address": 4, "words": [16, 20]}]
    human = cli(env, "read", "0", "0x4", "2")
    assert "0x00000004  0x00000010  16" in human.stdout and human.returncode == 0
    outside = cli(env, "read", "0", "0x1000", "--json")
    assert outside.returncode == 3
    assert documents(outside)[0]["error"]["code"] == "address_out_of_range"
    assert "address_out_of_range" in outside.stderr

    released = cli(env, "release", "0", "--json")
    assert released.returncode == 0 and documents(released)[0]["idle"] is True
    assert sdk.board(0).state == "idle"
    again = cli(env, "read", "0", "0x0", "--json")
    assert again.returncode == 3
    assert documents(again) == [
        {"error": {"code": "no_active_session", "status": 404,
                   "message": "FPGA 0 has no active session."}}
    ]  # fmt: skip


def test_exit_codes(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "broken.py"
    bad.write_text("from migen import *\nclass Design(Module):\n    x = undefined_name\n")
    failed = cli(env, "submit", str(bad), "--board", "1", "--follow", "--json")
    assert failed.returncode == 1
    last = documents(failed)[-1]["job"]
    assert last["status"] == "failed" and "NameError" in last["error"]
    assert "build failed" in failed.stderr

    assert cli(env, "read", "1", "ten").returncode == 2  # not a number
    assert cli(env, "submit", str(tmp_path / "missing.py")).returncode == 2
    no_key = {k: v for k, v in env.items() if k != "FPGA_CLOUD_API_KEY"}
    nothing = cli(no_key, "boards")
    assert nothing.returncode == 2 and "fpga-cloud login" in nothing.stderr
    down = cli({**env, "FPGA_CLOUD_URL": "http://127.0.0.1:9"}, "boards", "--json")
    assert down.returncode == 4 and documents(down)[0]["error"]["code"] == "unreachable"


def test_submit_follow_in_a_terminal(env: dict[str, str], sdk: Client) -> None:
    term = Terminal([*CLI, "submit", str(EXAMPLES / "counter.py"), "--board", "2", "--follow"],
                    env, str(REPO))  # fmt: skip
    try:
        screen = term.wait_for(lambda s: "is reserved for you" in s, timeout=180)
        assert term.wait_exit() == 0
    finally:
        term.close()
    for stage in ("✓ queued", "✓ building", "✓ programming", "✓ reserved"):
        assert stage in screen
    assert "[program]" in screen  # the log's last lines under the stages
    # Live: the stages were drawn while the build ran, not only at the end.
    assert any("building" in s and "✓ reserved" not in s for s in term.seen)
    session = sdk.session(2)
    assert f"session {session.id}" in screen.replace("\n", "")
    with session:
        pass
    wait_idle(sdk, 2)


def test_watch_shows_the_farm_live(env: dict[str, str], sdk: Client) -> None:
    term = Terminal([*CLI, "watch"], env, str(REPO))
    try:
        term.wait_for(lambda s: "fpga-cloud boards (live" in s and "│     9 │" in s)
        job = sdk.submit(EXAMPLES / "echo_regs.py", board=3)
        job.wait(timeout=180)
        with job.session():
            screen = term.wait_for(lambda s: "board 3  SessionOpened" in s)
            row = next(line for line in screen.splitlines() if line.startswith("│     3 │"))
            assert "reserved" in row and sdk.whoami().key_id in row and "59m" in row
        term.wait_for(lambda s: "board 3  BoardReset" in s)
        row = next(line for line in term.text().splitlines() if line.startswith("│     3 │"))
        assert "idle" in row
        term.press(b"\x03")  # Ctrl-C
        assert term.wait_exit() == 0
    finally:
        term.close()
