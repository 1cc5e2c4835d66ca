"""NATS users and what each may publish and subscribe to: the one source of ``nats-accounts.conf``.

One account, ``FPGA`` (JetStream enabled), holds every stream and user; ``SYS`` is the system
account, with no users. The users:

- ``admin``: everything; creates and updates the streams and buckets (``fpga-cloud up``,
  ``fpga-cloud streams``); tests.
- ``api``: appends command events to any board, extends the audit chain, writes key lifecycle
  events, stores uploaded designs, sends Wishbone frames to the boards, reads every stream and
  the waveform recordings.
- ``projections``: read-only. Folds the streams into views (the API process's second
  connection), replays history (``fpga-cloud replay``, ``audit verify``), watches events live.
- ``hwbridge-<host>``: one per hwbridge host; appends board and log events and answers
  Wishbone frames for its own boards only, reads the board stream and the designs, shares the
  build cache, stores its boards' waveform recordings.

Nobody but ``admin`` may create, update, delete or purge a stream or delete a message; the others
only create consumers on the streams they may read. Passwords are never in these files:
each is a variable (``$FPGA_NATS_API_PASSWORD``) that nats-server resolves from its environment.

``python -m services.nats.auth --host a=0-4 --host b=5-9`` prints the file for a layout; the
shipped ``nats-accounts.conf`` is the one for ``compose.yaml``.
"""

from __future__ import annotations

import argparse
import re
import secrets
import string
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from events.boards import parse_board_ids
from events.connection import (
    ADMIN_USER,
    API_USER,
    PROJECTIONS_USER,
    hwbridge_user,
    inbox_prefix,
)
from events.objects import object_stream
from events.streams import kv_stream
from events.subjects import (
    AUDIT_STREAM,
    AUDIT_SUBJECT,
    BOARD_STREAM,
    BOARD_SUBJECT_ROOT,
    BUILD_BUCKET,
    DESIGN_BUCKET,
    IDEMPOTENCY_BUCKET,
    KEY_STREAM,
    KEY_SUBJECT_ROOT,
    LOG_STREAM,
    LOG_SUBJECT_ROOT,
    TRACE_BUCKET,
    WISHBONE_SUBJECT_ROOT,
    all_api_presence,
    all_farm_filter,
)

ACCOUNT = "FPGA"
SYSTEM_ACCOUNT = "SYS"
#: The file ``nats.conf`` includes (next to it).
ACCOUNTS_INCLUDE = "nats-accounts.conf"

ADMIN = ADMIN_USER
API = API_USER
PROJECTIONS = PROJECTIONS_USER


_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9]{15,}")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Grant:
    """Subjects allowed for one reason."""

    why: str
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class Permissions:
    """Allow lists; anything not listed is refused."""

    publish: tuple[Grant, ...]
    subscribe: tuple[Grant, ...]
    allow_responses: bool = False
    """May reply once to each request it received (core request/reply)."""

    def publish_subjects(self) -> list[str]:
        return [s for g in self.publish for s in g.subjects]

    def subscribe_subjects(self) -> list[str]:
        return [s for g in self.subscribe for s in g.subjects]


@dataclass(frozen=True)
class HwbridgeHost:
    """A hwbridge host and the boards it owns."""

    name: str
    fpga_ids: tuple[int, ...]

    @property
    def user(self) -> str:
        return hwbridge_user(self.name)


@dataclass(frozen=True)
class User:
    """A NATS user; ``permissions`` None means everything (admin)."""

    name: str
    permissions: Permissions | None

    @property
    def password_variable(self) -> str:
        return password_variable(self.name)


def new_password() -> str:
    """A random password nats-server reads back unchanged from its environment.

    nats-server parses a variable's value as configuration, so a value like ``1234`` or
    ``true`` would not be a string: letters and digits only, a letter first.
    """
    first = secrets.choice(string.ascii_letters)
    return first + "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(39))


def check_password(password: str) -> None:
    """Raises ValueError for a password nats-server would not read back as the same string."""
    if not _PASSWORD.fullmatch(password):
        raise ValueError("a NATS password must be letters and digits, starting with a letter")


def password_variable(user: str) -> str:
    """The variable holding ``user``'s password in nats-server's environment."""
    return "FPGA_NATS_" + re.sub(r"[^A-Za-z0-9]", "_", user).upper() + "_PASSWORD"


# ---------------------------------------------------------------------------- building blocks

_JS = "$JS.API"


def _read_stream(stream: str) -> tuple[str, ...]:
    """Read a stream the way the code does: its info, ephemeral ordered push consumers (create,
    info, flow control), and single messages (``get_msg``, direct get)."""
    return (
        f"{_JS}.STREAM.INFO.{stream}",
        f"{_JS}.CONSUMER.CREATE.{stream}",
        f"{_JS}.CONSUMER.CREATE.{stream}.>",
        f"{_JS}.CONSUMER.INFO.{stream}.*",
        f"{_JS}.STREAM.MSG.GET.{stream}",
        f"{_JS}.DIRECT.GET.{stream}",
        f"{_JS}.DIRECT.GET.{stream}.>",
        f"$JS.FC.{stream}.>",
    )


def _read_streams(*streams: str) -> tuple[str, ...]:
    return tuple(s for stream in streams for s in _read_stream(stream))


def _read_buckets(*buckets: str) -> tuple[str, ...]:
    # An object get looks its chunk stream up by subject (STREAM.NAMES) before it subscribes.
    return (*_read_streams(*map(object_stream, buckets)), f"{_JS}.STREAM.NAMES")


def _write_bucket(bucket: str) -> tuple[str, ...]:
    """Put objects (chunks, then the metadata); not purge or delete them."""
    return (f"$O.{bucket}.C.>", f"$O.{bucket}.M.>")


def _boards(fpga_ids: Iterable[int], pattern: str) -> tuple[str, ...]:
    return tuple(pattern.format(n=n) for n in sorted(set(fpga_ids)))


_ACCOUNT_INFO = Grant("JetStream account info", (f"{_JS}.INFO",))


def _own_inbox(user: str) -> Grant:
    return Grant("replies and consumer deliveries to this user only", (f"{inbox_prefix(user)}.>",))


# ---------------------------------------------------------------------------- the users


def api_permissions() -> Permissions:
    return Permissions(
        publish=(
            Grant("command events, any board", (f"{BOARD_SUBJECT_ROOT}.*.*",)),
            Grant("the farm's aggregates (the boards each key holds)", (all_farm_filter(),)),
            Grant("the audit hash chain", (AUDIT_SUBJECT,)),
            Grant("API key lifecycle events", (f"{KEY_SUBJECT_ROOT}.*.*",)),
            Grant("Wishbone stream frames to the boards", (f"{WISHBONE_SUBJECT_ROOT}.*",)),
            Grant("ask whether another API process is alive", (all_api_presence(),)),
            Grant("store uploaded designs", _write_bucket(DESIGN_BUCKET)),
            Grant(
                "remember answers to commands sent with an Idempotency-Key",
                (f"$KV.{IDEMPOTENCY_BUCKET}.>", *_read_stream(kv_stream(IDEMPOTENCY_BUCKET))),
            ),
            Grant(
                "read the streams, the designs and the waveform recordings",
                (
                    *_read_streams(BOARD_STREAM, LOG_STREAM, AUDIT_STREAM, KEY_STREAM),
                    *_read_buckets(DESIGN_BUCKET, TRACE_BUCKET),
                ),
            ),
            _ACCOUNT_INFO,
        ),
        subscribe=(
            _own_inbox(API),
            Grant("answer whether this API process is alive", (all_api_presence(),)),
        ),
        allow_responses=True,
    )


def projections_permissions() -> Permissions:
    return Permissions(
        publish=(
            Grant(
                "read the streams (no event subject)",
                _read_streams(BOARD_STREAM, LOG_STREAM, AUDIT_STREAM, KEY_STREAM),
            ),
            _ACCOUNT_INFO,
        ),
        subscribe=(
            _own_inbox(PROJECTIONS),
            Grant(
                "watch events live",
                (f"{BOARD_SUBJECT_ROOT}.>", f"{LOG_SUBJECT_ROOT}.>", AUDIT_SUBJECT),
            ),
        ),
    )


def hwbridge_permissions(host: str, fpga_ids: Iterable[int]) -> Permissions:
    ids = tuple(fpga_ids)
    return Permissions(
        publish=(
            Grant("events of its own boards", _boards(ids, f"{BOARD_SUBJECT_ROOT}.{{n}}.*")),
            Grant("job logs of its own boards", _boards(ids, f"{LOG_SUBJECT_ROOT}.{{n}}.*")),
            Grant("store builds in the shared cache", _write_bucket(BUILD_BUCKET)),
            Grant("store waveform recordings", _write_bucket(TRACE_BUCKET)),
            Grant(
                "read the board stream, the designs, the build cache and the recordings",
                (
                    *_read_stream(BOARD_STREAM),
                    f"{_JS}.STREAM.INFO.{LOG_STREAM}",
                    *_read_buckets(DESIGN_BUCKET, BUILD_BUCKET, TRACE_BUCKET),
                ),
            ),
            _ACCOUNT_INFO,
        ),
        subscribe=(
            _own_inbox(hwbridge_user(host)),
            Grant(
                "Wishbone stream frames for its own boards",
                _boards(ids, f"{WISHBONE_SUBJECT_ROOT}.{{n}}"),
            ),
        ),
        allow_responses=True,
    )


def users(hosts: Sequence[HwbridgeHost]) -> list[User]:
    """Every user of the account, for these hwbridge hosts.

    Raises:
        ValueError: A bad or repeated host name, or a board owned by two hosts.
    """
    owner: dict[int, str] = {}
    names: set[str] = set()
    for host in hosts:
        variable = password_variable(host.user)
        if variable in names:
            raise ValueError(f"hwbridge host {host.name!r} is listed twice (or clashes)")
        names.add(variable)
        for n in host.fpga_ids:
            if n in owner:
                raise ValueError(f"board {n} is owned by hosts {owner[n]!r} and {host.name!r}")
            owner[n] = host.name
    return [
        User(ADMIN, None),
        User(API, api_permissions()),
        User(PROJECTIONS, projections_permissions()),
        *(User(h.user, hwbridge_permissions(h.name, h.fpga_ids)) for h in hosts),
    ]


# ---------------------------------------------------------------------------- rendering


def _quote(subject: str) -> str:
    return '"' + subject.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _allow(kind: str, grants: Sequence[Grant], indent: str) -> list[str]:
    lines = [f"{indent}{kind}: {{allow: ["]
    for grant in grants:
        lines.append(f"{indent}  # {grant.why}")
        lines.extend(f"{indent}  {_quote(s)}" for s in grant.subjects)
    lines.append(f"{indent}]}}")
    return lines


def _render_user(user: User) -> list[str]:
    head = f"{{user: {_quote(user.name)}, password: ${user.password_variable}"
    if user.permissions is None:
        return [f"      {head}}}"]
    p = user.permissions
    lines = [f"      {head}, permissions: {{"]
    lines += _allow("publish", p.publish, "        ")
    lines += _allow("subscribe", p.subscribe, "        ")
    if p.allow_responses:
        lines.append("        # answer the requests it receives (one reply each)")
        lines.append("        allow_responses: true")
    lines.append("      }}")
    return lines


def _describe(hosts: Sequence[HwbridgeHost]) -> str:
    return " ".join(f"--host {h.name}={_ranges(h.fpga_ids)}" for h in hosts)


def _ranges(ids: Iterable[int]) -> str:
    """``0,1,2,5`` -> ``0-2,5`` (what :func:`parse_board_ids` reads)."""
    runs: list[list[int]] = []
    for n in sorted(set(ids)):
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


def render_accounts(hosts: Sequence[HwbridgeHost]) -> str:
    """The accounts file ``nats.conf`` includes, for these hwbridge hosts."""
    lines = [
        "# NATS accounts, users and permissions of fpga-cloud. Generated, do not edit:",
        f"#   python -m services.nats.auth {_describe(hosts)}",
        "# Passwords come from nats-server's environment (FPGA_NATS_<USER>_PASSWORD).",
        "accounts {",
        f"  {SYSTEM_ACCOUNT} {{}}",
        f"  {ACCOUNT} {{",
        "    jetstream: enabled",
        "    users: [",
    ]
    for user in users(hosts):
        lines += _render_user(user)
    lines += ["    ]", "  }", "}", f"system_account: {SYSTEM_ACCOUNT}", ""]
    return "\n".join(lines)


def parse_host(spec: str) -> HwbridgeHost:
    """``a=0-4`` -> host ``a`` owning boards 0..4."""
    name, sep, boards = spec.partition("=")
    if not sep:
        raise ValueError(f"{spec!r}: expected HOST=BOARDS, e.g. a=0-4")
    hwbridge_user(name)
    return HwbridgeHost(name, parse_board_ids(boards))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.nats.auth", description="Print the NATS accounts file."
    )
    parser.add_argument(
        "--host", action="append", required=True, metavar="NAME=BOARDS",
        help="a hwbridge host and its boards, e.g. a=0-4 (repeat for each host)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        text = render_accounts([parse_host(h) for h in args.host])
    except ValueError as exc:
        print(f"natsauth: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
