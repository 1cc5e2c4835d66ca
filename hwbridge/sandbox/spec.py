"""What the launcher (:mod:`hwbridge.sandbox.enter`) is asked to do, as one JSON argument."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hwbridge.sandbox.identity import SandboxUser
from hwbridge.sandbox.limits import ResourceLimits


@dataclass(frozen=True)
class Namespaces:
    """Which Linux namespaces a sandboxed program gets.

    bwrap makes them, and always a mount namespace: without ``mount`` there is no bwrap, hence
    no other namespace and no seccomp filter either.

    Attributes:
        network: Its own network namespace: no interface but a loopback that is down, so any
            connection fails with "Network is unreachable".
        mount: Its own mount namespace: hidden directories, a read-only file system except the
            directories it may write, and (with ``pid``) its own ``/proc``.
        pid: Its own process-id namespace: it sees and can signal only its own processes, and
            they all die with it.
    """

    network: bool = True
    mount: bool = True
    pid: bool = True

    def __and__(self, other: Namespaces) -> Namespaces:
        return Namespaces(
            self.network and other.network, self.mount and other.mount, self.pid and other.pid
        )

    def missing(self) -> list[str]:
        """Names of the namespaces this lacks."""
        return [name for name in ("network", "mount", "pid") if not getattr(self, name)]


@dataclass(frozen=True)
class LaunchSpec:
    """One sandboxed program.

    Attributes:
        argv: The program and its arguments (looked up on the environment's ``PATH``).
        cwd: Working directory.
        limits: Resource limits of the program and its children.
        namespaces: Namespaces to create.
        user: User to switch to, or None to stay the service's user (when it is not root).
        hide: Directories replaced by an empty read-only directory (with a mount namespace).
        writable: Directories the program may write (everything else is read-only with a
            mount namespace); visible even inside a hidden directory.
        readable: Directories visible read-only even inside a hidden directory.
        parent_pid: The service's pid: the launcher exits at once if its parent is already
            another process (the service died while starting it).
    """

    argv: list[str]
    cwd: str
    limits: ResourceLimits
    namespaces: Namespaces
    user: SandboxUser | None = None
    hide: list[str] = field(default_factory=list)
    writable: list[str] = field(default_factory=list)
    readable: list[str] = field(default_factory=list)
    parent_pid: int = 0

    def to_json(self) -> str:
        """The spec as one line of JSON."""
        data: dict[str, Any] = {
            "argv": self.argv,
            "cwd": self.cwd,
            "limits": self.limits.to_json(),
            "namespaces": vars(self.namespaces),
            "user": vars(self.user) if self.user else None,
            "hide": self.hide,
            "writable": self.writable,
            "readable": self.readable,
            "parent_pid": self.parent_pid,
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> LaunchSpec:
        """Parse :meth:`to_json`'s output.

        Raises:
            ValueError: If the text is not such a spec.
        """
        try:
            data = json.loads(text)
            user = data["user"]
            return cls(
                argv=[str(a) for a in data["argv"]],
                cwd=str(data["cwd"]),
                limits=ResourceLimits.from_json(data["limits"]),
                namespaces=Namespaces(**data["namespaces"]),
                user=SandboxUser(**user) if user else None,
                hide=[str(p) for p in data["hide"]],
                writable=[str(p) for p in data["writable"]],
                readable=[str(p) for p in data["readable"]],
                parent_pid=int(data["parent_pid"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed sandbox spec: {exc}") from None
