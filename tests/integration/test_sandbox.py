"""The sandbox launcher with real processes (small Python programs, no builds).

Assertions about namespaces are skipped where the platform does not allow them; assertions
about the user switch where the tests do not run as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwbridge.sandbox import Namespaces, ResourceLimits, Sandbox, clean_environment
from hwbridge.sandbox.enter import EXIT_SETUP
from hwbridge.sandbox.identity import NOBODY_ID
from hwbridge.sandbox.runtime import PACKAGE_ROOT, launcher_command
from hwbridge.sandbox.spec import LaunchSpec

LIMITS = ResourceLimits(memory_bytes=1 << 30, max_file_bytes=1 << 20, max_processes=64,
                        cpu_seconds=20)  # fmt: skip
ROOT = os.geteuid() == 0
ALLOWED = Sandbox().allowed()
needs = {name: pytest.mark.skipif(not getattr(ALLOWED, name), reason=f"no {name} namespace")
         for name in ("network", "mount", "pid")}  # fmt: skip
as_root = pytest.mark.skipif(not ROOT, reason="the user switch happens only as root")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory the sandboxed program owns, as a build directory would be."""
    path = tmp_path / "work"
    path.mkdir()
    Sandbox().give(path)
    return path


def run(
    code: str, cwd: Path, *, sandbox: Sandbox | None = None, keep_network: bool = False
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-P", "-c", code]
    command = (sandbox or Sandbox()).command(
        argv, cwd=cwd, limits=LIMITS, keep_network=keep_network
    )
    return subprocess.run(command, env=clean_environment(cwd), cwd="/", capture_output=True,
                          text=True, timeout=60, start_new_session=True)  # fmt: skip


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.2)
        yield server


def _accepted(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except TimeoutError:
        return False
    return True


def test_exit_codes_and_signals_pass_through(work: Path) -> None:
    assert run("raise SystemExit(7)", work).returncode == 7
    assert run("import os, signal; os.kill(os.getpid(), signal.SIGUSR1)", work).returncode == (
        -signal.SIGUSR1
    )


def test_the_cpu_limit_ends_a_busy_loop_with_sigxcpu(work: Path) -> None:
    limits = ResourceLimits(1 << 30, 1 << 20, 64, cpu_seconds=1)
    command = Sandbox().command([sys.executable, "-P", "-c", "while True: pass"], cwd=work,
                                limits=limits)  # fmt: skip
    done = subprocess.run(command, env=clean_environment(work), timeout=30)
    assert done.returncode == -signal.SIGXCPU


def test_the_environment_is_built_from_nothing(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://user:secret@nats:4222")
    monkeypatch.setenv("FPGA_CLOUD_DATA_DIR", "/srv/secret")
    done = run("import os; print(sorted(os.environ))", work)
    assert "NATS" not in done.stdout and "FPGA_CLOUD" not in done.stdout
    assert done.stdout.strip() == str(sorted(clean_environment(work)))


@as_root
def test_programs_run_as_the_unprivileged_user(work: Path) -> None:
    code = "import os; print(os.getresuid(), os.getresgid(), os.getgroups()); open('/etc/shadow')"
    done = run(code, work)
    assert done.stdout.splitlines()[0] == f"{(NOBODY_ID,) * 3} {(NOBODY_ID,) * 3} []"
    assert "PermissionError" in done.stderr and done.returncode == 1


@needs["network"]
def test_no_network(work: Path, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    done = run(code, work)
    assert "Network is unreachable" in done.stderr
    assert not _accepted(listener)
    assert run(code, work, keep_network=True).returncode == 0  # a simulator keeps it
    assert _accepted(listener)


@needs["mount"]
def test_hidden_directories_and_a_read_only_file_system(tmp_path: Path, work: Path) -> None:
    data = tmp_path / "data"
    (data / "nats").mkdir(parents=True)
    (data / "nats" / "credentials.json").write_text("hunter2")
    inner = data / "builds" / "b1"
    inner.mkdir(parents=True)
    Sandbox().give(inner)
    sandbox = Sandbox(hidden=(data,))
    code = (
        "import os, sys\n"
        f"print(sorted(os.listdir({str(data)!r})), sorted(os.listdir('/proc'))[:3])\n"
        "open('mine.txt', 'w').write('ok')\n"
        f"for path in [{str(data / 'nats' / 'credentials.json')!r}, '/tmp/x', '/var/tmp/x']:\n"
        "    try:\n        open(path, 'w').write('x')\n"
        "    except OSError as exc:\n        print(type(exc).__name__, exc.strerror)\n"
    )
    done = run(code, inner, sandbox=sandbox)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("['builds']"), done.stderr
    read_only = "OSError Read-only file system"
    assert lines[1:] == ["FileNotFoundError No such file or directory", read_only, read_only]
    assert (inner / "mine.txt").read_text() == "ok"
    assert (data / "nats" / "credentials.json").read_text() == "hunter2"


@needs["pid"]
def test_nothing_outlives_the_program_and_nothing_outside_is_reachable(work: Path) -> None:
    user = Sandbox().identity()
    as_user = {"user": user.uid, "group": user.gid, "extra_groups": []} if user else {}
    bystander = subprocess.Popen(["sleep", "60"], **as_user)  # type: ignore[call-overload]
    code = (
        "import ctypes, os, signal, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid(); ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\n"  # no parent-death signal
        "    os.execv('/bin/sleep', ['sleep', '987.654'])\n"
        "time.sleep(0.3)\n"
        "os.kill(-1, signal.SIGKILL)  # every process this user may signal\n"
    )
    try:
        done = run(code, work)
        assert done.returncode == 0, done.stderr  # kill(-1) spares the caller on Linux
        time.sleep(0.2)
        assert bystander.poll() is None
        assert not _sleepers("987.654")
    finally:
        bystander.kill()
        bystander.wait()


def _sleepers(token: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and token in (proc / "cmdline").read_text():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_a_process_limit_stops_a_fork_bomb(work: Path) -> None:
    code = (
        "import os, time\nn = 0\n"
        "try:\n    while True:\n        if os.fork() == 0:\n            time.sleep(30)\n"
        "            os._exit(0)\n        n += 1\n"
        "except OSError as exc:\n    print(n, exc.strerror)\n"
    )
    limits = ResourceLimits(1 << 30, 1 << 20, 16, 20)
    command = Sandbox().command([sys.executable, "-P", "-c", code], cwd=work, limits=limits)
    started = time.monotonic()
    done = subprocess.run(command, env=clean_environment(work), capture_output=True, text=True,
                          timeout=60, start_new_session=True)  # fmt: skip
    assert "Resource temporarily unavailable" in done.stdout
    assert int(done.stdout.split()[0]) < 16
    if ALLOWED.pid:
        assert time.monotonic() - started < 10  # the children died with it, not after 30 s


def test_a_setup_failure_is_reported(work: Path) -> None:
    command = Sandbox().command(["/no/such/program"], cwd=work, limits=LIMITS)
    done = subprocess.run(command, env=clean_environment(work), capture_output=True, text=True)
    assert done.returncode == 127 and "sandbox: cannot execute /no/such/program" in done.stderr
    nothing = Namespaces(network=False, mount=False, pid=False)
    spec = launcher_command(LaunchSpec(["true"], str(work / "missing"), LIMITS, nothing))
    done = subprocess.run(spec, env=clean_environment(work), capture_output=True, text=True)
    assert done.returncode == EXIT_SETUP and "sandbox: cannot start the program" in done.stderr


@as_root
def test_without_a_mount_namespace_modes_protect_the_data_dir() -> None:
    """The fallback: 0711 data directory, 0700 NATS store, the build reached by name."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("needs a system python3 the sandbox user can run")
    base = Path(tempfile.mkdtemp(prefix="sandbox-modes-"))
    try:
        base.chmod(0o755)
        from hwbridge.sandbox import harden_data_dir

        data = base / "data"
        (data / "nats").mkdir(parents=True)
        harden_data_dir(data)
        secret = data / "nats" / "credentials.json"
        secret.write_text("hunter2")
        secret.chmod(0o600)
        build = data / "builds" / "b1"
        build.mkdir()
        Sandbox().give(build)
        code = (
            f"import os\nopen('out', 'w').write('ok')\n"
            f"for p in [{str(secret)!r}, {str(data)!r}]:\n"
            "    try:\n        print(open(p).read() if p.endswith('json') else os.listdir(p))\n"
            "    except OSError as exc:\n        print(type(exc).__name__)\n"
        )
        user = Sandbox().identity()
        spec = LaunchSpec([python, "-I", "-c", code], str(build), LIMITS,
                          Namespaces(network=False, mount=False, pid=False), user=user)  # fmt: skip
        done = subprocess.run(launcher_command(spec), env=clean_environment(build),
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.stdout.split() == ["PermissionError", "PermissionError"], done.stderr
        assert (build / "out").read_text() == "ok"
    finally:
        shutil.rmtree(base)


@as_root
@needs["network"]
def test_a_service_that_is_not_root_uses_a_user_namespace(listener: socket.socket) -> None:
    """The launcher started as an ordinary user: the same containment without a user switch."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("needs a system python3 an ordinary user can run")
    base = Path(tempfile.mkdtemp(prefix="sandbox-userns-"))
    try:
        base.chmod(0o755)
        data, work = base / "data", base / "data" / "builds" / "b1"
        work.mkdir(parents=True)
        (data / "secret").write_text("hunter2")  # readable by its owner: the service's user
        for path in (base, data, data / "builds", work, data / "secret"):
            os.chown(path, NOBODY_ID, NOBODY_ID)
        port = listener.getsockname()[1]
        code = (
            "import os, socket\nprint(os.getuid())\n"
            f"for p in [{str(data / 'secret')!r}]:\n"
            "    try:\n        print(open(p).read())\n"
            "    except OSError as exc:\n        print(type(exc).__name__)\n"
            f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "except OSError as exc:\n    print(exc.strerror)\n"
        )
        spec = LaunchSpec([python, "-I", "-c", code], str(work), LIMITS, ALLOWED,
                          hide=[str(data)], writable=[str(work)])  # fmt: skip
        env = clean_environment(work, PYTHONPATH=str(PACKAGE_ROOT))
        command = [python, "-P", "-m", "hwbridge.sandbox.enter", spec.to_json()]
        as_nobody = {"user": NOBODY_ID, "group": NOBODY_ID, "extra_groups": []}
        done = subprocess.run(command, env=env, cwd="/", capture_output=True, text=True,
                              timeout=60, **as_nobody)  # type: ignore[call-overload]  # fmt: skip
        if done.returncode == EXIT_SETUP and "cannot create the namespaces" in done.stderr:
            pytest.skip(f"no unprivileged user namespaces here: {done.stderr.strip()}")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == str(NOBODY_ID)
        expected_secret = "FileNotFoundError" if ALLOWED.mount else "hunter2"
        assert lines[1:] == [expected_secret, "Network is unreachable"]
        assert not _accepted(listener)
    finally:
        shutil.rmtree(base)
