"""The few Linux system calls the sandbox needs that Python 3.11's ``os`` module lacks.

``unshare``, ``mount``, ``mount_setattr`` and ``prctl`` through ctypes. Every wrapper raises
``OSError`` with the errno on failure, so callers handle them like any other ``os`` call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import signal
import sys

CLONE_NEWNS = 0x0002_0000
CLONE_NEWUSER = 0x1000_0000
CLONE_NEWPID = 0x2000_0000
CLONE_NEWNET = 0x4000_0000

MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x4_0000

MOUNT_ATTR_RDONLY = 0x1
AT_RECURSIVE = 0x8000

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38
#: mount_setattr(2) has the same number on every architecture that has it (Linux 5.12+).
_SYS_MOUNT_SETATTR = 442
_MOUNT_SETATTR_ARCHES = ("x86_64", "aarch64", "riscv64", "ppc64le", "s390x")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _bytes(value: str | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def is_linux() -> bool:
    """Whether namespaces and the calls below exist here at all."""
    return sys.platform.startswith("linux")


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (``CLONE_NEW*`` flags)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """mount(2); ``data`` is the filesystem's option string (e.g. ``mode=0755`` for tmpfs)."""
    result = _libc.mount(
        _bytes(source), _bytes(target), _bytes(fstype), ctypes.c_ulong(flags), _bytes(data or None)
    )
    _check(result, f"mount {target}")


def set_mount_readonly(path: str, readonly: bool, *, recursive: bool = True) -> None:
    """Make the mount at ``path`` (and, with ``recursive``, every mount below it) read-only or
    writable, with mount_setattr(2).

    Raises:
        OSError: ``ENOSYS`` on kernels before 5.12 or unknown architectures.
    """
    if platform.machine() not in _MOUNT_SETATTR_ARCHES:
        raise OSError(38, "mount_setattr: unknown system call number on this architecture")
    attr = _MountAttr()
    if readonly:
        attr.attr_set = MOUNT_ATTR_RDONLY
    else:
        attr.attr_clr = MOUNT_ATTR_RDONLY
    flags = AT_RECURSIVE if recursive else 0
    at_fdcwd = -100
    result = _libc.syscall(
        ctypes.c_long(_SYS_MOUNT_SETATTR),
        ctypes.c_int(at_fdcwd),
        _bytes(path),
        ctypes.c_uint(flags),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    _check(result, f"mount_setattr {path}")


def set_parent_death_signal(sig: int = signal.SIGKILL) -> None:
    """Get ``sig`` when the parent dies, even by SIGKILL (survives exec)."""
    _check(_libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def forbid_new_privileges() -> None:
    """From now on exec can never grant privileges (setuid binaries, file capabilities)."""
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def forbid_core_dumps() -> None:
    """No core dump of this process, whatever the core pattern is."""
    _check(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
