"""The service's sandbox policy: as whom, with which namespaces, hiding what."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hwbridge.sandbox import files
from hwbridge.sandbox.identity import DEFAULT_USER, SandboxUser, service_is_root
from hwbridge.sandbox.limits import ResourceLimits
from hwbridge.sandbox.platform import available_namespaces
from hwbridge.sandbox.runtime import interpreter_dirs, launcher_command
from hwbridge.sandbox.spec import LaunchSpec, Namespaces


@functools.cache
def _resolve(user: str) -> SandboxUser:
    return SandboxUser.resolve(user)


def _real(path: Path | str) -> str:
    return os.path.realpath(path)


@dataclass(frozen=True)
class Sandbox:
    """How this service runs untrusted programs (design elaboration, builds, simulators).

    Attributes:
        user: The unprivileged user (name or uid) programs switch to when the service runs as
            root; a service that is not root runs them as itself, in a user namespace where the
            platform allows one.
        hidden: Directories no program may see, such as the service's data directory (a
            program still reaches the directories it is given inside them).
        namespaces: The namespaces wanted; each is used where the platform allows it (see
            :func:`hwbridge.sandbox.platform.available_namespaces`).
    """

    user: str | int = DEFAULT_USER
    hidden: tuple[Path, ...] = ()
    namespaces: Namespaces = field(default_factory=Namespaces)

    def identity(self) -> SandboxUser | None:
        """The user programs switch to, or None when they run as the service's user.

        Raises:
            SandboxError: If the configured user is unknown or root.
        """
        return _resolve(str(self.user)) if service_is_root() else None

    def allowed(self) -> Namespaces:
        """The wanted namespaces this platform allows (probed once per process)."""
        return self.namespaces & available_namespaces(self.identity())

    def command(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        limits: ResourceLimits,
        keep_network: bool = False,
        writable: Iterable[Path] = (),
        readable: Iterable[Path] = (),
    ) -> list[str]:
        """The command that runs ``argv`` in this sandbox.

        Start it in a new session with :func:`hwbridge.sandbox.runtime.clean_environment`'s
        environment; it ends as ``argv`` ends (exit code or signal).

        Args:
            argv: Program and arguments.
            cwd: Its working directory (also writable).
            limits: Its resource limits.
            keep_network: Leave it the host's network (no network namespace).
            writable: Directories it may write.
            readable: Directories it must read even inside a hidden one; the interpreter's
                and the service's packages are always readable.

        Raises:
            SandboxError: If the user is bad, or without a mount namespace the user cannot
                reach one of the directories.
        """
        user = self.identity()
        allowed = self.allowed()
        namespaces = Namespaces(
            network=allowed.network and not keep_network, mount=allowed.mount, pid=allowed.pid
        )
        writable_dirs = list(dict.fromkeys([_real(cwd), *(_real(p) for p in writable)]))
        readable_dirs = [*interpreter_dirs(), *(_real(p) for p in readable)]
        if user is not None and not namespaces.mount:
            files.check_reachable(user, [*writable_dirs, *readable_dirs])
        spec = LaunchSpec(
            argv=list(argv),
            cwd=_real(cwd),
            limits=limits,
            namespaces=namespaces,
            user=user,
            hide=[_real(p) for p in self.hidden],
            writable=writable_dirs,
            readable=readable_dirs,
            parent_pid=os.getpid(),
        )
        return launcher_command(spec)

    def open_build_dir(self, build_dir: Path) -> Path:
        """Hand a fresh build directory to the sandbox user; returns its private ``TMPDIR``."""
        files.hand_over(build_dir, self.identity())
        return files.private_tmp(build_dir, self.identity())

    def close_build_dir(self, build_dir: Path) -> None:
        """Take a build directory back once its programs ended (see :func:`files.seal`)."""
        files.seal(build_dir)

    def share(self, directory: Path) -> None:
        """Let sandboxed programs fill and reuse ``directory`` (created if missing)."""
        directory.mkdir(parents=True, exist_ok=True)
        files.hand_over_tree(directory, self.identity())

    def give(self, path: Path) -> None:
        """Give one existing file or directory to the sandbox user."""
        files.hand_over(path, self.identity())
