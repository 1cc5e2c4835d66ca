"""What a build may use, and the error it ends in when it fails. LiteX-free."""

from __future__ import annotations

from dataclasses import dataclass

from events.settings import Settings
from hwbridge.sandbox import ResourceLimits

_MB = 1024**2
_DEFAULT = Settings()


@dataclass(frozen=True)
class BuildLimits:
    """Resource limits of one build (each limit applies per process, the timeout to all).

    Attributes:
        timeout_s: Wall-clock limit of the whole build.
        memory_bytes: Address-space limit (RLIMIT_AS) of each process that runs user code or a
            compiler.
        cpu_seconds: CPU-time limit (RLIMIT_CPU) of each process.
        max_file_bytes: Largest file a process may write (RLIMIT_FSIZE).
        max_processes: Processes and threads of the sandbox user (RLIMIT_NPROC).
        max_log_lines: Lines passed to the log; the rest are counted and dropped.
    """

    timeout_s: float = _DEFAULT.build_timeout_s
    memory_bytes: int = _DEFAULT.build_memory_mb * _MB
    cpu_seconds: int = _DEFAULT.build_cpu_s
    max_file_bytes: int = _DEFAULT.build_file_mb * _MB
    max_processes: int = _DEFAULT.build_processes
    max_log_lines: int = 20_000

    @classmethod
    def from_settings(cls, settings: Settings) -> BuildLimits:
        return cls(
            timeout_s=settings.build_timeout_s,
            memory_bytes=settings.build_memory_mb * _MB,
            cpu_seconds=settings.build_cpu_s,
            max_file_bytes=settings.build_file_mb * _MB,
            max_processes=settings.build_processes,
        )

    def resources(self, memory_bytes: int | None = None) -> ResourceLimits:
        """The per-process limits, optionally with another address-space limit."""
        return ResourceLimits(
            memory_bytes=memory_bytes or self.memory_bytes,
            max_file_bytes=self.max_file_bytes,
            max_processes=self.max_processes,
            cpu_seconds=self.cpu_seconds,
        )


class DesignBuildError(Exception):
    """A build failed.

    Attributes:
        reason: One human-readable line, e.g. ``design.py raised NameError: ...``.
        kind: ``design`` (user code or contract), ``elaborate``, ``compile``, ``fit``,
            ``timing``, ``timeout``, ``limit`` or ``internal``.
    """

    def __init__(self, reason: str, kind: str = "internal") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
