"""The sandbox's first process, and how any sandboxed process turns into its program.

bwrap starts it as ``python -I -S init.py STDERR_FD STATUS_FD SETUP_JSON -- ARGV`` (process 1
of the sandbox's pid namespace), with only the capabilities it needs for its first steps:

1. It puts the service's stderr back on fd 2 (bwrap's own messages went to the launcher, which
   reports them if the sandbox cannot be set up) and closes every other inherited descriptor.
2. In a network namespace it takes the loopback down and removes its address, as in a
   namespace no one set up: bwrap brings it up, and a connection to 127.0.0.1 would then be
   refused instead of failing with "Network is unreachable", which names the cause.
3. It becomes the sandbox user for good (when the service is root), drops every capability,
   including the bounding set, and checks that none is left.
4. It forks the program, reaps whatever is orphaned in the namespace and, when the program
   ends, writes its wait status to STATUS_FD and exits: the kernel then kills every process left
   in the namespace. The launcher (:mod:`hwbridge.sandbox.enter`) ends the way the program did.
   When bwrap ends first (the service stopped the program or died), it kills them all itself.

It imports nothing but the standard library, so the interpreter starts it in a few milliseconds
with ``-I -S`` (no site, no environment, no working directory on ``sys.path``).

Exit codes of its own: :data:`EXIT_SETUP` (the program could not be started; the reason is the
last ``sandbox:`` line on stderr), 126 (the program cannot be executed), 127 (not found).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

EXIT_SETUP = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127
#: A wait status as the init reports it to the launcher.
STATUS = struct.Struct("i")

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
_CAPABILITY_VERSION_3 = 0x2008_0522
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _SIOCSIFADDR = 0x8913, 0x8914, 0x8916
_IFF_UP = 0x1
_IFREQ_FLAGS = struct.Struct("16sH14x")
_IFREQ_ADDR = struct.Struct("16sHH4s8x")  # the name, then a sockaddr_in


@functools.cache
def _libc() -> ctypes.CDLL:
    # The interpreter's own symbols include the C library's (find_library would run ldconfig).
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def prctl(option: int, value: int) -> None:
    """prctl(2) with one argument, which Python's ``os`` lacks.

    Raises:
        OSError: With the errno of a failed call.
    """
    _check(_libc().prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def say(message: str) -> None:
    """One ``sandbox:`` line on stderr (the service reads the last one as the reason)."""
    os.write(2, f"sandbox: {message}\n".encode(errors="replace"))


def switch_user(uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` for good: no supplementary groups, real, effective and saved ids.

    From root this also clears the effective, permitted and ambient capabilities.

    Raises:
        OSError: If a call fails; the process must then not go on.
    """
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid,) * 3 or os.getresgid() != (gid,) * 3 or os.getgroups():
        raise OSError(errno.EPERM, f"could not switch to uid {uid}")


def _drop_bounding_set() -> None:
    """Drop every capability from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                return  # past the kernel's last capability
            raise


def _clear_capabilities() -> None:
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable; twice (64 bits)
    _check(_libc().capset(header, data), "capset")
    with open("/proc/self/status") as f:
        sets = [line.split() for line in f if line.startswith("Cap")]
    if any(int(value, 16) for _name, value in sets):
        raise OSError(errno.EPERM, f"capabilities left: {sets}")


def _isolate_network() -> None:
    """Take the loopback down, then remove its address (needs CAP_NET_ADMIN in the namespace).

    In this order: in a user namespace the kernel refuses to change the address of a loopback
    that is up.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        reply = fcntl.ioctl(sock, _SIOCGIFFLAGS, _IFREQ_FLAGS.pack(b"lo", 0))
        flags = _IFREQ_FLAGS.unpack(reply)[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, _IFREQ_FLAGS.pack(b"lo", flags & ~_IFF_UP))
        fcntl.ioctl(sock, _SIOCSIFADDR, _IFREQ_ADDR.pack(b"lo", socket.AF_INET, 0, bytes(4)))


def lower_limits(settings: Sequence[Sequence[int]]) -> None:
    """Lower this process's resource limits, soft and hard, so they cannot be raised again.

    Args:
        settings: ``(resource, soft, hard)`` triples; a limit already lower is kept.
    """
    for which, soft, hard in settings:
        _cur_soft, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def become_program(argv: list[str], settings: Sequence[Sequence[int]], cwd: str = "") -> NoReturn:
    """Lower the limits, enter ``cwd`` and exec ``argv`` with this process's environment.

    Call it as the user the program runs as: limits set before a user switch would count the
    new user's processes against the old user's limit when exec decides whether to go on.
    """
    try:
        lower_limits(settings)
        os.umask(0o022)
        # Python ignores these; the program must get the default behaviour back.
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        if cwd:
            os.chdir(cwd)
    except OSError as exc:
        say(f"cannot start the program: {exc}")
        os._exit(EXIT_SETUP)
    try:
        os.execvpe(argv[0], argv, dict(os.environ))
    except FileNotFoundError as exc:
        say(f"cannot execute {argv[0]}: {exc}")
        os._exit(EXIT_NOT_FOUND)
    except OSError as exc:
        say(f"cannot execute {argv[0]}: {exc}")
        os._exit(EXIT_CANNOT_EXECUTE)


def _prepare(stderr_fd: int, status_fd: int, setup: dict[str, Any]) -> None:
    os.dup2(stderr_fd, 2)
    for name in setup["unset"]:
        os.environ.pop(name, None)
    try:
        if setup["isolate_network"]:
            _isolate_network()
        _drop_bounding_set()
        if setup["user"] is not None:
            switch_user(*setup["user"])
        _clear_capabilities()
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        prctl(PR_SET_DUMPABLE, 0)  # the program may not read this process's memory or fds
    except OSError as exc:
        say(f"cannot start the program: {exc}")
        # Reported like a program that exited so: this line, not bwrap's, is the reason.
        os.write(status_fd, STATUS.pack(EXIT_SETUP << 8))
        os._exit(EXIT_SETUP)
    # bwrap passes on every descriptor it was given (the seccomp filter's among them); the
    # program gets its standard streams only.
    keep = sorted((status_fd, setup["life"]))
    os.closerange(3, keep[0])
    os.closerange(keep[0] + 1, keep[1])
    os.closerange(keep[1] + 1, os.sysconf("SC_OPEN_MAX"))
    for fd in keep:
        os.set_inheritable(fd, False)
    os.set_blocking(setup["life"], False)
    # With a handler (Python's SIGINT one) a process 1 can be signalled from inside; without one
    # only the kernel and the parent namespace end it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _drain(fd: int) -> bool:
    """Read what a non-blocking pipe holds; whether its writers are all gone (end of file)."""
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        return False
    return True


def _wait(program: int, life_fd: int, wake_fd: int) -> int:
    """Reap children until ``program`` ends, and return its wait status.

    If bwrap ends first (the service stopped the program, or died), end everything instead: a
    parent-death signal cannot do it, as bwrap's monitor, root without capabilities when the
    service is root, may not signal the sandbox user.
    """
    while True:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                os._exit(EXIT_SETUP)
            if pid == program:
                return status
            if pid == 0:
                break  # an orphan of the namespace reaped, or none left to reap
        ready = select.select([life_fd, wake_fd], [], [])[0]
        # The life pipe brings bwrap's status lines, and an end of file once bwrap is gone.
        if life_fd in ready and _drain(life_fd):
            os.killpg(0, signal.SIGKILL)  # with a pid namespace, this init's end would do
        if wake_fd in ready:
            _drain(wake_fd)


def run(stderr_fd: int, status_fd: int, setup: dict[str, Any], argv: list[str]) -> NoReturn:
    """Run ``argv`` as the sandbox's init: set up, fork it, reap, report its wait status, end.

    Args:
        stderr_fd: The service's stderr, for fd 2.
        status_fd: Where to write the program's wait status.
        setup: ``limits``: the program's ``(resource, soft, hard)`` triples; ``cwd``: its
            working directory, entered as the sandbox user; ``user``: the
            ``[uid, gid]`` to switch to, or None; ``isolate_network``: whether to take the
            loopback down; ``unset``: variables bwrap set that the program must not get;
            ``life``: a pipe whose other end only bwrap's monitor holds.
        argv: The program and its arguments.
    """
    _prepare(stderr_fd, status_fd, setup)
    # Every SIGCHLD wakes the loop in _wait, also one that comes before it runs.
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)
    init = os.getpid()
    program = os.fork()
    if program == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        try:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # needed where there is no pid namespace
        except OSError as exc:
            say(f"cannot start the program: {exc}")
            os._exit(EXIT_SETUP)
        if os.getppid() != init:
            os._exit(EXIT_SETUP)  # the init died before the line above took effect
        become_program(argv, setup["limits"], setup["cwd"])
    status = _wait(program, setup["life"], wake_r)
    os.write(status_fd, STATUS.pack(status))
    os._exit(0)  # with a pid namespace the kernel now kills whatever is left in it


def main(args: list[str]) -> NoReturn:
    """``STDERR_FD STATUS_FD SETUP_JSON -- ARGV...``; exits :data:`EXIT_SETUP` on misuse."""
    if len(args) < 5 or args[3] != "--":
        say("usage: init.py STDERR_FD STATUS_FD SETUP_JSON -- ARGV...")
        os._exit(EXIT_SETUP)
    run(int(args[0]), int(args[1]), json.loads(args[2]), args[4:])


if __name__ == "__main__":
    main(sys.argv[1:])
