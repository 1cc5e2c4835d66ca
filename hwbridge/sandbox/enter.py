"""The launcher: ``python -P -m hwbridge.sandbox.enter SPEC_JSON``.

Started by the service, it runs as the service's user in a fresh process (so nothing here
races the service's threads) and turns into the sandboxed program:

1. It asks for SIGKILL when the service dies, then enters new namespaces (with a user namespace
   first when the service is not root), and sets up the file system view
   (:mod:`hwbridge.sandbox.view`).
2. With a pid namespace it forks the namespace's first process, a minimal init that forks the
   program and reports how it ended; when the init ends, the kernel kills every process left in
   the namespace, including ones that left the process group or the session. The launcher ends
   the same way as the program (the same exit code, or killed by the same signal), so the
   service reads the program's outcome from the launcher's.
3. The program's process switches user, forbids new privileges, lowers its resource limits,
   enters its working directory and execs the program with the launcher's environment.

Exit codes of its own: :data:`EXIT_SETUP` (the sandbox could not be set up; the reason is the
last ``sandbox:`` line on stderr), 126 (the program cannot be executed), 127 (not found).
"""

from __future__ import annotations

import os
import resource
import select
import signal
import struct
import sys
from typing import NoReturn

from hwbridge.sandbox import syscalls
from hwbridge.sandbox.identity import drop_privileges
from hwbridge.sandbox.spec import LaunchSpec
from hwbridge.sandbox.view import build_view, mount_own_proc

EXIT_SETUP = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127
_STATUS = struct.Struct("i")


def _say(message: str) -> None:
    os.write(2, f"sandbox: {message}\n".encode(errors="replace"))


def _fail(what: str, exc: BaseException) -> NoReturn:
    _say(f"{what}: {exc}")
    os._exit(EXIT_SETUP)


def _flags(spec: LaunchSpec) -> int:
    flags = 0
    if spec.namespaces.network:
        flags |= syscalls.CLONE_NEWNET
    if spec.namespaces.mount:
        flags |= syscalls.CLONE_NEWNS
    if spec.namespaces.pid:
        flags |= syscalls.CLONE_NEWPID
    if flags and os.geteuid() != 0:
        # Unprivileged: a user namespace owns the others. The program keeps the service's
        # uid (mapped to itself) and, being non-root in it, loses every capability at exec.
        flags |= syscalls.CLONE_NEWUSER
    return flags


def _map_own_ids(uid: int, gid: int) -> None:
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)


def _exit_like(status: int) -> NoReturn:
    """End this process the way a child with wait status ``status`` ended."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            syscalls.forbid_core_dumps()
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP need none of it
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal whose default action is to do nothing
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else EXIT_SETUP)


def _become_program(spec: LaunchSpec) -> NoReturn:
    try:
        if spec.user is not None:
            drop_privileges(spec.user)
        syscalls.forbid_new_privileges()
        # After the user switch: limits set before it would count the new user's processes
        # against the service's (higher) limit when deciding whether exec may go on.
        spec.limits.apply()
        os.umask(0o022)
        # Python ignores these; the program must get the default behaviour back.
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(spec.cwd)
    except OSError as exc:
        _fail("cannot start the program", exc)
    try:
        os.execvpe(spec.argv[0], spec.argv, dict(os.environ))
    except FileNotFoundError as exc:
        _say(f"cannot execute {spec.argv[0]}: {exc}")
        os._exit(EXIT_NOT_FOUND)
    except OSError as exc:
        _say(f"cannot execute {spec.argv[0]}: {exc}")
        os._exit(EXIT_CANNOT_EXECUTE)


def _init(spec: LaunchSpec, status_w: int) -> NoReturn:
    """Process 1 of the new pid namespace: run the program, reap orphans, report, end."""
    if spec.namespaces.mount:
        try:
            mount_own_proc()
        except OSError:
            pass  # the host's /proc stays: other processes are visible, not reachable
    program = os.fork()
    if program == 0:
        os.close(status_w)
        _become_program(spec)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(EXIT_SETUP)
        if pid == program:
            os.write(status_w, _STATUS.pack(status))
            os._exit(0)  # the kernel now kills whatever is left in the namespace


def _run_init(spec: LaunchSpec) -> NoReturn:
    status_r, status_w = os.pipe()
    life_r, life_w = os.pipe()
    init = os.fork()
    if init == 0:
        os.close(status_r)
        os.close(life_w)
        syscalls.set_parent_death_signal()
        if select.select([life_r], [], [], 0)[0]:
            os._exit(EXIT_SETUP)  # the launcher died before the line above took effect
        os.close(life_r)
        _init(spec, status_w)
    os.close(status_w)
    os.close(life_r)
    _pid, status = os.waitpid(init, 0)
    reported = os.read(status_r, _STATUS.size)
    _exit_like(_STATUS.unpack(reported)[0] if len(reported) == _STATUS.size else status)


def enter(spec: LaunchSpec) -> NoReturn:
    """Set up the sandbox described by ``spec`` and run its program in it; never returns."""
    try:
        syscalls.set_parent_death_signal()
    except OSError as exc:
        _fail("cannot tie the sandbox to the service", exc)
    if spec.parent_pid and os.getppid() != spec.parent_pid:
        os._exit(EXIT_SETUP)  # the service is gone
    uid, gid = os.getuid(), os.getgid()
    flags = _flags(spec)
    try:
        if flags:
            syscalls.unshare(flags)
        if flags & syscalls.CLONE_NEWUSER:
            _map_own_ids(uid, gid)
        if spec.namespaces.mount:
            build_view(spec)
    except OSError as exc:
        _fail("cannot create the namespaces", exc)
    if spec.namespaces.pid:
        _run_init(spec)
    _become_program(spec)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns only on a usage error."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        _say("usage: python -P -m hwbridge.sandbox.enter SPEC_JSON")
        return EXIT_SETUP
    try:
        spec = LaunchSpec.from_json(args[0])
    except ValueError as exc:
        _fail("bad spec", exc)
    if not spec.argv:
        _fail("bad spec", ValueError("no program to run"))
    enter(spec)


if __name__ == "__main__":
    sys.exit(main())
