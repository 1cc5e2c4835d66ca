"""The bwrap command built from a launch spec, its mount options and the seccomp filter."""

from __future__ import annotations

import errno
import json
import logging
import struct
from pathlib import Path

import pytest

from hwbridge.sandbox import bwrap, platform, seccomp
from hwbridge.sandbox.bwrap import INIT_SCRIPT, bwrap_command
from hwbridge.sandbox.identity import NOBODY_ID, SandboxUser
from hwbridge.sandbox.limits import ResourceLimits
from hwbridge.sandbox.spec import LaunchSpec, Namespaces
from hwbridge.sandbox.view import mount_options

NOBODY = SandboxUser("nobody", NOBODY_ID, NOBODY_ID)
LIMITS = ResourceLimits(1 << 30, 1 << 20, 64, 20)
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/srv/b1"}


def _spec(**changes: object) -> LaunchSpec:
    fields: dict[str, object] = {
        "argv": ["cc", "-c", "design.c"],
        "cwd": "/srv/b1",
        "limits": LIMITS,
        "namespaces": Namespaces(),
        "user": NOBODY,
        "writable": ["/srv/b1"],
    }
    fields.update(changes)
    return LaunchSpec(**fields)  # type: ignore[arg-type]


def _command(spec: LaunchSpec, *, as_root: bool, seccomp_fd: int | None = 5) -> list[str]:
    return bwrap_command(spec, python="/usr/bin/python3", environment=ENV, stderr_fd=3,
                         status_fd=4, life_fds=(6, 7), seccomp_fd=seccomp_fd,
                         as_root=as_root)  # fmt: skip


def _split(command: list[str]) -> tuple[list[str], dict[str, object], list[str]]:
    """bwrap's options, the init's setup and the program."""
    first = command.index("--")
    options, rest = command[:first], command[first + 1 :]
    assert rest[:6] == ["/usr/bin/python3", "-I", "-S", str(INIT_SCRIPT), "3", "4"]
    assert rest[7] == "--"
    return options, json.loads(rest[6]), rest[8:]


def _pairs(options: list[str], flag: str) -> list[str]:
    return [options[i + 1] for i, option in enumerate(options) if option == flag]


@pytest.fixture(autouse=True)
def _bwrap_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bwrap, "find_bwrap", lambda: "/usr/bin/bwrap")


def test_a_root_service_runs_bwrap_as_root_and_the_init_switches_user() -> None:
    options, setup, argv = _split(_command(_spec(), as_root=True))
    assert options[0] == "/usr/bin/bwrap"
    assert _pairs(options, "--json-status-fd") == ["7"]
    for flag in ("--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
                 "--clearenv", "--as-pid-1"):  # fmt: skip
        assert flag in options
    # No user namespace: made by root, it would map the program's user to root outside.
    assert "--unshare-user" not in options
    assert options[options.index("--cap-drop") + 1] == "ALL"
    assert _pairs(options, "--cap-add") == ["CAP_SETPCAP", "CAP_NET_ADMIN", "CAP_SETUID",
                                           "CAP_SETGID"]  # fmt: skip
    assert _pairs(options, "--seccomp") == ["5"]
    assert "--chdir" not in options  # the init enters it, as the sandbox user
    assert _pairs(options, "--proc") == ["/proc"]
    setenv = [options[i + 1 : i + 3] for i, o in enumerate(options) if o == "--setenv"]
    assert setenv == [["HOME", "/srv/b1"], ["PATH", "/usr/bin:/bin"]]
    assert setup == {"limits": [list(s) for s in LIMITS.settings()], "cwd": "/srv/b1",
                     "user": [NOBODY_ID] * 2,
                     "isolate_network": True, "unset": ["PWD"], "life": 6}  # fmt: skip
    assert argv == ["cc", "-c", "design.c"]


def test_a_service_that_is_not_root_gets_a_user_namespace_and_keeps_its_uid() -> None:
    options, setup, _argv = _split(_command(_spec(user=None), as_root=False))
    assert "--unshare-user" in options
    assert _pairs(options, "--cap-add") == ["CAP_SETPCAP", "CAP_NET_ADMIN"]
    assert setup["user"] is None


def test_a_simulator_keeps_the_network_and_without_a_pid_namespace_the_host_proc() -> None:
    spec = _spec(namespaces=Namespaces(network=False, mount=True, pid=False))
    options, setup, _argv = _split(_command(spec, as_root=True, seccomp_fd=None))
    for flag in ("--unshare-net", "--unshare-pid", "--as-pid-1", "--proc", "--seccomp"):
        assert flag not in options
    assert "CAP_NET_ADMIN" not in options
    assert setup["isolate_network"] is False


def test_without_bwrap_there_is_no_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bwrap, "find_bwrap", lambda: None)
    with pytest.raises(FileNotFoundError, match="bubblewrap"):
        _command(_spec(), as_root=True)


def _mounts(options: list[str]) -> list[tuple[str, str]]:
    """The mounts and directories made, without the fixed root and /dev."""
    kinds = ("--tmpfs", "--bind", "--ro-bind", "--dir", "--remount-ro")
    found = [(o, options[i + 1]) for i, o in enumerate(options) if o in kinds]
    return [(kind, path) for kind, path in found if path != "/" and not path.startswith("/dev")]


def test_hidden_directories_are_covered_and_what_the_program_uses_is_mounted_back(
    tmp_path: Path,
) -> None:
    data, kits = tmp_path / "data", tmp_path / "kits"
    build, kit = data / "builds" / "b1", data / "builds" / "kits" / "k"
    private = build / "secret"
    for path in (build, kit, private, kits):
        path.mkdir(parents=True, exist_ok=True)
    spec = _spec(user=None, hide=[str(data), str(private)], writable=[str(build)],
                 readable=[str(kit), str(kits), str(tmp_path / "missing")])  # fmt: skip
    assert _mounts(mount_options(spec)) == [
        ("--tmpfs", str(data)),
        ("--dir", str(data / "builds")),
        ("--bind", str(build)),
        ("--tmpfs", str(private)),  # hidden again inside the build
        ("--dir", str(data / "builds" / "kits")),
        ("--ro-bind", str(kit)),
        ("--remount-ro", str(data)),
        ("--remount-ro", str(private)),
    ]  # kits, outside what is hidden, is already visible read-only


def test_the_base_view_is_read_only_with_the_usual_devices() -> None:
    options = mount_options(_spec(hide=[], writable=[]))
    assert options[:3] == ["--ro-bind", "/", "/"]
    assert _pairs(options, "--dev-bind-try")[:2] == ["/dev/null", "/dev/zero"]
    assert "--dev" not in options  # devpts would nest a second user namespace
    assert options[-2:] == ["--remount-ro", "/dev"]


# --- the seccomp filter, run by a small classic-BPF interpreter ------------------------------

AUDIT_ARCH = {name: arch for name, (arch, _index) in seccomp.ARCHES.items()}


def _run_filter(program: bytes, nr: int, arch: int, arg0: int = 0) -> int:
    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    ops = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = ops[pc]
        if code == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
        elif code == 0x06:
            return int(k)
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf
        pc += 1


def _verdict(machine: str, call: str, arg0: int = 0, arch: int | None = None) -> str:
    index = seccomp.ARCHES[machine][1]
    numbers = {**seccomp.REFUSED, "clone": (56, 220), "clone3": (435, 435), "read": (0, 63)}
    nr = numbers[call][index] if call in numbers else int(call)
    action = _run_filter(seccomp.program(machine), nr, arch or AUDIT_ARCH[machine], arg0)
    if action == 0x7FFF_0000:
        return "allow"
    assert action & 0xFFFF_0000 == 0x0005_0000
    return errno.errorcode[action & 0xFFFF]


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_filter_refuses_what_no_build_needs(machine: str) -> None:
    for call in ("ptrace", "mount", "umount2", "bpf", "keyctl", "add_key", "request_key",
                 "kexec_load", "init_module", "finit_module", "delete_module", "pivot_root",
                 "unshare", "setns", "fsopen", "move_mount"):  # fmt: skip
        assert _verdict(machine, call) == "EPERM", call
    assert _verdict(machine, "read") == "allow"
    assert _verdict(machine, "clone", arg0=0x0100_0011) == "allow"  # fork: SIGCHLD, settid
    assert _verdict(machine, "clone", arg0=0x003D_0F00) == "allow"  # a thread
    assert _verdict(machine, "clone", arg0=0x1000_0011) == "EPERM"  # a user namespace
    assert _verdict(machine, "clone", arg0=0x4000_0011) == "EPERM"  # a network namespace
    assert _verdict(machine, "clone3") == "ENOSYS"  # the C library falls back to clone
    assert _verdict(machine, "read", arch=0x4000_0003) == "EPERM"  # 32-bit x86 calls


def test_x32_calls_are_refused_and_unknown_machines_have_no_filter() -> None:
    assert _verdict("x86_64", str(0x4000_0000)) == "EPERM"
    assert not seccomp.supported("riscv64")
    with pytest.raises(ValueError, match="riscv64"):
        seccomp.program("riscv64")


def test_without_bwrap_every_namespace_is_missing_and_said_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(platform, "find_bwrap", lambda: None)
    platform.available_namespaces.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=platform.__name__):
            found = platform.available_namespaces(NOBODY)
            platform.available_namespaces(NOBODY)
        assert found == Namespaces(network=False, mount=False, pid=False)
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 3
        assert all("bwrap not found: install the Debian package bubblewrap" in m for m in messages)
    finally:
        platform.available_namespaces.cache_clear()
