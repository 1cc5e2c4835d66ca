"""Which namespaces this host lets the service create through bwrap, found out once by trying.

A host without bwrap, a container without the right
privileges, a kernel without unprivileged user namespaces or a non-Linux host allows fewer or
none. bwrap always makes a mount namespace, so without one there is no other either. The sandbox
then goes on without them and says so once in the log, instead of failing every build; likewise
for the seccomp filter on an architecture it does not know.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hwbridge.sandbox import seccomp
from hwbridge.sandbox.bwrap import find_bwrap
from hwbridge.sandbox.identity import SandboxUser
from hwbridge.sandbox.limits import ResourceLimits
from hwbridge.sandbox.runtime import clean_environment, interpreter_dirs, launcher_command
from hwbridge.sandbox.spec import LaunchSpec, Namespaces

log = logging.getLogger(__name__)

NONE = Namespaces(network=False, mount=False, pid=False)
_PROBE_TIMEOUT_S = 30.0
_PROBE_LIMITS = ResourceLimits(memory_bytes=1 << 30, max_file_bytes=1 << 20, max_processes=1024)
#: What a sandboxed program can do when a namespace is missing.
CONSEQUENCES = {
    "network": "sandboxed programs can open network connections",
    "mount": "sandboxed programs see the whole file system (only file permissions protect the "
    "data directory) and no seccomp filter applies",
    "pid": "sandboxed programs can see and signal every process of their user, and a process "
    "that leaves its process group outlives its build",
}


def _try(namespaces: Namespaces, user: SandboxUser | None) -> str | None:
    """Run the real launcher with ``namespaces``; None if it worked, else why not."""
    scratch = Path(tempfile.mkdtemp(prefix="fpga-cloud-probe-"))
    try:
        work = scratch / "work"
        work.mkdir()
        if user is not None:
            os.chown(work, user.uid, user.gid)
        spec = LaunchSpec(
            argv=[sys.executable, "-P", "-c", "pass"],
            cwd=str(work),
            limits=_PROBE_LIMITS,
            namespaces=namespaces,
            user=user,
            hide=[str(scratch)],
            writable=[str(work)],
            readable=list(interpreter_dirs()),
            parent_pid=os.getpid(),
        )
        try:
            done = subprocess.run(
                launcher_command(spec),
                env=clean_environment(work),
                cwd="/",
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_PROBE_TIMEOUT_S,
                start_new_session=True,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        if done.returncode == 0:
            return None
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit {done.returncode}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _probe(user: SandboxUser | None) -> tuple[Namespaces, str]:
    """The namespaces that work here, and why the others do not."""
    if not sys.platform.startswith("linux"):
        return NONE, f"not on Linux ({sys.platform})"
    if find_bwrap() is None:
        return NONE, "bwrap not found: install the Debian package bubblewrap"
    full = Namespaces()
    why = _try(full, user)
    if why is None:
        return full, ""
    # bwrap always makes a mount namespace: try it alone, then with each of the others.
    mount_only = Namespaces(network=False, mount=True, pid=False)
    alone = _try(mount_only, user)
    if alone is not None:
        return NONE, alone
    found = Namespaces(
        network=_try(Namespaces(True, True, False), user) is None,
        mount=True,
        pid=_try(Namespaces(False, True, True), user) is None,
    )
    if found == full:
        log.warning("sandbox: namespaces work one by one but not together (%s)", why)
        found = mount_only
    return found, why


@functools.cache
def available_namespaces(user: SandboxUser | None) -> Namespaces:
    """The namespaces a sandbox for ``user`` can have here (tried once per process).

    Args:
        user: The user sandboxed programs switch to, or None for the service's own user.
    """
    found, why = _probe(user)
    for name in found.missing():
        log.warning(
            "sandbox: this platform does not allow %s namespaces (%s): %s",
            name,
            why,
            CONSEQUENCES[name],
        )
    if found.mount and not seccomp.supported():
        log.warning("sandbox: no seccomp filter on %s: sandboxed programs may call ptrace, "
                    "mount, bpf and the like", os.uname().machine)  # fmt: skip
    return found
