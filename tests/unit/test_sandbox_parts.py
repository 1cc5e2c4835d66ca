"""The sandbox's pieces that need no process: limits, users, specs, paths, failure reasons."""

from __future__ import annotations

import logging
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hwbridge.build.failure import build_failure, sandbox_hint
from hwbridge.build.limits import BuildLimits
from hwbridge.build.logpump import LogPump
from hwbridge.sandbox import platform
from hwbridge.sandbox.identity import NOBODY_ID, SandboxError, SandboxUser
from hwbridge.sandbox.limits import CPU_GRACE_S, ResourceLimits
from hwbridge.sandbox.spec import LaunchSpec, Namespaces
from hwbridge.sandbox.view import first_closed_ancestor, outermost, searchable, within

NOBODY = SandboxUser("nobody", NOBODY_ID, NOBODY_ID)
LIMITS = BuildLimits(memory_bytes=256 * 1024**2, cpu_seconds=7, max_file_bytes=8 * 1024**2,
                     max_processes=32)  # fmt: skip


def test_cpu_limit_leaves_time_between_sigxcpu_and_sigkill() -> None:
    limits = ResourceLimits(memory_bytes=1 << 30, max_file_bytes=1 << 20, max_processes=9,
                            cpu_seconds=5)  # fmt: skip
    settings = {which: (soft, hard) for which, soft, hard in limits.settings()}
    assert settings[resource.RLIMIT_CPU] == (5, 5 + CPU_GRACE_S)
    assert settings[resource.RLIMIT_AS] == (1 << 30, 1 << 30)
    assert settings[resource.RLIMIT_NPROC] == (9, 9)
    assert settings[resource.RLIMIT_CORE] == (0, 0)
    unlimited_cpu = ResourceLimits(memory_bytes=1, max_file_bytes=1, max_processes=1)
    assert resource.RLIMIT_CPU not in {which for which, _, _ in unlimited_cpu.settings()}


def test_limits_apply_to_the_process_and_cannot_be_raised_again() -> None:
    code = (
        "import resource; from hwbridge.sandbox.limits import ResourceLimits\n"
        "ResourceLimits(1 << 30, 1 << 20, 64, 30).apply()\n"
        "get = resource.getrlimit\n"
        "print(get(resource.RLIMIT_FSIZE), get(resource.RLIMIT_CPU))\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 21, 1 << 21))\n"
        "except ValueError:\n    print('refused')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = done.stdout.splitlines()
    assert out[0] == f"(1048576, 1048576) (30, {30 + CPU_GRACE_S})"
    if os.geteuid() != 0:  # root may raise a hard limit again; the sandbox drops root first
        assert out[1] == "refused"


def test_limits_and_spec_round_trip_through_json() -> None:
    spec = LaunchSpec(
        argv=["python", "-c", "pass"],
        cwd="/srv/build",
        limits=ResourceLimits(1 << 30, 1 << 20, 64, None),
        namespaces=Namespaces(network=True, mount=False, pid=True),
        user=NOBODY,
        hide=["/srv/data"],
        writable=["/srv/build"],
        readable=["/opt/python"],
        parent_pid=42,
    )
    assert LaunchSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("text", ["", "{}", "[]", '{"argv": []}', "not json"])
def test_a_malformed_spec_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="malformed sandbox spec"):
        LaunchSpec.from_json(text)


def test_namespaces_intersect_and_name_what_is_missing() -> None:
    wanted = Namespaces()
    allowed = Namespaces(network=True, mount=False, pid=False)
    assert wanted & allowed == allowed
    assert (wanted & allowed).missing() == ["mount", "pid"]
    assert Namespaces().missing() == []


def test_sandbox_user_by_name_or_number() -> None:
    assert SandboxUser.resolve("nobody").uid == NOBODY_ID
    assert SandboxUser.resolve(str(NOBODY_ID)).uid == NOBODY_ID
    unnamed = SandboxUser.resolve("424242")  # a uid needs no passwd entry
    assert (unnamed.uid, unnamed.gid) == (424242, 424242)


@pytest.mark.parametrize("user", ["root", "0", "no-such-user-here"])
def test_root_or_unknown_sandbox_users_are_refused(user: str) -> None:
    with pytest.raises(SandboxError):
        SandboxUser.resolve(user)


def _stat(mode: int, uid: int = 0, gid: int = 0) -> os.stat_result:
    return os.stat_result((stat.S_IFDIR | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))


def test_searchable_follows_owner_group_other() -> None:
    assert searchable(_stat(0o711), NOBODY)
    assert not searchable(_stat(0o700), NOBODY)
    assert searchable(_stat(0o700, uid=NOBODY_ID), NOBODY)
    assert not searchable(_stat(0o077, uid=NOBODY_ID), NOBODY)  # the owner bits decide
    assert searchable(_stat(0o710, gid=NOBODY_ID), NOBODY)


def test_first_closed_ancestor(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    (closed / "open" / "leaf").mkdir(parents=True)
    for path in (tmp_path, closed / "open", closed / "open" / "leaf"):
        path.chmod(0o755)
    closed.chmod(0o700)
    leaf = str(closed / "open" / "leaf")
    found = first_closed_ancestor(leaf, NOBODY)
    # pytest's own temporary root may be closed too; the outermost one is reported.
    assert found is not None and within(str(closed), found)
    assert first_closed_ancestor("/usr/lib", NOBODY) is None


def test_outermost_keeps_only_the_outer_paths() -> None:
    paths = ["/a/b/c", "/a/b", "/x", "/a/bc", "/x/y"]
    assert outermost(paths) == ["/x", "/a/b", "/a/bc"]
    assert within("/a/b/c", "/a/b") and not within("/a/bc", "/a/b")


def test_missing_namespaces_are_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tried: list[Namespaces] = []

    def no_network(namespaces: Namespaces, user: SandboxUser | None) -> str | None:
        tried.append(namespaces)
        return "unshare: Operation not permitted" if namespaces.network else None

    monkeypatch.setattr(platform, "_try", no_network)
    platform.available_namespaces.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=platform.__name__):
            found = platform.available_namespaces(NOBODY)
            assert platform.available_namespaces(NOBODY) is found
        assert found == Namespaces(network=False, mount=True, pid=True)
        assert len(tried) == 4  # all together, then one by one; the second call is cached
        [record] = caplog.records
        assert "does not allow network namespaces" in record.getMessage()
        assert "Operation not permitted" in record.getMessage()
    finally:
        platform.available_namespaces.cache_clear()


async def _no_log(stage: str, line: str) -> None:
    pass


def _pump(error: str | None = None, last_stderr: str = "") -> LogPump:
    pump = LogPump(_no_log, 10)
    pump.error, pump.last_stderr = error, last_stderr
    return pump


@pytest.mark.parametrize(
    ("rc", "reason"),
    [
        (-signal.SIGXCPU, "the build exceeded its CPU-time limit (7 s)"),
        (-signal.SIGXFSZ, "the build exceeded its file-size limit (8 MiB)"),
        (-signal.SIGSEGV, "the build was killed by SIGSEGV"),
        (3, "build failed (exit 3): boom"),
    ],
)
def test_signals_name_the_limit(rc: int, reason: str) -> None:
    err = build_failure(rc, _pump(last_stderr="boom"), LIMITS)
    assert err.reason == reason
    assert err.kind == ("limit" if rc < 0 else "design")


def test_sigkill_names_both_causes() -> None:
    err = build_failure(-signal.SIGKILL, _pump(), LIMITS)
    assert "CPU-time limit (7 s)" in err.reason and "out of memory" in err.reason


def test_a_sandbox_that_cannot_start_is_an_internal_error() -> None:
    pump = _pump(last_stderr="sandbox: cannot create the namespaces: unshare: denied")
    err = build_failure(125, pump, LIMITS)
    assert err.kind == "internal"
    assert err.reason == "the build sandbox could not be set up: cannot create the namespaces: " \
        "unshare: denied"  # fmt: skip


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("design.py raised MemoryError", "the build's memory limit is 256 MiB"),
        ("design.py raised OSError: [Errno 27] File too large", "file-size limit is 8 MiB"),
        ("design.py raised BlockingIOError: [Errno 11] Resource temporarily unavailable",
         "a build may run at most 32 processes"),
        ("design.py raised OSError: [Errno 101] Network is unreachable", "no network access"),
        ("design.py raised gaierror: [Errno -3] Temporary failure in name resolution",
         "no network access"),
        ("design.py raised PermissionError: [Errno 13] Permission denied: '/etc/shadow'",
         "unprivileged user"),
        ("design.py raised NameError: name 'x' is not defined", ""),
    ],
)  # fmt: skip
def test_design_errors_get_the_limit_behind_them(error: str, hint: str) -> None:
    assert (hint in sandbox_hint(error, LIMITS)) if hint else sandbox_hint(error, LIMITS) == ""
    err = build_failure(3, _pump(error), LIMITS)
    assert err.kind == "design"
    assert err.reason == (f"{error} ({sandbox_hint(error, LIMITS)})" if hint else error)
