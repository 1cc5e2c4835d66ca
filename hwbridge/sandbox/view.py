"""The file system a sandboxed program sees: bwrap's mount options for a launch.

* Everything is mounted read-only (``--ro-bind / /``), so a program running as the service's own
  user cannot change the service's code, configuration or home directory either; ``/dev`` holds
  only the usual devices and, with a pid namespace, ``/proc`` shows only the sandbox.
* Hidden directories (the service's data directory, and, when the program runs as another user,
  every directory that user could not enter anyway, such as a root-only home holding the Python
  installation) are covered by an empty read-only tmpfs.
* The directories the program may use are mounted back at their real paths inside them:
  ``writable`` ones read-write, ``readable`` ones read-only.

Paths stay the same inside and out, so build outputs can name absolute paths. The mounts belong
to a namespace the program cannot leave, and the seccomp filter refuses it ``mount`` and
``umount2`` (:mod:`hwbridge.sandbox.seccomp`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import PurePosixPath

from hwbridge.sandbox.identity import SandboxUser
from hwbridge.sandbox.spec import LaunchSpec

#: Size of the tmpfs over a hidden directory or ``/dev``: it holds only mount points and links.
TMPFS_BYTES = 64 * 1024
#: The devices in ``/dev``: bwrap's ``--dev`` ones without pseudo-terminals, whose devpts makes
#: bwrap nest a second user namespace, which could no longer take the network's loopback down.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
              "stderr": "/proc/self/fd/2"}  # fmt: skip


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


def _between(outer: str, inner: str) -> list[str]:
    """The directories strictly between ``outer`` and ``inner``, outermost first."""
    parts = PurePosixPath(inner).parts
    return [str(PurePosixPath(*parts[:depth])) for depth in range(_depth(outer) + 1, len(parts))]


def _tmpfs(path: str) -> list[str]:
    return ["--perms", "0755", "--size", str(TMPFS_BYTES), "--tmpfs", path]


def _base_options(own_proc: bool) -> list[str]:
    """A read-only root, a ``/dev`` of the usual devices and, if asked, the sandbox's ``/proc``."""
    options = ["--ro-bind", "/", "/", *_tmpfs("/dev")]
    for name in DEVICES:
        options += ["--dev-bind-try", f"/dev/{name}", f"/dev/{name}"]
    for name, target in _DEV_LINKS.items():
        options += ["--symlink", target, f"/dev/{name}"]
    options += ["--perms", "0755", "--dir", "/dev/shm"]
    if own_proc:
        options += ["--proc", "/proc"]  # without a pid namespace the host's stays, read-only
    return options


def mount_options(spec: LaunchSpec) -> list[str]:
    """bwrap's options that build ``spec``'s view of the file system (see the module docstring).

    Paths are applied outermost first, so a hidden directory inside an exposed one is hidden
    again, and an exposed directory inside a hidden one is mounted back.
    """
    options = _base_options(own_proc=spec.namespaces.pid)
    hides = {h for h in closed_ancestors(spec) | set(spec.hide) if h != "/" and os.path.isdir(h)}
    exposures = set(spec.writable) | {r for r in spec.readable if os.path.isdir(r)}
    steps = sorted([(p, True) for p in hides] + [(p, False) for p in exposures],
                   key=lambda step: (_depth(step[0]), not step[1]))  # fmt: skip
    applied: list[tuple[str, bool]] = []  # (path, is_hidden), in the order mounted
    made: set[str] = set()
    for path, hide in steps:
        layers = [(q, h) for q, h in applied if within(path, q)]
        inner, inside_hidden = max(layers, key=lambda layer: _depth(layer[0]), default=("", False))
        if hide:
            if not inside_hidden:
                options += _tmpfs(path)
                applied.append((path, True))
            continue
        writable = path in spec.writable
        if not inside_hidden and not writable:
            continue  # already visible, and read-only like everything else below
        if inside_hidden:
            # bwrap would create these 0700, closed to a sandbox user that is not root.
            for directory in _between(inner, path):
                if directory not in made:
                    options += ["--perms", "0755", "--dir", directory]
                    made.add(directory)
        options += ["--bind" if writable else "--ro-bind", path, path]
        applied.append((path, False))
    # Last: the tmpfs stay writable until every mount point in them exists.
    for path in ["/dev", *(p for p, hidden in applied if hidden)]:
        options += ["--remount-ro", path]
    return options
