"""The file system a sandboxed program sees, set up in its own mount namespace.

* Hidden directories (the service's data directory, and, when the program runs as another user,
  every directory that user could not enter anyway, such as a root-only home holding the Python
  installation) are covered by an empty read-only tmpfs.
* The directories the program may use are mounted back at their real paths inside them:
  ``writable`` ones read-write, ``readable`` ones read-only.
* Everything else is read-only, so a program running as the service's own user cannot change
  the service's code, configuration or home directory either.

Paths stay the same inside and out, so build outputs can name absolute paths. Mounts made here
belong to a namespace the program cannot leave, and a program that makes a user namespace of its
own cannot unmount them (the kernel locks inherited mounts together).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import PurePosixPath

from hwbridge.sandbox import syscalls
from hwbridge.sandbox.identity import SandboxUser
from hwbridge.sandbox.spec import LaunchSpec

_TMPFS_OPTIONS = "mode=0755,size=64k,nr_inodes=1024"
_TMPFS_FLAGS = syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC


def within(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or below it (both absolute, normalised)."""
    return PurePosixPath(path).is_relative_to(root)


def searchable(st: os.stat_result, user: SandboxUser) -> bool:
    """Whether ``user`` (with no supplementary groups) may enter a directory with this stat."""
    if st.st_uid == user.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == user.gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def first_closed_ancestor(path: str, user: SandboxUser) -> str | None:
    """The outermost directory above ``path`` that ``user`` cannot enter, or None."""
    parts = PurePosixPath(path).parts
    for depth in range(2, len(parts)):
        ancestor = str(PurePosixPath(*parts[:depth]))
        try:
            if not searchable(os.stat(ancestor), user):
                return ancestor
        except OSError:
            return None
    return None


def outermost(paths: Iterable[str]) -> list[str]:
    """``paths`` without those inside another one of them, sorted."""
    unique = sorted(set(paths), key=lambda p: (len(PurePosixPath(p).parts), p))
    kept: list[str] = []
    for path in unique:
        if not any(within(path, k) for k in kept):
            kept.append(path)
    return kept


def closed_ancestors(spec: LaunchSpec) -> set[str]:
    """Directories above what the program must use that its user could not enter anyway.

    Covering them lets the program reach its directories at their real paths (a build under a
    root-only temporary directory, an interpreter under a root-only home) and hides the rest.
    """
    closed: set[str] = set()
    if spec.user is not None:
        for path in [*spec.writable, *spec.readable]:
            ancestor = first_closed_ancestor(path, spec.user)
            if ancestor is not None:
                closed.add(ancestor)
    return closed


def _depth(path: str) -> int:
    return len(PurePosixPath(path).parts)


def build_view(spec: LaunchSpec) -> None:
    """In a fresh mount namespace, as its owner: hide, expose and make read-only.

    Paths are applied outermost first, so a hidden directory inside an exposed one is hidden
    again, and an exposed directory inside a hidden one is mounted back.

    Raises:
        OSError: If a mount fails; the program must then not start.
    """
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    hides = {h for h in closed_ancestors(spec) | set(spec.hide) if h != "/"}
    exposures = set(spec.writable) | {r for r in spec.readable if os.path.isdir(r)}
    # Opened before anything is hidden: the bind mounts below take their source from these.
    handles = {p: os.open(p, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for p in exposures}
    applied: list[tuple[str, bool]] = []  # (path, is_hidden), in the order mounted
    bound_writable: list[str] = []
    old_umask = os.umask(0o022)
    try:
        steps = sorted([(p, True) for p in hides] + [(p, False) for p in exposures],
                       key=lambda step: (_depth(step[0]), not step[1]))  # fmt: skip
        for path, hide in steps:
            layers = [(q, h) for q, h in applied if within(path, q)]
            inside_hidden = bool(layers) and max(layers, key=lambda layer: _depth(layer[0]))[1]
            if hide:
                if not inside_hidden and os.path.isdir(path):
                    syscalls.mount("tmpfs", path, "tmpfs", _TMPFS_FLAGS, _TMPFS_OPTIONS)
                    applied.append((path, True))
                continue
            writable = path in spec.writable
            if not inside_hidden and not writable:
                continue  # already visible, and read-only like everything else below
            if inside_hidden:
                os.makedirs(path, mode=0o755, exist_ok=True)
            source = f"/proc/self/fd/{handles[path]}"
            syscalls.mount(source, path, None, syscalls.MS_BIND | syscalls.MS_REC)
            applied.append((path, False))
            if writable:
                bound_writable.append(path)
        syscalls.set_mount_readonly("/", True)
        for path in bound_writable:
            syscalls.set_mount_readonly(path, False, recursive=False)
    finally:
        os.umask(old_umask)
        for handle in handles.values():
            os.close(handle)


def mount_own_proc() -> None:
    """In a new pid namespace's first process: a ``/proc`` that shows only this namespace.

    Raises:
        OSError: If the kernel refuses (e.g. a container that masks parts of ``/proc``).
    """
    flags = syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC
    syscalls.mount("proc", "/proc", "proc", flags)
