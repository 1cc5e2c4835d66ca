"""The bubblewrap (``bwrap``) command that runs one sandboxed program.

bwrap creates the namespaces and the file system view, ties the sandbox to its parent
(``--die-with-parent``), detaches it from the terminal (``--new-session``), starts it with the
launcher's environment only (``--clearenv``) and loads the seccomp filter; inside, the sandbox's
init (:mod:`hwbridge.sandbox.init`) runs the program.

Who runs bwrap matters. A service that is not root runs it as itself: bwrap then makes a user
namespace in which the program keeps the service's uid. A root service runs bwrap as root
without a user namespace: one made by root maps the program's user to root outside, so a
program "nobody" in it would still read ``/etc/shadow``. Instead the init switches to the
sandbox user itself, with the real uid and gid of that user outside too. bwrap is not started as
the sandbox user because, as that user, it could not mount what the program needs from
directories only root may enter (an interpreter under ``/root``, a build under a 0700
temporary directory): bwrap resolves every mount's source by its path.

Either way bwrap keeps only the capabilities the init needs for its first steps (dropping the
bounding set, taking the loopback down, switching user), and the init drops them all before the
program starts. bwrap's monitor, the process left outside, runs as root without capabilities:
it cannot signal the sandbox user, so the init watches for its end through a pipe instead of a
parent-death signal.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

from hwbridge.sandbox.spec import LaunchSpec
from hwbridge.sandbox.view import mount_options

#: The sandbox's init, run as a script so that it imports nothing but the standard library.
INIT_SCRIPT = Path(__file__).with_name("init.py")
_FALLBACK_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


@functools.cache
def find_bwrap() -> str | None:
    """Where ``bwrap`` is: on ``PATH``, else in the system directories; None if nowhere."""
    return shutil.which("bwrap") or shutil.which("bwrap", path=_FALLBACK_PATH)


def _capabilities(spec: LaunchSpec, as_root: bool) -> list[str]:
    """What the init needs before it drops everything (see :mod:`hwbridge.sandbox.init`)."""
    caps = ["CAP_SETPCAP"]
    if spec.namespaces.network:
        caps.append("CAP_NET_ADMIN")
    if as_root and spec.user is not None:
        caps += ["CAP_SETUID", "CAP_SETGID"]
    return caps


def bwrap_command(
    spec: LaunchSpec,
    *,
    python: str,
    environment: dict[str, str],
    stderr_fd: int,
    status_fd: int,
    life_fds: tuple[int, int],
    seccomp_fd: int | None,
    as_root: bool,
) -> list[str]:
    """The bwrap command that runs ``spec``'s program (which must want a mount namespace).

    Args:
        spec: The program and its sandbox.
        python: The interpreter that runs the sandbox's init.
        environment: The program's whole environment.
        stderr_fd: The service's stderr, which the init restores on fd 2 (bwrap's own stderr
            goes to the launcher, which reports a failed setup).
        status_fd: Where the init writes the program's wait status.
        life_fds: A pipe's read end, for the init, and write end, which bwrap's monitor keeps
            for as long as it runs (as its ``--json-status-fd``): its end of file tells the
            init that bwrap has ended, which no parent-death signal would, as bwrap may not
            signal the sandbox user.
        seccomp_fd: A readable descriptor holding the seccomp filter, or None for none.
        as_root: Whether bwrap runs as root (see the module docstring).

    Raises:
        FileNotFoundError: If bwrap is not installed.
    """
    bwrap = find_bwrap()
    if bwrap is None:
        raise FileNotFoundError("bwrap is not installed (Debian package bubblewrap)")
    command = [bwrap, "--die-with-parent", "--new-session", "--json-status-fd", str(life_fds[1])]
    if not as_root:
        command.append("--unshare-user")
    if spec.namespaces.network:
        command.append("--unshare-net")
    if spec.namespaces.pid:
        command.append("--unshare-pid")
    command += ["--cap-drop", "ALL"]
    for cap in _capabilities(spec, as_root):
        command += ["--cap-add", cap]
    command += mount_options(spec)
    # No --chdir: bwrap would enter the directory before the switch to the sandbox user, as a
    # root without capabilities, to whom a 0700 build directory of that user is closed.
    command.append("--clearenv")
    for name, value in sorted(environment.items()):
        command += ["--setenv", name, value]
    if seccomp_fd is not None:
        command += ["--seccomp", str(seccomp_fd)]
    if spec.namespaces.pid:
        command.append("--as-pid-1")  # the init reaps and reports; bwrap's own would hide signals
    command.append("--")
    setup = {
        "limits": spec.limits.settings(),
        "cwd": spec.cwd,
        "user": [spec.user.uid, spec.user.gid] if as_root and spec.user is not None else None,
        "isolate_network": spec.namespaces.network,
        "unset": [] if "PWD" in environment else ["PWD"],  # bwrap sets it (to /)
        "life": life_fds[0],
    }
    init = [python, "-I", "-S", str(INIT_SCRIPT), str(stderr_fd), str(status_fd)]
    return [*command, *init, json.dumps(setup, separators=(",", ":")), "--", *spec.argv]
