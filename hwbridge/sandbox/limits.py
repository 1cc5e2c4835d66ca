"""Per-process resource limits of a sandboxed program (setrlimit)."""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass
from typing import Any

from hwbridge.sandbox.init import lower_limits

#: Seconds between SIGXCPU (the soft CPU limit, which names the cause) and SIGKILL (the hard
#: limit, for a program that catches SIGXCPU). With equal limits the kernel sends SIGKILL only.
CPU_GRACE_S = 2


@dataclass(frozen=True)
class ResourceLimits:
    """Limits of every process in the sandbox; each applies per process except ``max_processes``.

    Attributes:
        memory_bytes: Address space (RLIMIT_AS): a larger allocation fails with ENOMEM, which
            Python raises as MemoryError.
        max_file_bytes: Largest file a process may write (RLIMIT_FSIZE): writing past it fails
            with EFBIG, or kills with SIGXFSZ a program that does not ignore that signal.
        max_processes: Processes and threads of the sandbox user (RLIMIT_NPROC): a fork past it
            fails with EAGAIN. The kernel counts all processes of that user, so the sandbox
            must run as an unprivileged user of its own (root ignores the limit).
        cpu_seconds: CPU time (RLIMIT_CPU), or None for none: SIGXCPU when it runs out.
        core_bytes: Core dump size; 0, untrusted programs leave no cores.
    """

    memory_bytes: int
    max_file_bytes: int
    max_processes: int
    cpu_seconds: int | None = None
    core_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        """The limits as a JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResourceLimits:
        """Limits from :meth:`to_json`'s output."""
        return cls(**data)

    def settings(self) -> list[tuple[int, int, int]]:
        """``(resource, soft, hard)`` for each limit, in the order to apply them."""
        wanted = [
            (resource.RLIMIT_AS, self.memory_bytes, self.memory_bytes),
            (resource.RLIMIT_FSIZE, self.max_file_bytes, self.max_file_bytes),
            (resource.RLIMIT_NPROC, self.max_processes, self.max_processes),
            (resource.RLIMIT_CORE, self.core_bytes, self.core_bytes),
        ]
        if self.cpu_seconds is not None:
            cpu = self.cpu_seconds
            wanted.append((resource.RLIMIT_CPU, cpu, cpu + CPU_GRACE_S))
        return wanted

    def apply(self) -> None:
        """Lower this process's limits (soft and hard, so they cannot be raised again).

        A limit already lower than the wanted one is kept.
        """
        lower_limits(self.settings())
