"""A seccomp filter for sandboxed programs, as classic BPF for ``bwrap --seccomp FD``.

Sandboxed programs (compilers, Verilator, Python, the WebAssembly tools) need none of the system
calls below; a hostile one would use them to attack the kernel or the sandbox itself. Each is
refused with EPERM:

* ``ptrace`` and ``process_vm_readv``/``writev``: reading or steering another process;
* ``mount``, ``umount2``, ``pivot_root`` and the new mount API: changing the file system view;
* ``unshare``, ``setns`` and ``clone`` with a namespace flag: new namespaces (a user namespace
  is the usual first step of a kernel exploit);
* ``bpf``, ``perf_event_open``, ``userfaultfd``, ``keyctl``, ``add_key``, ``request_key``:
  kernel interfaces with a history of exploits, or the kernel keyring;
* ``kexec_load``, ``kexec_file_load``, ``init_module``, ``finit_module``, ``delete_module``.

``clone3`` fails with ENOSYS instead: its flags are in memory a filter cannot read, and ENOSYS
makes the C library fall back to ``clone``, whose flags it can. A call made through another
architecture's interface (32-bit x86, x32) is refused whatever it is. Only x86_64 and aarch64
are known; elsewhere there is no filter and the service says so at start.
"""

from __future__ import annotations

import errno
import os
import struct

# Classic BPF, as in <linux/filter.h> and <linux/seccomp.h>.
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_ALLOW = 0x7FFF_0000
_RET_ERRNO = 0x0005_0000
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arg0's low half: little-endian)
#: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
CLONE_NAMESPACES = 0x7E02_0000
_X32_BIT = 0x4000_0000

#: Refused calls, by name: (x86_64 number, aarch64 number).
REFUSED = {
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "unshare": (272, 97),
    "setns": (308, 268),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
}
_CLONE = (56, 220)
_CLONE3 = (435, 435)
#: Machine name: (AUDIT_ARCH_* value, index into the number pairs above).
ARCHES = {"x86_64": (0xC000_003E, 0), "aarch64": (0xC000_00B7, 1)}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def _ret(value: int) -> bytes:
    return _op(_RET_K, value)


def supported(machine: str | None = None) -> bool:
    """Whether there is a filter for ``machine`` (default: this one)."""
    return (machine or os.uname().machine) in ARCHES


def program(machine: str | None = None) -> bytes:
    """The filter for ``machine`` (default: this one) as ``struct sock_filter`` records.

    Raises:
        ValueError: For an architecture whose system call numbers are not known here.
    """
    machine = machine or os.uname().machine
    if machine not in ARCHES:
        raise ValueError(f"no seccomp filter for {machine}")
    audit_arch, index = ARCHES[machine]
    refuse = _ret(_RET_ERRNO | errno.EPERM)
    numbers = sorted({pair[index] for pair in REFUSED.values()})
    ops = [_op(_LD_W_ABS, _ARCH), _op(_JEQ_K, audit_arch, jt=1), refuse, _op(_LD_W_ABS, _NR)]
    if machine == "x86_64":
        ops += [_op(_JGE_K, _X32_BIT, jf=1), refuse]
    # Each listed number jumps to the refusal at the end of the list.
    for i, number in enumerate(numbers):
        ops.append(_op(_JEQ_K, number, jt=len(numbers) - i))
    ops += [
        _op(_JEQ_K, _CLONE3[index], jt=1, jf=2),
        refuse,
        _ret(_RET_ERRNO | errno.ENOSYS),
        _op(_JEQ_K, _CLONE[index], jf=3),
        _op(_LD_W_ABS, _ARG0),
        _op(_JSET_K, CLONE_NAMESPACES, jf=1),
        refuse,
        _ret(_RET_ALLOW),
    ]
    return b"".join(ops)
