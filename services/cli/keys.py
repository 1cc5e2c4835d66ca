"""``fpga-cloud keys``: create, list and revoke API keys (events on the key stream)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from events.connection import ADMIN_USER, wait_for_streams
from events.store import EventStore
from events.subjects import KEY_STREAM
from projections.keys import KeyView
from services.auth.issuer import KeyIssuer
from services.cli.toolconnect import tool_connect


def add_keys_args(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser("create", help="issue a key and print it once")
    create.add_argument("name", help="who or what the key is for, e.g. 'alice laptop'")
    create.add_argument("--admin", action="store_true", help="may reset or release any board")
    create.add_argument("--quiet", action="store_true", help="print only the key")
    listing = sub.add_parser("list", help="every key: id, name, admin, created, revoked")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    rotate = sub.add_parser("rotate", help="give a key a new secret; what it owns stays its own")
    rotate.add_argument("key_id", help="the key's id (the 12 hex digits after fpk_)")
    revoke = sub.add_parser("revoke", help="stop a key from working, at once")
    revoke.add_argument("key_id", help="the key's id (the 12 hex digits after fpk_)")
    revoke.add_argument("--reason", default="", help="recorded in the KeyRevoked event")


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _row(view: KeyView) -> dict[str, object]:
    """What is shown of a key: never its salt or digest."""
    return {
        "key_id": view.key_id,
        "name": view.name,
        "admin": view.admin,
        "created_at": view.created_at.isoformat(),
        "created_by": view.created_by,
        "github_login": view.github_login,
        "revoked_at": view.revoked_at.isoformat() if view.revoked_at else None,
    }


async def keys_command(args: argparse.Namespace) -> int:
    # Keys are the admin's business: FPGA_CLOUD_NATS_USER/_PASSWORD, else the embedded
    # server's admin credentials in the data directory.
    nc = await tool_connect(ADMIN_USER, name="fpga-cloud keys")
    try:
        await wait_for_streams(nc.jetstream(), (KEY_STREAM,), timeout=0)
        issuer = KeyIssuer(EventStore(nc))
        if args.keys_command == "create":
            try:
                plaintext, view = await issuer.create(
                    args.name, admin=args.admin, created_by=_operator()
                )
            except ValueError as exc:
                print(f"fpga-cloud keys: {exc}", file=sys.stderr)
                return 2
            if args.quiet:
                print(plaintext)
            else:
                kind = "admin key" if view.admin else "key"
                print(f"created {kind} {view.key_id} ({view.name}); it is shown only this once:")
                print(plaintext)
            return 0
        if args.keys_command == "list":
            rows = sorted((await issuer.all()).values(), key=lambda v: v.created_at)
            for view in rows:
                if args.json:
                    print(json.dumps(_row(view)))
                else:
                    state = (
                        f"revoked {view.revoked_at:%Y-%m-%d %H:%M}" if view.revoked_at else "active"
                    )
                    role = "admin" if view.admin else "user"
                    print(f"{view.key_id}  {role:5}  {state:22}  {view.name}")
            return 0
        if args.keys_command == "rotate":
            try:
                print(await issuer.rotate(args.key_id, by=_operator()))
            except KeyError:
                print(f"fpga-cloud keys: no active key has id {args.key_id}", file=sys.stderr)
                return 1
            return 0
        try:
            await issuer.revoke(args.key_id, by=_operator(), reason=args.reason)
        except KeyError:
            print(f"fpga-cloud keys: no key has id {args.key_id}", file=sys.stderr)
            return 1
        print(f"revoked {args.key_id}")
        return 0
    finally:
        await nc.close()
