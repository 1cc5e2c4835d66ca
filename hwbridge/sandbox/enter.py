"""The launcher: ``python -P -m hwbridge.sandbox.enter SPEC_JSON``.

Started by the service, as the service's user, in a fresh process (so nothing here races the
service's threads), it asks for SIGKILL when the service dies (and exits at once if the service
is already gone), then:

* with a mount namespace, starts bubblewrap as its child (:mod:`hwbridge.sandbox.bwrap`) with
  the seccomp filter in a pipe, and waits. The sandbox's init reports how the program ended
  through another pipe, and the launcher ends the same way (the same exit code, or killed by the
  same signal), so the service reads the program's outcome from the launcher's. bwrap's own
  stderr comes to the launcher: when the sandbox cannot be set up, its last line is the reason.
* without (no bwrap on this host, or the platform refuses namespaces), switches to the sandbox
  user, forbids new privileges and turns into the program itself.

Exit codes of its own: :data:`EXIT_SETUP` (the sandbox could not be set up; the reason is the
last ``sandbox:`` line on stderr), 126 (the program cannot be executed), 127 (not found).
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from typing import NoReturn

from hwbridge.sandbox import init, seccomp
from hwbridge.sandbox.bwrap import bwrap_command
from hwbridge.sandbox.identity import service_is_root
from hwbridge.sandbox.init import EXIT_SETUP as EXIT_SETUP
from hwbridge.sandbox.init import STATUS, say
from hwbridge.sandbox.spec import LaunchSpec

_ERRORS_KEPT = 4096


def _fail(what: str, exc: BaseException) -> NoReturn:
    say(f"{what}: {exc}")
    os._exit(EXIT_SETUP)


def _tie_to_service(spec: LaunchSpec) -> None:
    """SIGKILL when the service dies; exit now if it already has."""
    try:
        init.prctl(init.PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError as exc:
        _fail("cannot tie the sandbox to the service", exc)
    if spec.parent_pid and os.getppid() != spec.parent_pid:
        os._exit(EXIT_SETUP)  # the service is gone


def _exit_like(status: int) -> NoReturn:
    """End this process the way a child with wait status ``status`` ended."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            init.prctl(init.PR_SET_DUMPABLE, 0)  # no core, whatever the core pattern is
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP need none of it
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)  # a signal whose default action is to do nothing
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else EXIT_SETUP)


def _seccomp_pipe() -> int | None:
    """A pipe holding the seccomp filter (read end), or None on an unknown architecture."""
    if not seccomp.supported():
        return None
    read_end, write_end = os.pipe()
    os.write(write_end, seccomp.program())  # a few hundred bytes: far below a pipe's buffer
    os.close(write_end)
    return read_end


def _read_to_end(fd: int) -> bytes:
    """Everything until every writer closed ``fd``, keeping the last few KiB."""
    kept = b""
    while chunk := os.read(fd, 65536):
        kept = (kept + chunk)[-_ERRORS_KEPT:]
    return kept


def _run_in_bwrap(spec: LaunchSpec) -> NoReturn:
    _tie_to_service(spec)
    try:
        seccomp_fd = _seccomp_pipe()
        status_r, status_w = os.pipe()
        errors_r, errors_w = os.pipe()
        life_r, life_w = os.pipe()
        stderr_fd = os.dup(2)
        passed = [fd for fd in (stderr_fd, status_w, life_r, life_w, seccomp_fd) if fd is not None]
        command = bwrap_command(spec, python=sys.executable, environment=dict(os.environ),
                                stderr_fd=stderr_fd, status_fd=status_w, life_fds=(life_r, life_w),
                                seccomp_fd=seccomp_fd, as_root=service_is_root())  # fmt: skip
    except (OSError, ValueError) as exc:
        _fail("cannot create the namespaces", exc)
    launcher = os.getpid()
    child = os.fork()
    if child == 0:
        try:
            init.prctl(init.PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != launcher:
                os._exit(EXIT_SETUP)  # the launcher died before the line above took effect
            for fd in passed:
                os.set_inheritable(fd, True)
            os.dup2(errors_w, 2)
            os.execv(command[0], command)
        except OSError as exc:
            os.dup2(stderr_fd, 2)
            _fail("cannot create the namespaces", exc)
    for fd in (*passed, errors_w):
        if fd != life_r:  # kept: bwrap's status lines must find a reader
            os.close(fd)
    # bwrap's stderr ends when bwrap does (the init moves the program off it before starting it).
    errors = _read_to_end(errors_r).decode(errors="replace").strip()
    _pid, bwrap_status = os.waitpid(child, 0)
    os.set_blocking(status_r, False)
    try:
        reported = os.read(status_r, STATUS.size)
    except BlockingIOError:
        reported = b""
    if len(reported) == STATUS.size:
        _exit_like(STATUS.unpack(reported)[0])
    if os.WIFSIGNALED(bwrap_status):
        _exit_like(bwrap_status)  # killed from outside: the service's timeout, the OOM killer
    if errors:
        os.write(2, errors.encode() + b"\n")
    code = os.waitstatus_to_exitcode(bwrap_status)
    last = errors.splitlines()[-1] if errors else f"bwrap exited with status {code}"
    say(f"cannot create the namespaces: {last}")
    os._exit(EXIT_SETUP)


def _run_directly(spec: LaunchSpec) -> NoReturn:
    """No namespaces: become the sandbox user and the program in this very process."""
    try:
        if spec.user is not None:
            init.switch_user(spec.user.uid, spec.user.gid)
        init.prctl(init.PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        _fail("cannot start the program", exc)
    _tie_to_service(spec)  # after the user switch, which clears the parent-death signal
    init.become_program(spec.argv, spec.limits.settings(), spec.cwd)


def enter(spec: LaunchSpec) -> NoReturn:
    """Set up the sandbox described by ``spec`` and run its program in it; never returns."""
    if spec.namespaces.mount:
        _run_in_bwrap(spec)
    _run_directly(spec)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns only on a usage error."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        say("usage: python -P -m hwbridge.sandbox.enter SPEC_JSON")
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
