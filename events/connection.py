"""Connecting to NATS as one of the service's users, and waiting for the streams an admin made.

Every process connects with its own user (``nats.conf``: ``admin``, ``api``, ``projections``,
``hwbridge-<host>``), named by ``FPGA_CLOUD_NATS_USER`` (or the process's default) with the
password in ``FPGA_CLOUD_NATS_PASSWORD``. A user may subscribe only to its own inboxes
(``_INBOX.<user>.>``), so replies and consumer deliveries meant for one process are never
readable by another; :func:`connect` sets the matching inbox prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

USER_ENV = "FPGA_CLOUD_NATS_USER"
PASSWORD_ENV = "FPGA_CLOUD_NATS_PASSWORD"
#: The API process's second, read-only connection (user ``projections``) for its views.
PROJECTIONS_PASSWORD_ENV = "FPGA_CLOUD_NATS_PROJECTIONS_PASSWORD"

ADMIN_USER = "admin"
API_USER = "api"
PROJECTIONS_USER = "projections"
HWBRIDGE_USER_PREFIX = "hwbridge-"

CREDENTIAL_ENVS = (USER_ENV, PASSWORD_ENV, PROJECTIONS_PASSWORD_ENV)

#: How long a process waits at start-up for the streams an admin creates.
STREAMS_WAIT_S = 60.0


class NatsAuthError(RuntimeError):
    """The server refused the user name or password."""


class StreamsMissing(RuntimeError):
    """Streams this process needs do not exist (an admin creates them)."""


@dataclass(frozen=True)
class NatsCredentials:
    """A NATS user and its password; the password never shows in a repr or a log."""

    user: str
    password: str = field(repr=False)


_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def hwbridge_user(host: str) -> str:
    """The NATS user of a hwbridge host (``hwbridge-<host>``).

    Raises:
        ValueError: The name has characters other than letters, digits, '-' and '_' (a '.'
            would make one host's inboxes a prefix of another's).
    """
    if not _HOST.fullmatch(host):
        raise ValueError(f"hwbridge host name {host!r}: use letters, digits, '-' and '_'")
    return f"{HWBRIDGE_USER_PREFIX}{host}"


def inbox_prefix(user: str) -> str:
    """The inbox prefix of ``user``: the only subjects below ``_INBOX`` it may subscribe to."""
    return f"_INBOX.{user}"


def credentials_from_env(
    default_user: str, env: MutableMapping[str, str] | None = None
) -> NatsCredentials | None:
    """This process's credentials, or None when no password is set (an open server).

    Args:
        default_user: The user when ``FPGA_CLOUD_NATS_USER`` is unset.
        env: Where to read (default ``os.environ``).
    """
    e = os.environ if env is None else env
    password = e.get(PASSWORD_ENV, "")
    if not password:
        return None
    return NatsCredentials(e.get(USER_ENV) or default_user, password)


def projections_credentials_from_env(
    env: MutableMapping[str, str] | None = None,
) -> NatsCredentials | None:
    """The API process's read-only credentials for its projections, or None to share the main."""
    e = os.environ if env is None else env
    password = e.get(PROJECTIONS_PASSWORD_ENV, "")
    return NatsCredentials(PROJECTIONS_USER, password) if password else None


def forget_credentials_env(env: MutableMapping[str, str] | None = None) -> None:
    """Drop the credential variables once read, so no child process (a simulator, a programmer,
    a toolchain) ever inherits them."""
    e = os.environ if env is None else env
    for name in CREDENTIAL_ENVS:
        e.pop(name, None)


def redact(url: str) -> str:
    """``url`` without any ``user:password@`` part, for messages and logs."""
    return re.sub(r"//[^/@,]*@", "//", url)


def _is_auth_refusal(exc: BaseException) -> bool:
    return "authorization violation" in str(exc).lower()


async def connect(
    url: str,
    credentials: NatsCredentials | None,
    *,
    name: str,
    error_cb: Callable[[Exception], Awaitable[None]] | None = None,
    **options: Any,
) -> NATS:
    """Connect as ``credentials.user`` (or anonymously when None).

    Errors after the connection is up (a permissions violation, a lost server) are logged and
    passed to ``error_cb``. Unreachable servers are retried as ``options`` say, but a refused
    user or password fails at once.

    Raises:
        NatsAuthError: The server refused the credentials (or requires some).
    """
    nc = NATS()
    up = False
    who = f"user {credentials.user!r}" if credentials else "a connection without credentials"
    where = redact(url)

    async def on_error(exc: Exception) -> None:
        if not up and _is_auth_refusal(exc):
            raise NatsAuthError(
                f"NATS at {where} refused {who}: check {USER_ENV} and {PASSWORD_ENV}"
            ) from None
        log.error("NATS (%s): %s", name, exc)
        if error_cb is not None:
            await error_cb(exc)

    if credentials is not None:
        options.update(
            user=credentials.user,
            password=credentials.password,
            inbox_prefix=inbox_prefix(credentials.user),
        )
    try:
        servers = [u.strip() for u in url.split(",") if u.strip()]
        await nc.connect(servers, name=name, error_cb=on_error, **options)
    except Exception as exc:
        with contextlib.suppress(Exception):
            await nc.close()
        if isinstance(exc, NatsAuthError):
            raise
        if _is_auth_refusal(exc):
            raise NatsAuthError(f"NATS at {where} refused {who}") from None
        raise
    up = True
    return nc


async def wait_for_streams(
    js: JetStreamContext, names: Iterable[str], *, timeout: float = STREAMS_WAIT_S
) -> None:
    """Return once every stream in ``names`` exists.

    Streams and buckets are created by an admin (``fpga-cloud up`` does it before it starts the
    other processes; in a deployment, ``fpga-cloud streams``); the other users may not.

    Raises:
        StreamsMissing: Some still do not exist after ``timeout`` seconds.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    missing = list(names)
    while True:
        still: list[str] = []
        for name in missing:
            try:
                await js.stream_info(name)
            except NotFoundError:
                still.append(name)
        if not still:
            return
        if loop.time() >= deadline:
            raise StreamsMissing(
                f"JetStream streams {', '.join(still)} do not exist: create them with admin "
                "credentials (`fpga-cloud streams`; `fpga-cloud up` does it itself)"
            )
        missing = still
        await asyncio.sleep(0.5)
