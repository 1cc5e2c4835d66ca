"""Who sandboxed programs run as: an unprivileged user when the service runs as root."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass

#: The conventional unprivileged user; its uid where it has no passwd entry.
DEFAULT_USER = "nobody"
NOBODY_ID = 65534


class SandboxError(Exception):
    """The sandbox cannot run a program as configured (a bad user, an unreachable path)."""


@dataclass(frozen=True)
class SandboxUser:
    """The uid and gid sandboxed programs switch to (with no supplementary groups).

    Attributes:
        name: User name, or the number as text when it has no passwd entry.
        uid: User id; never 0.
        gid: Primary group id; never 0.
    """

    name: str
    uid: int
    gid: int

    @classmethod
    def resolve(cls, user: str | int) -> SandboxUser:
        """Look up a user by name or number (a number need not exist in the passwd database).

        Raises:
            SandboxError: If the user is unknown or is root.
        """
        text = str(user).strip()
        try:
            entry = pwd.getpwuid(int(text)) if text.isdigit() else pwd.getpwnam(text)
        except KeyError:
            if not text.isdigit():
                if text == DEFAULT_USER:
                    return cls(DEFAULT_USER, NOBODY_ID, NOBODY_ID)
                raise SandboxError(f"sandbox user {text!r} does not exist") from None
            uid = int(text)
            found = cls(text, uid, uid)
        else:
            found = cls(entry.pw_name, entry.pw_uid, entry.pw_gid)
        if found.uid == 0 or found.gid == 0:
            raise SandboxError(f"sandbox user {text!r} is root: pick an unprivileged user")
        return found


def service_is_root() -> bool:
    """Whether this service runs as root, so its sandboxed programs must switch user."""
    return os.geteuid() == 0
