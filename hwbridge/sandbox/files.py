"""Ownership and modes of the directories sandboxed programs use, and of the data directory.

When the service runs as root and its programs as the sandbox user:

* A build's directory is handed over to the sandbox user for the build, with a private
  temporary directory (mode 0700) in it, and *sealed* afterwards: the temporary directory is
  removed and everything else is given back to the service's user with plain modes (0755
  directories and executables, 0644 files), so no later sandboxed program can change a
  finished build, and no mode or set-id bit a design chose survives.
* The data directory is 0711 (enterable, not listable) with the NATS store and other private
  parts 0700, so without a mount namespace the sandbox user can reach a build directory by its
  name and nothing else.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

from hwbridge.sandbox.identity import SandboxError, SandboxUser
from hwbridge.sandbox.view import searchable

#: Name of a build's private temporary directory, inside the build directory.
PRIVATE_TMP = "tmp"
#: Parts of the data directory no sandboxed program may enter (the NATS store, credentials).
PRIVATE_DATA = ("nats",)
#: Parts sandboxed programs enter by name (build outputs, simulator working directories).
SHARED_DATA = ("builds", "boards")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def hand_over(path: Path, user: SandboxUser | None) -> None:
    """Give ``path`` itself (not its contents) to ``user``; nothing to do without one."""
    if user is not None:
        os.chown(path, user.uid, user.gid, follow_symlinks=False)


def hand_over_tree(path: Path, user: SandboxUser | None) -> None:
    """Give ``path`` and everything in it to ``user`` if ``path`` is not already theirs.

    For a cache that sandboxed programs fill and share (the YoWASP tool cache).
    """
    if user is None or path.lstat().st_uid == user.uid:
        return
    for _root, dirs, files, root_fd in os.fwalk(path, follow_symlinks=False):
        os.chown(root_fd, user.uid, user.gid)
        for name in files + dirs:
            os.chown(name, user.uid, user.gid, dir_fd=root_fd, follow_symlinks=False)


def private_tmp(build_dir: Path, user: SandboxUser | None) -> Path:
    """Create the build's private temporary directory (0700, the sandbox user's)."""
    tmp = build_dir / PRIVATE_TMP
    tmp.mkdir(mode=0o700)
    hand_over(tmp, user)
    return tmp


def _plain_mode(st: os.stat_result) -> int:
    if stat.S_ISDIR(st.st_mode) or st.st_mode & stat.S_IXUSR:
        return 0o755
    return 0o644


def _take_back(name: str, dir_fd: int, uid: int, gid: int) -> None:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        os.unlink(name, dir_fd=dir_fd)  # a fifo or socket means nothing in a build output
        return
    try:
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        # Only as the owner (a service that is not root): fix the mode by name, then retry.
        os.chmod(name, 0o700, dir_fd=dir_fd)
        fd = os.open(name, _OPEN_FLAGS, dir_fd=dir_fd)
    try:
        # Through the descriptor: a name swapped for a symlink meanwhile cannot redirect it.
        os.fchown(fd, uid, gid)
        os.fchmod(fd, _plain_mode(os.fstat(fd)))
    finally:
        os.close(fd)


def seal(build_dir: Path) -> None:
    """Remove the private temporary directory and give the build back to the service's user.

    Call it once no sandboxed program runs in ``build_dir`` any more.

    Raises:
        SandboxError: If the tree cannot be taken back (e.g. nested absurdly deep).
    """
    shutil.rmtree(build_dir / PRIVATE_TMP, ignore_errors=True)
    uid, gid = os.geteuid(), os.getegid()
    try:
        parent_fd = os.open(build_dir.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _take_back(build_dir.name, parent_fd, uid, gid)
        finally:
            os.close(parent_fd)
        for _root, dirs, files, root_fd in os.fwalk(build_dir, follow_symlinks=False):
            for name in dirs + files:
                _take_back(name, root_fd, uid, gid)
    except (OSError, RecursionError) as exc:
        raise SandboxError(f"cannot take back the build directory {build_dir}: {exc}") from None


def harden_data_dir(data_dir: Path) -> None:
    """Set the data directory's modes for sandboxed programs (see the module docstring)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o711)
    for name in SHARED_DATA:
        (data_dir / name).mkdir(exist_ok=True)
        (data_dir / name).chmod(0o711)
    for name in PRIVATE_DATA:
        if (data_dir / name).is_dir():
            (data_dir / name).chmod(0o700)


def check_reachable(user: SandboxUser, paths: Iterable[str]) -> None:
    """Check that ``user`` can enter every directory on the way to each of ``paths``.

    Needed only without a mount namespace, which would make them reachable.

    Raises:
        SandboxError: Naming the first directory that blocks the way.
    """
    for path in paths:
        current = Path("/")
        for part in Path(path).parts[1:]:
            current /= part
            try:
                ok = not current.is_dir() or searchable(current.stat(), user)
            except OSError:
                ok = True  # a missing path fails later with its own, clearer error
            if not ok:
                raise SandboxError(
                    f"the sandbox user {user.name} cannot enter {current} (on the way to "
                    f"{path}): make it searchable (chmod o+x) or allow mount namespaces"
                )
