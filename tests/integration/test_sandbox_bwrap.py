"""What bubblewrap and the sandbox's init add, with real processes (small Python programs).

Skipped where the platform allows no mount namespace (no bwrap); the seccomp checks where the
architecture has no filter; the user checks where the tests do not run as root.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwbridge.sandbox import ResourceLimits, Sandbox, clean_environment, seccomp
from hwbridge.sandbox.enter import EXIT_SETUP
from hwbridge.sandbox.identity import NOBODY_ID
from hwbridge.sandbox.runtime import launcher_command
from hwbridge.sandbox.spec import LaunchSpec, Namespaces

LIMITS = ResourceLimits(memory_bytes=1 << 30, max_file_bytes=1 << 20, max_processes=64,
                        cpu_seconds=20)  # fmt: skip
ALLOWED = Sandbox().allowed()
pytestmark = pytest.mark.skipif(not ALLOWED.mount, reason="no bwrap or no mount namespace")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the user switch happens only as root")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    Sandbox().give(path)
    return path


def run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = Sandbox().command([sys.executable, "-P", "-c", code], cwd=cwd, limits=LIMITS)
    return subprocess.run(command, env=clean_environment(cwd), cwd="/", capture_output=True,
                          text=True, timeout=60, start_new_session=True)  # fmt: skip


SYSCALLS = """
import ctypes, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(result):
    return os.strerror(ctypes.get_errno()) if result == -1 else "allowed"
print(open("/proc/self/status").read().split("Seccomp:")[1].split()[0])
print("ptrace", errno_of(libc.ptrace(0, 0, 0, 0)))  # PTRACE_TRACEME: allowed without a filter
print("unshare", errno_of(libc.unshare(0x10000000)))  # a user namespace, the same
print("mount", errno_of(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)))
print("keyctl", errno_of(libc.syscall(250 if os.uname().machine == "x86_64" else 219,
                                      0, -3, 0)))  # KEYCTL_GET_KEYRING_ID of the session
thread = threading.Thread(target=lambda: None)
thread.start()
thread.join()
print("fork", os.waitstatus_to_exitcode(os.waitpid(os.fork() or os._exit(3), 0)[1]))
print("spawn", subprocess.run(["true"]).returncode)
"""


@pytest.mark.skipif(not seccomp.supported(), reason="no seccomp filter on this architecture")
def test_the_seccomp_filter_refuses_ptrace_mount_and_namespaces_but_not_threads(
    work: Path,
) -> None:
    done = run(SYSCALLS, work)
    assert done.returncode == 0, done.stderr
    refused = "Operation not permitted"
    assert done.stdout.splitlines() == [
        "2",  # a filter is on
        f"ptrace {refused}",
        f"unshare {refused}",
        f"mount {refused}",
        f"keyctl {refused}",
        "fork 3",
        "spawn 0",  # posix_spawn tries clone3 first, gets ENOSYS and falls back to clone
    ]


def test_no_capability_and_no_new_privileges_are_left(work: Path) -> None:
    code = (
        "for line in open('/proc/self/status'):\n"
        "    if line.startswith(('Cap', 'NoNewPrivs')):\n"
        "        print(line.split()[0], int(line.split()[1], 16))\n"
    )
    done = run(code, work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["CapInh:", "0", "CapPrm:", "0", "CapEff:", "0", "CapBnd:",
                                   "0", "CapAmb:", "0", "NoNewPrivs:", "1"]  # fmt: skip


@as_root
def test_a_root_service_runs_programs_as_the_sandbox_user_outside_too(work: Path) -> None:
    """No user namespace made by root, whose "nobody" would be root outside."""
    done = run("open('out', 'w').write('x')\nopen('/etc/shadow')\n", work)
    assert "PermissionError: [Errno 13] Permission denied: '/etc/shadow'" in done.stderr
    st = (work / "out").stat()
    assert (st.st_uid, st.st_gid) == (NOBODY_ID, NOBODY_ID)


def test_a_working_directory_only_the_sandbox_user_may_enter(work: Path) -> None:
    """bwrap runs as root without capabilities: the init, not bwrap, enters it."""
    work.chmod(0o700)  # as tmp_path_factory.mktemp makes them
    done = run("import os; print(os.getcwd())", work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(work)


def test_a_sandbox_bwrap_cannot_set_up_fails_with_its_reason(work: Path) -> None:
    spec = LaunchSpec(["true"], str(work), LIMITS, ALLOWED, user=Sandbox().identity(),
                      writable=[str(work), str(work / "missing")])  # fmt: skip
    done = subprocess.run(launcher_command(spec), env=clean_environment(work), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == EXIT_SETUP
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sandbox: cannot create the namespaces: bwrap: ")
    assert str(work / "missing") in last


def test_the_launcher_ends_at_once_when_the_service_is_gone(work: Path) -> None:
    spec = LaunchSpec(["sh", "-c", "echo ran"], str(work), LIMITS, ALLOWED,
                      user=Sandbox().identity(), writable=[str(work)], parent_pid=1)  # fmt: skip
    done = subprocess.run(launcher_command(spec), env=clean_environment(work), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == EXIT_SETUP and "ran" not in done.stdout


def _processes_mentioning(token: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and token in (proc / "cmdline").read_text():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _program_runs(token: str) -> bool:
    for pid in _processes_mentioning(token):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0"):
                return True
    return False


@pytest.mark.parametrize("pid_namespace", [True, False])
def test_killing_the_launchers_group_ends_the_whole_sandbox(
    work: Path, pid_namespace: bool
) -> None:
    """As the service stops a build (a timeout), once the init has become the sandbox user."""
    if pid_namespace and not ALLOWED.pid:
        pytest.skip("no pid namespace")
    token = f"{os.getpid() % 1000}.{time.monotonic_ns() % 1000}"
    namespaces = Namespaces(network=ALLOWED.network, mount=True, pid=pid_namespace)
    spec = LaunchSpec(["sleep", token], str(work), LIMITS, namespaces, user=Sandbox().identity(),
                      writable=[str(work)], parent_pid=os.getpid())  # fmt: skip
    proc = subprocess.Popen(launcher_command(spec), env=clean_environment(work), cwd="/",
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not _program_runs(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _program_runs(token)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _processes_mentioning(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_mentioning(token) == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pid in _processes_mentioning(token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # leave nothing running if the test failed
