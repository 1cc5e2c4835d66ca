"""Hostile designs: each ends as a failed build with a reason naming the cause, nothing leaks.

Every build here runs as the service runs it: ``build_sim`` in a sandbox that hides the data
directory (laid out by ``harden_data_dir``, with a NATS credentials file in it), with small
limits so each case ends in seconds. None of them compiles RTL except the last test, which
checks that a normal design still builds and that a running board survives a hostile build.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hwbridge.sandbox import Sandbox, harden_data_dir
from hwbridge.virtual.build import BuildLimits, DesignBuildError, build_sim
from hwbridge.virtual.simulator import Simulation
from tests.buildlog import Log

#: The virtual boards' kit (the session's ``sim_kit``), for the module's helpers.
KIT = Path()


@pytest.fixture(autouse=True, scope="module")
def _kit(sim_kit: Path) -> None:
    global KIT
    KIT = sim_kit


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LIMITS = BuildLimits(timeout_s=60, memory_bytes=1024**3, cpu_seconds=4,
                     max_file_bytes=16 * 1024**2, max_processes=48)  # fmt: skip
ALLOWED = Sandbox().allowed()
ROOT = os.geteuid() == 0


@dataclass
class Service:
    """A data directory laid out as the service lays it out, with a secret in it."""

    data_dir: Path
    secret_file: Path
    secret: str
    sandbox: Sandbox
    builds: int = 0

    def out_dir(self) -> Path:
        self.builds += 1
        return self.data_dir / "builds" / f"tmp-{self.builds}"


@pytest.fixture
def service(tmp_path: Path) -> Service:
    data_dir = tmp_path / "data"
    (data_dir / "nats").mkdir(parents=True)
    harden_data_dir(data_dir)
    secret = secrets.token_hex(16)
    secret_file = data_dir / "nats" / "credentials.json"
    secret_file.write_text(f'{{"password": "{secret}"}}\n')
    secret_file.chmod(0o600)
    return Service(data_dir, secret_file, secret, Sandbox(hidden=(data_dir,)))


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_bytes().decode(
                errors="replace"
            ):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


async def hostile(
    service: Service, source: str, limits: BuildLimits = LIMITS
) -> tuple[DesignBuildError, Log]:
    """Build ``source``; it must fail, leak nothing and leave no process behind."""
    log, out_dir = Log(), service.out_dir()
    started = time.monotonic()
    with pytest.raises(DesignBuildError) as caught:
        await build_sim(
            source.encode(), out_dir, log, limits=limits, sandbox=service.sandbox, kit=KIT
        )
    print(f"\n[measure] {caught.value.reason!r} after {time.monotonic() - started:.1f} s")
    assert service.secret not in log.text() and service.secret not in caught.value.reason
    assert ("build", f"build failed: {caught.value.reason}") in log.lines or (
        caught.value.kind == "timeout"
    )
    assert _processes_mentioning(str(out_dir)) == []
    return caught.value, log


async def test_infinite_loop_hits_the_cpu_limit(service: Service) -> None:
    err, _ = await hostile(service, "while True:\n    pass\n")
    assert err.kind == "limit"
    assert err.reason == "the build exceeded its CPU-time limit (4 s)"


async def test_a_design_that_never_returns_times_out(service: Service) -> None:
    limits = BuildLimits(timeout_s=5, cpu_seconds=60)
    err, _ = await hostile(service, "import time\ntime.sleep(3600)\n", limits)
    assert (
        err.kind == "timeout" and err.reason == "build timed out after 5 s (in the elaborate stage)"
    )


async def test_fork_bomb_hits_the_process_limit(service: Service) -> None:
    started = time.monotonic()
    err, _ = await hostile(service, "import os\nwhile True:\n    os.fork()\n")
    assert err.kind == "design"
    assert err.reason.startswith("design.py raised BlockingIOError: [Errno 11] Resource")
    assert err.reason.endswith("(a build may run at most 48 processes)")
    assert time.monotonic() - started < 30  # ended by the limit, not by the timeout


async def test_50_gb_allocation_hits_the_memory_limit(service: Service) -> None:
    err, _ = await hostile(service, "hog = bytearray(50 * 1024**3)\n")
    assert err.kind == "design"
    assert err.reason == (
        "design.py raised MemoryError at line 1 (the build's memory limit is 1024 MiB)"
    )


def _shadow() -> str:
    return Path("/etc/shadow").read_text().strip()


async def test_reading_etc_shadow_is_refused(service: Service) -> None:
    err, log = await hostile(service, "print(open('/etc/shadow').read())\n")
    assert err.reason.startswith(
        "design.py raised PermissionError: [Errno 13] Permission denied: '/etc/shadow'"
    )
    if ROOT:
        assert err.reason.endswith("(builds run as an unprivileged user and may write only "
                                   "their own directory)")  # fmt: skip
        shadow = _shadow()
        assert shadow and shadow not in log.text()


async def test_the_data_directory_is_out_of_reach(service: Service) -> None:
    source = f"print(open({str(service.secret_file)!r}).read())\n"
    err, _ = await hostile(service, source)
    assert "credentials.json" in err.reason
    # Hidden by the mount namespace, or closed by its modes where there is none.
    expected = "FileNotFoundError: [Errno 2]" if ALLOWED.mount else "PermissionError: [Errno 13]"
    assert err.reason.startswith(f"design.py raised {expected}")
    listing = f"import os\nraise RuntimeError(sorted(os.listdir({str(service.data_dir)!r})))\n"
    err, _ = await hostile(service, listing)
    if ALLOWED.mount:
        assert err.reason == "design.py raised RuntimeError: ['builds'] at line 2"
    else:
        assert "PermissionError" in err.reason


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        yield server


@pytest.mark.skipif(not ALLOWED.network, reason="this platform allows no network namespace")
async def test_no_network_for_designs(service: Service, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    source = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)\n"
    err, _ = await hostile(service, source)
    assert err.kind == "design"
    assert err.reason == (
        "design.py raised OSError: [Errno 101] Network is unreachable at line 2 "
        "(builds have no network access)"
    )
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing ever reached the server


async def test_a_huge_file_hits_the_file_size_limit(service: Service) -> None:
    source = (
        "with open('big', 'wb') as f:\n    for _ in range(64):\n        f.write(bytes(1 << 20))\n"
    )
    err, _ = await hostile(service, source)
    assert err.kind == "design"
    assert err.reason == (
        "design.py raised OSError: [Errno 27] File too large at line 3 "
        "(the build's file-size limit is 16 MiB)"
    )
    assert (service.data_dir / "builds" / "tmp-1" / "big").stat().st_size <= 16 * 1024**2


async def test_the_service_environment_never_reaches_a_design(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATS_URL", "nats://hwbridge:hunter2@nats:4222")
    monkeypatch.setenv("NATS_PASSWORD", "hunter2")
    monkeypatch.setenv("FPGA_CLOUD_DATA_DIR", str(service.data_dir))
    err, log = await hostile(service, "import os\nraise RuntimeError(sorted(os.environ))\n")
    assert err.reason.startswith("design.py raised RuntimeError: ['HOME', 'LANG'")
    for leaked in ("NATS_", "FPGA_CLOUD_", "hunter2"):
        assert leaked not in err.reason and leaked not in log.text()


async def test_a_process_that_leaves_the_session_dies_with_the_build(service: Service) -> None:
    token = f"{secrets.randbelow(10**6)}.{secrets.randbelow(1000)}"
    source = (
        "import ctypes, os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)  # no parent-death signal either\n"
        f"    os.execv('/bin/sleep', ['sleep', '{token}'])\n"
        "time.sleep(0.5)\n"
        "raise RuntimeError('left a process behind')\n"
    )
    err, _ = await hostile(service, source)
    assert err.reason == "design.py raised RuntimeError: left a process behind at line 7"
    if ALLOWED.pid:
        await asyncio.sleep(0.2)
        assert _processes_mentioning(token) == []


# --- the service keeps serving ----------------------------------------------------------------


def _read_scratch(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(bytes([0x02, 1]) + (0x4 >> 2).to_bytes(4, "big"))
        reply = b""
        while len(reply) < 4:
            reply += conn.recv(4 - len(reply))
        return reply


@pytest.mark.slow
async def test_after_hostile_builds_a_running_board_and_a_new_build_are_fine(
    service: Service,
) -> None:
    await hostile(service, "import os\nwhile True:\n    os.fork()\n")
    log = Log()
    artifact = await build_sim((EXAMPLES / "echo_regs.py").read_bytes(), service.out_dir(), log,
                               sandbox=service.sandbox, kit=KIT)  # fmt: skip
    assert artifact.window_size == 0x1000
    run_dir = service.data_dir / "boards" / "0"
    sim = await Simulation.start(artifact, run_dir, sandbox=service.sandbox)
    try:
        assert _read_scratch(sim.port) == (0x12345678).to_bytes(4, "big")
        # A design that signals every process its user may signal (only its own, in its pid
        # namespace), and a fork bomb.
        if ALLOWED.pid:
            kill_all = "import os, signal\nos.kill(-1, signal.SIGKILL)\nraise SystemExit(1)\n"
            await hostile(service, kill_all)
        await hostile(service, "import os\nwhile True:\n    os.fork()\n")
        assert sim.alive()
        assert _read_scratch(sim.port) == (0x12345678).to_bytes(4, "big")
    finally:
        await sim.stop()
